//! Per-run control groups: one cgroup per run caps the memory (`memory.max`, or v1's
//! `memory.limit_in_bytes`) and the number of tasks (`pids.max`) of *all* the run's
//! processes together, reports whether the kernel's OOM killer struck inside it, and kills
//! exactly the processes it holds.
//!
//! Used when the verifier runs as root and the machine has either a cgroup v2 hierarchy
//! whose `memory` and `pids` controllers can be enabled below the verifier's own cgroup, or
//! cgroup v1 `memory` and `pids` hierarchies. Without either, the run's memory is bounded only
//! per process (`RLIMIT_AS`) times the number of processes (`RLIMIT_NPROC`), as documented in
//! ARCHITECTURE.md.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Which cgroup interface caps runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// The unified hierarchy.
    V2,
    /// Separate `memory` and `pids` hierarchies.
    V1,
}

/// Where per-run cgroups are created.
#[derive(Debug, Clone)]
pub struct CgroupParent {
    version: CgroupVersion,
    /// v2: one directory; v1: the `memory` then the `pids` directory.
    dirs: Vec<PathBuf>,
}

/// The cgroup of one run; removed (after killing what it holds) on drop.
#[derive(Debug)]
pub struct RunCgroup {
    version: CgroupVersion,
    dirs: Vec<PathBuf>,
    /// `cgroup.procs` of each directory, open for the child to write itself into.
    procs: Vec<File>,
}

/// This process's cgroup path in the hierarchy whose `/proc/self/cgroup` line matches.
fn own_path(want: impl Fn(&str, &str) -> bool) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (id, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        want(id, controllers).then(|| PathBuf::from(path.trim_start_matches('/')))
    })
}

fn write(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).open(path)?;
    f.write_all(value.as_bytes())
}

impl CgroupParent {
    /// Finds a usable hierarchy (v2 first); `None` where there is none (not root, no
    /// controllers, read-only `/sys/fs/cgroup`).
    pub fn detect() -> Option<CgroupParent> {
        Self::detect_v2().or_else(Self::detect_v1)
    }

    fn detect_v2() -> Option<CgroupParent> {
        let rel = own_path(|id, c| id == "0" && c.is_empty())?;
        for mount in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
            let own = Path::new(mount).join(&rel);
            let Ok(controllers) = std::fs::read_to_string(own.join("cgroup.controllers")) else {
                continue;
            };
            let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
            if !(has("memory") && has("pids")) {
                continue;
            }
            // Children get the controllers only if this cgroup delegates them; enabling
            // them fails (EBUSY) where this cgroup itself holds processes, unless it is
            // the root.
            let enabled =
                std::fs::read_to_string(own.join("cgroup.subtree_control")).unwrap_or_default();
            let on = |c: &str| enabled.split_whitespace().any(|x| x == c);
            if !(on("memory") && on("pids"))
                && write(&own.join("cgroup.subtree_control"), "+memory +pids").is_err()
            {
                continue;
            }
            return Some(CgroupParent {
                version: CgroupVersion::V2,
                dirs: vec![own],
            });
        }
        None
    }

    fn detect_v1() -> Option<CgroupParent> {
        let mut dirs = Vec::new();
        for controller in ["memory", "pids"] {
            let rel = own_path(|_, c| c.split(',').any(|x| x == controller))?;
            let dir = Path::new("/sys/fs/cgroup").join(controller).join(rel);
            // The hierarchy's root has no limit files of its own, but its children do.
            if !dir.join("cgroup.procs").exists() {
                return None;
            }
            dirs.push(dir);
        }
        Some(CgroupParent {
            version: CgroupVersion::V1,
            dirs,
        })
    }

    /// The interface in use.
    pub fn version(&self) -> CgroupVersion {
        self.version
    }

    /// Creates the cgroup of one run with its caps set.
    pub fn create(&self, memory_bytes: u64, tasks: u64) -> io::Result<RunCgroup> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "xrpo-run-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut run = RunCgroup {
            version: self.version,
            dirs: Vec::new(),
            procs: Vec::new(),
        };
        for parent in &self.dirs {
            let dir = parent.join(&name);
            std::fs::create_dir(&dir)?;
            run.dirs.push(dir);
        }
        match self.version {
            CgroupVersion::V2 => {
                let dir = &run.dirs[0];
                write(&dir.join("memory.max"), &memory_bytes.to_string())?;
                // Swap would let a run exceed the cap unseen; not every kernel has the file.
                let _ = write(&dir.join("memory.swap.max"), "0");
                write(&dir.join("pids.max"), &tasks.to_string())?;
            }
            CgroupVersion::V1 => {
                let (memory, pids) = (&run.dirs[0], &run.dirs[1]);
                write(
                    &memory.join("memory.limit_in_bytes"),
                    &memory_bytes.to_string(),
                )?;
                let memsw = memory.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(&memsw, &memory_bytes.to_string())?;
                }
                write(&pids.join("pids.max"), &tasks.to_string())?;
            }
        }
        for dir in &run.dirs {
            run.procs.push(
                OpenOptions::new()
                    .write(true)
                    .open(dir.join("cgroup.procs"))?,
            );
        }
        Ok(run)
    }
}

impl RunCgroup {
    /// Descriptors the child writes `0` to (itself) before it does anything else.
    pub fn join_fds(&self) -> Vec<RawFd> {
        self.procs.iter().map(|f| f.as_raw_fd()).collect()
    }

    /// Whether the kernel's OOM killer killed a process of this run (the memory cap was
    /// reached).
    pub fn oom_killed(&self) -> bool {
        let (file, key) = match self.version {
            CgroupVersion::V2 => ("memory.events", "oom_kill"),
            CgroupVersion::V1 => ("memory.oom_control", "oom_kill"),
        };
        let text = std::fs::read_to_string(self.dirs[0].join(file)).unwrap_or_default();
        let count = text.lines().find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(key))
                .then(|| it.next()?.parse::<u64>().ok())
                .flatten()
        });
        match count {
            Some(n) => n > 0,
            // Kernels without an oom_kill counter: the cap was hit at least once.
            None => std::fs::read_to_string(self.dirs[0].join("memory.failcnt"))
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .is_some_and(|n| n > 0),
        }
    }

    /// SIGKILLs every process in this cgroup (and only those): v2's `cgroup.kill` where
    /// the kernel has it, else each pid listed in `cgroup.procs`, repeated until the group
    /// is empty (a fork racing the loop lands in the same group and is caught next round).
    pub fn kill_all(&self) {
        let dir = &self.dirs[0];
        if self.version == CgroupVersion::V2 && write(&dir.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        for _ in 0..100 {
            let pids = self.pids();
            if pids.is_empty() {
                return;
            }
            for pid in pids {
                // SAFETY: kill has no memory-safety preconditions; `pid` is a positive pid
                // read from this run's own cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn pids(&self) -> Vec<libc::pid_t> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            let text = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
            out.extend(
                text.lines()
                    .filter_map(|l| l.trim().parse::<libc::pid_t>().ok())
                    .filter(|&p| p > 0),
            );
        }
        out
    }
}

impl Drop for RunCgroup {
    fn drop(&mut self) {
        self.kill_all();
        self.procs.clear();
        // A killed process leaves its cgroup when it is reaped; give stragglers a moment.
        let deadline = Instant::now() + Duration::from_secs(2);
        for dir in &self.dirs {
            while std::fs::remove_dir(dir).is_err() && Instant::now() < deadline {
                self.kill_all();
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}
