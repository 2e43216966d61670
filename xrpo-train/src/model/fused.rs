//! Fused CPU kernels *with* a backward pass, for the training forward.
//!
//! candle's fused `softmax_last_dim` and `rms_norm` record no backward, and the composed
//! forms allocate (and keep for the backward) several full-size intermediates each. These
//! [`CustomOp1`]/[`CustomOp2`] kernels compute the forward in one pass over f32 rows on
//! candle's CPU thread pool and state their gradient explicitly, built from ordinary
//! tensor ops. Other devices and dtypes use the composed forms (`ForwardMode::Composed`),
//! which the tests check these kernels against.

use std::ops::Range;

use candle_core::backend::BackendStorage;

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, D, DType, Error, Layout, Result, Shape, Tensor,
};

/// A pointer the pool's workers may share to write disjoint rows of one output buffer.
#[derive(Clone, Copy)]
struct RowsOut(*mut f32);
// SAFETY: every worker writes only the rows of the range it was handed, and ranges from
// `execute_chunked` are disjoint, so no two threads touch the same element.
unsafe impl Send for RowsOut {}
unsafe impl Sync for RowsOut {}

/// The contiguous f32 slice behind `storage`/`layout`, or an error naming the op.
fn f32_slice<'a>(op: &'static str, storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [f32]> {
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
fn par_rows(rows: usize, width: usize, f: impl Fn(Range<usize>, &mut [f32]) + Sync) -> Vec<f32> {
    let mut out = vec![0f32; rows * width];
    let ptr = RowsOut(out.as_mut_ptr());
    candle_core::utils::barrier_pool().execute_chunked(rows, |r: Range<usize>| {
        let p = ptr;
        // SAFETY: `r` is within 0..rows, disjoint from every other worker's range, and
        // `out` outlives the pool call (execute_chunked returns after all workers).
        let dst =
            unsafe { std::slice::from_raw_parts_mut(p.0.add(r.start * width), r.len() * width) };
        f(r, dst);
    });
    out
}

/// Softmax over the last dimension. Gradient: ∂x = y ⊙ (g − Σ_j g_j y_j).
struct Softmax;

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "xrpo-softmax"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(self.name(), storage, layout)?;
        let width = layout.dims().last().copied().unwrap_or(1).max(1);
        let rows = x.len() / width;
        let out = par_rows(rows, width, |r, dst| {
            for (i, row) in r.enumerate() {
                let src = &x[row * width..(row + 1) * width];
                let dst = &mut dst[i * width..(i + 1) * width];
                let m = src.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0f32;
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = (s - m).exp();
                    sum += *d;
                }
                let inv = 1.0 / sum;
                dst.iter_mut().for_each(|d| *d *= inv);
            }
        });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        let gy = (g * y)?;
        let s = gy.sum_keepdim(D::Minus1)?;
        Ok(Some((gy - y.broadcast_mul(&s)?)?))
    }
}

/// RMSNorm `x / sqrt(mean(x²) + ε) ⊙ w` over the last dimension.
/// Gradients, with r = 1/sqrt(mean(x²)+ε), x̂ = x·r, u = g ⊙ w:
/// ∂x = r · (u − x̂ · mean(u ⊙ x̂)), ∂w = Σ_rows g ⊙ x̂.
struct RmsNorm {
    eps: f64,
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "xrpo-rms-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(self.name(), s1, l1)?;
        let w = f32_slice(self.name(), s2, l2)?;
        let width = w.len().max(1);
        let rows = x.len() / width;
        let eps = self.eps as f32;
        let out = par_rows(rows, width, |r, dst| {
            for (i, row) in r.enumerate() {
                let src = &x[row * width..(row + 1) * width];
                let dst = &mut dst[i * width..(i + 1) * width];
                let ms = src.iter().map(|v| v * v).sum::<f32>() / width as f32;
                let inv = 1.0 / (ms + eps).sqrt();
                for ((d, &s), &w) in dst.iter_mut().zip(src).zip(w) {
                    *d = s * inv * w;
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let r = (x.sqr()?.mean_keepdim(D::Minus1)? + self.eps)?
            .sqrt()?
            .recip()?;
        let xhat = x.broadcast_mul(&r)?;
        let u = g.broadcast_mul(w)?;
        let m = (&u * &xhat)?.mean_keepdim(D::Minus1)?;
        let gx = (u - xhat.broadcast_mul(&m)?)?.broadcast_mul(&r)?;
        let d = w.dim(0)?;
        let gw = (g * xhat)?.reshape(((), d))?.sum(0)?;
        Ok((Some(gx), Some(gw)))
    }
}

/// log-softmax of `logits: [N, V]` picked at `targets: [N]` (u32): `z_y − log Σ exp z`.
/// Gradient: ∂z = g · (onehot(y) − softmax(z)); never materialises log-softmax.
struct TargetLogprob;

impl CustomOp2 for TargetLogprob {
    fn name(&self) -> &'static str {
        "xrpo-target-logprob"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let z = f32_slice(self.name(), s1, l1)?;
        let (start, end) = l2
            .contiguous_offsets()
            .ok_or(Error::RequiresContiguous { op: self.name() })?;
        let y = match s2 {
            CpuStorage::U32(v) => &v[start..end],
            other => return Err(Error::UnsupportedDTypeForOp(other.dtype(), self.name())),
        };
        let rows = y.len();
        let width = if rows == 0 { 1 } else { z.len() / rows };
        let out = par_rows(rows, 1, |r, dst| {
            for (i, row) in r.enumerate() {
                let src = &z[row * width..(row + 1) * width];
                let m = src.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = src.iter().map(|&v| (v - m).exp()).sum();
                dst[i] = src[y[row] as usize] - m - sum.ln();
            }
        });
        Ok((CpuStorage::F32(out), Shape::from(rows)))
    }

    fn bwd(
        &self,
        z: &Tensor,
        y: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let p = candle_nn::ops::softmax_last_dim(&z.detach())?;
        let g = g.unsqueeze(1)?;
        let grad = p.broadcast_mul(&g)?.neg()?;
        let grad = grad.scatter_add(&y.unsqueeze(1)?.contiguous()?, &g.contiguous()?, 1)?;
        Ok((Some(grad), None))
    }
}

/// Whether the fused kernels apply to `x`.
pub(crate) fn supported(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// Differentiable softmax over the last dimension (fused on CPU f32).
pub(crate) fn softmax(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Softmax)
}

/// Differentiable RMSNorm over the last dimension (fused on CPU f32).
pub(crate) fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, RmsNorm { eps })
}

/// Differentiable `log softmax(logits)[target]` per row (fused on CPU f32).
pub(crate) fn target_logprob(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    // Invalid targets would index out of bounds; the callers validate ids against V.
    logits
        .contiguous()?
        .apply_op2(&targets.flatten_all()?.contiguous()?, TargetLogprob)
}
