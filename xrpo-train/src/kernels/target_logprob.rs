//! The log-probability of each row's target token, `log softmax(logits)[target]`, with a
//! one-pass backward that never materialises the log-softmax.

use candle_core::{DType, Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op, par_rows, supported};

/// log-softmax of `logits: [N, V]` picked at `targets: [N]` (u32): `z_y − log Σ exp z`.
/// Gradient: ∂z = g · (onehot(y) − softmax(z)); never materialises log-softmax.
struct TargetLogprob;

impl CpuKernel<2> for TargetLogprob {
    const NAME: &'static str = "xrpo-target-logprob";

    fn forward(&self, [i1, i2]: [Input<'_>; 2]) -> Result<(Vec<f32>, Shape)> {
        let z = i1.f32()?;
        let y = i2.u32()?;
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
        Ok((out, Shape::from(rows)))
    }

    fn backward(
        &self,
        [z, y]: [&Tensor; 2],
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<[Option<Tensor>; 2]> {
        if supported(z) {
            // One pass, one [N, V] buffer: the head's gradient is the largest tensor of
            // the step and is built while every activation is still alive.
            let grad = z.detach().apply_op3_no_bwd(
                &y.contiguous()?,
                &g.to_dtype(DType::F32)?.contiguous()?,
                &Op(TargetLogprobGrad),
            )?;
            return Ok([Some(grad), None]);
        }
        let p = candle_nn::ops::softmax_last_dim(&z.detach())?;
        let g = g.unsqueeze(1)?;
        let grad = p.broadcast_mul(&g)?.neg()?;
        let grad = grad.scatter_add(&y.unsqueeze(1)?.contiguous()?, &g.contiguous()?, 1)?;
        Ok([Some(grad), None])
    }
}

/// The gradient of [`TargetLogprob`] in one pass: `∂z_ij = g_i · ([j = y_i] − softmax(z_i)_j)`.
struct TargetLogprobGrad;

impl CpuKernel<3> for TargetLogprobGrad {
    const NAME: &'static str = "xrpo-target-logprob-grad";

    fn forward(&self, [i1, i2, i3]: [Input<'_>; 3]) -> Result<(Vec<f32>, Shape)> {
        let z = i1.f32()?;
        let g = i3.f32()?;
        let y = i2.u32()?;
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
        Ok((out, i1.shape()))
    }
}

/// Differentiable `log softmax(logits)[target]` per row (fused on CPU f32).
pub(crate) fn target_logprob(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    // Invalid targets would index out of bounds; the callers validate ids against V.
    logits
        .contiguous()?
        .apply_op2(&targets.flatten_all()?.contiguous()?, Op(TargetLogprob))
}
