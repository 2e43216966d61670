//! What every kernel of this module shares: reading a candle CPU buffer as a slice,
//! the device/dtype test, and running rows in parallel on the kernels' pool.

use std::ops::Range;

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, DType, Error, Layout, Result, Tensor};

/// The contiguous f32 slice behind `storage`/`layout`, or an error naming the op.
pub(crate) fn f32_slice<'a>(
    op: &'static str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> Result<&'a [f32]> {
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or(Error::RequiresContiguous { op })?;
    match storage {
        CpuStorage::F32(v) => Ok(&v[start..end]),
        other => Err(Error::UnsupportedDTypeForOp(other.dtype(), op)),
    }
}

/// Runs `f(row_range, out_rows)` over `rows` rows of width `width` in parallel and
/// returns the filled buffer.
pub(crate) fn par_rows(
    rows: usize,
    width: usize,
    f: impl Fn(Range<usize>, &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut out = vec![0f32; rows * width];
    let ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
    crate::runtime::par_ranges(rows, |r: Range<usize>| {
        let p = ptr;
        // SAFETY: `r` is within 0..rows, disjoint from every other worker's range, and
        // `out` outlives the pool call (par_ranges returns after all workers).
        let dst =
            unsafe { std::slice::from_raw_parts_mut(p.0.add(r.start * width), r.len() * width) };
        f(r, dst);
    });
    out
}

/// Whether the fused kernels apply to `x`.
pub(crate) fn supported(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}
