//! Process-wide CPU settings for programs that run the policy on the CPU.
//!
//! Two defaults of the stack cost a CPU run real time, and both can only be changed for
//! the whole process, before it starts threads:
//! - candle asks how many cores to use on *every* matmul unless `RAYON_NUM_THREADS` is
//!   set, and on Linux that re-reads `/proc/cpuinfo` each time. [`prepare_cpu_process`]
//!   sets it once to candle's own choice.
//! - glibc hands large freed blocks back to the kernel, so the next training step
//!   page-faults them in again. It keeps them.
//!
//! (What each costs, and the thread-pool figures below: BENCHMARKS.md, "Thread pools".)
//!
//! One choice is left to the user, because the right answer depends on the machine:
//! candle runs its element-wise ops, and we run our own CPU kernels, on candle's
//! *barrier pool*, whose workers busy-wait after every op. On a machine whose cores are
//! ours that is the fastest option. When the machine has more runnable threads than
//! cores (a build, another run) every op waits for a descheduled worker, and throughput
//! collapses. On a shared
//! machine set **`CANDLE_NUM_THREADS=1`**: candle's element-wise ops then run on the
//! calling thread, and our kernels and matmuls on rayon's work-stealing pool
//! (`RAYON_NUM_THREADS` threads), which degrades gracefully.
//!
//! # Example
//! ```no_run
//! // The first statement of `main`:
//! // SAFETY: no other thread exists yet.
//! unsafe { xrpo_train::runtime::prepare_cpu_process() };
//! assert!(std::env::var("RAYON_NUM_THREADS").is_ok());
//! // … load the policy, sample, train …
//! ```
//! (`no_run`: doctests share a multi-threaded process, where this must not be called.)

/// Applies the settings above; an explicit `RAYON_NUM_THREADS` is left as it is.
/// `XRPO_DEFAULT_MALLOC=1` keeps glibc's default allocator behaviour.
///
/// # Safety
/// Call it before the process starts any thread: it sets an environment variable
/// (`std::env::set_var`) and glibc allocator tunables, neither of which is thread-safe.
pub unsafe fn prepare_cpu_process() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let n = candle_core::utils::get_num_threads();
        // SAFETY: the caller guarantees no other thread exists yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
    }
    if std::env::var_os("XRPO_DEFAULT_MALLOC").is_none() {
        // SAFETY: the caller guarantees no other thread exists yet.
        unsafe { keep_freed_memory() };
    }
}

/// glibc's `mallopt`: keep freed blocks in the heap instead of returning them.
///
/// # Safety
/// Before any other thread starts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe fn keep_freed_memory() {
    unsafe extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_TOP_PAD: i32 = -2;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only changes allocator tunables; the caller runs single-threaded.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
        mallopt(M_TOP_PAD, 64 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
unsafe fn keep_freed_memory() {}

/// A pointer into one output buffer that [`par_ranges`] workers share, each writing only
/// the elements of the ranges it was handed.
///
/// Closures must capture the whole wrapper (`let out = shared;` inside the closure), not
/// its field: a raw pointer alone is neither `Send` nor `Sync`.
#[derive(Clone, Copy)]
pub(crate) struct DisjointOut<T>(pub(crate) *mut T);
// SAFETY: `par_ranges` hands out disjoint ranges, and every user writes only the elements
// of its own ranges, into a buffer that outlives the `par_ranges` call; no element is
// read or written by two workers.
unsafe impl<T: Send> Send for DisjointOut<T> {}
unsafe impl<T: Send> Sync for DisjointOut<T> {}

/// Whether our kernels run on rayon (`CANDLE_NUM_THREADS=1`) rather than on candle's
/// barrier pool; read once.
fn kernels_on_rayon() -> bool {
    static ON_RAYON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON_RAYON.get_or_init(|| {
        std::env::var("CANDLE_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            == Some(1)
    })
}

/// Runs `f` over disjoint ranges covering `0..n` in parallel, returning once every range
/// is done: on candle's barrier pool by default, on rayon's work-stealing pool when
/// `CANDLE_NUM_THREADS=1` (see the module docs).
pub(crate) fn par_ranges(n: usize, f: impl Fn(std::ops::Range<usize>) + Sync) {
    use rayon::prelude::*;
    if n == 0 {
        return;
    }
    if !kernels_on_rayon() {
        candle_core::utils::barrier_pool().execute_chunked(n, f);
        return;
    }
    let threads = rayon::current_num_threads();
    if threads <= 1 || n == 1 {
        f(0..n);
        return;
    }
    // A few ranges per thread keep the tail short without much scheduling overhead.
    let chunk = n.div_ceil(threads * 4).max(1);
    (0..n.div_ceil(chunk))
        .into_par_iter()
        .for_each(|c| f(c * chunk..((c + 1) * chunk).min(n)));
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn par_ranges_covers_every_index_once() {
        for n in [0usize, 1, 2, 7, 64, 1001] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            par_ranges(n, |r| {
                for i in r {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                }
            });
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                "n = {n}"
            );
        }
    }
}
