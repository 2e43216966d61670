//! The log-probability of each row's target token, `log softmax(logits)[target]`, with a
//! one-pass backward that never materialises the log-softmax.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Error, Layout, Result, Shape, Tensor};

use super::cpu_op::{f32_slice, par_rows, supported};

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
        let width = z.len().checked_div(rows).unwrap_or(1);
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
        if supported(z) {
            // One pass, one [N, V] buffer: the head's gradient is the largest tensor of
            // the step and is built while every activation is still alive.
            let grad = z.detach().apply_op3_no_bwd(
                &y.contiguous()?,
                &g.to_dtype(DType::F32)?.contiguous()?,
                &TargetLogprobGrad,
            )?;
            return Ok((Some(grad), None));
        }
        let p = candle_nn::ops::softmax_last_dim(&z.detach())?;
        let g = g.unsqueeze(1)?;
        let grad = p.broadcast_mul(&g)?.neg()?;
        let grad = grad.scatter_add(&y.unsqueeze(1)?.contiguous()?, &g.contiguous()?, 1)?;
        Ok((Some(grad), None))
    }
}

/// The gradient of [`TargetLogprob`] in one pass: `∂z_ij = g_i · ([j = y_i] − softmax(z_i)_j)`.
struct TargetLogprobGrad;

impl CustomOp3 for TargetLogprobGrad {
    fn name(&self) -> &'static str {
        "xrpo-target-logprob-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let z = f32_slice(self.name(), s1, l1)?;
        let g = f32_slice(self.name(), s3, l3)?;
        let (start, end) = l2
            .contiguous_offsets()
            .ok_or(Error::RequiresContiguous { op: self.name() })?;
        let y = match s2 {
            CpuStorage::U32(v) => &v[start..end],
            other => return Err(Error::UnsupportedDTypeForOp(other.dtype(), self.name())),
        };
        let rows = y.len();
        let width = z.len().checked_div(rows).unwrap_or(1);
        let out = par_rows(rows, width, |r, dst| {
            for (i, row) in r.enumerate() {
                let src = &z[row * width..(row + 1) * width];
                let dst = &mut dst[i * width..(i + 1) * width];
                let m = src.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0f32;
                for (d, &v) in dst.iter_mut().zip(src) {
                    *d = (v - m).exp();
                    sum += *d;
                }
                let k = -g[row] / sum;
                dst.iter_mut().for_each(|d| *d *= k);
                dst[y[row] as usize] += g[row];
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Differentiable `log softmax(logits)[target]` per row (fused on CPU f32).
pub(crate) fn target_logprob(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    // Invalid targets would index out of bounds; the callers validate ids against V.
    logits
        .contiguous()?
        .apply_op2(&targets.flatten_all()?.contiguous()?, TargetLogprob)
}
