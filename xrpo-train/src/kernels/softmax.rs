//! Softmax over the last dimension with a one-pass backward (candle's
//! `softmax_last_dim` records none).

use candle_core::{Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op, par_rows};

/// Softmax over the last dimension. Gradient: ∂x = y ⊙ (g − Σ_j g_j y_j).
struct Softmax;

impl CpuKernel<1> for Softmax {
    const NAME: &'static str = "xrpo-softmax";

    fn forward(&self, [i1]: [Input<'_>; 1]) -> Result<(Vec<f32>, Shape)> {
        let x = i1.f32()?;
        let width = i1.width();
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
        Ok((out, i1.shape()))
    }

    fn backward(&self, _x: [&Tensor; 1], y: &Tensor, g: &Tensor) -> Result<[Option<Tensor>; 1]> {
        Ok([Some(
            y.apply_op2_no_bwd(&g.contiguous()?, &Op(SoftmaxGrad))?,
        )])
    }
}

/// The gradient of [`Softmax`] in one pass over each row: `∂x = y ⊙ (g − Σ_j g_j y_j)`.
struct SoftmaxGrad;

impl CpuKernel<2> for SoftmaxGrad {
    const NAME: &'static str = "xrpo-softmax-grad";

    fn forward(&self, [i1, i2]: [Input<'_>; 2]) -> Result<(Vec<f32>, Shape)> {
        let y = i1.f32()?;
        let g = i2.f32()?;
        let width = i1.width();
        let out = par_rows(y.len() / width, width, |r, dst| {
            for (i, row) in r.enumerate() {
                let ys = &y[row * width..(row + 1) * width];
                let gs = &g[row * width..(row + 1) * width];
                let dot: f32 = ys.iter().zip(gs).map(|(a, b)| a * b).sum();
                let dst = &mut dst[i * width..(i + 1) * width];
                for ((d, &yv), &gv) in dst.iter_mut().zip(ys).zip(gs) {
                    *d = yv * (gv - dot);
                }
            }
        });
        Ok((out, i1.shape()))
    }
}

/// Differentiable softmax over the last dimension (fused on CPU f32).
pub(crate) fn softmax(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Op(Softmax))
}

#[cfg(test)]
mod tests {
    use candle_core::D;

    use super::super::test_util::{grads, max_diff, randn};
    use super::*;

    #[test]
    fn softmax_gradient_matches_the_composed_form() {
        let x = randn(&[6, 10], 4);
        let probe = randn(&[6, 10], 5);
        let fused = grads(std::slice::from_ref(&x), &probe, |t| {
            softmax(&t[0]).unwrap()
        });
        let composed = grads(std::slice::from_ref(&x), &probe, |t| {
            candle_nn::ops::softmax(&t[0], D::Minus1).unwrap()
        });
        let d = max_diff(&fused[0], &composed[0]);
        assert!(d < 1e-5, "softmax gradient differs by {d}");
    }
}
