//! Softmax over the last dimension with a one-pass backward (candle's
//! `softmax_last_dim` records none).

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

use super::cpu_op::{f32_slice, par_rows};

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
        Ok(Some(y.apply_op2_no_bwd(&g.contiguous()?, &SoftmaxGrad)?))
    }
}

/// The gradient of [`Softmax`] in one pass over each row: `∂x = y ⊙ (g − Σ_j g_j y_j)`.
struct SoftmaxGrad;

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "xrpo-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let y = f32_slice(self.name(), s1, l1)?;
        let g = f32_slice(self.name(), s2, l2)?;
        let width = l1.dims().last().copied().unwrap_or(1).max(1);
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
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Differentiable softmax over the last dimension (fused on CPU f32).
pub(crate) fn softmax(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Softmax)
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
