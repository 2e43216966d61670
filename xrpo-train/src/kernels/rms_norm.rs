//! RMSNorm over the last dimension with a one-pass backward (candle's `rms_norm`
//! records none).

use std::ops::Range;

use candle_core::{Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op, par_rows};

/// RMSNorm `x / sqrt(mean(x²) + ε) ⊙ w` over the last dimension.
/// Gradients, with r = 1/sqrt(mean(x²)+ε), x̂ = x·r, u = g ⊙ w:
/// ∂x = r · (u − x̂ · mean(u ⊙ x̂)), ∂w = Σ_rows g ⊙ x̂.
struct RmsNorm {
    eps: f64,
}

impl CpuKernel<2> for RmsNorm {
    const NAME: &'static str = "xrpo-rms-norm";

    fn forward(&self, [i1, i2]: [Input<'_>; 2]) -> Result<(Vec<f32>, Shape)> {
        let x = i1.f32()?;
        let w = i2.f32()?;
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
        Ok((out, i1.shape()))
    }

    fn backward(
        &self,
        [x, w]: [&Tensor; 2],
        _y: &Tensor,
        g: &Tensor,
    ) -> Result<[Option<Tensor>; 2]> {
        let d = w.dim(0)?;
        let rows = x.elem_count() / d.max(1);
        let packed = x.apply_op3_no_bwd(
            &w.contiguous()?,
            &g.contiguous()?,
            &Op(RmsNormGrad { eps: self.eps }),
        )?;
        let gx = packed.narrow(0, 0, rows)?.reshape(x.shape())?;
        let gw = packed.narrow(0, rows, 1)?.reshape(d)?;
        Ok([Some(gx), Some(gw)])
    }
}

/// Rows per block of the weight-gradient reduction of [`RmsNormGrad`]: partial sums are
/// taken per fixed block and added in block order, so the result does not depend on
/// how the pool schedules the blocks (runs stay bit-reproducible).
const RMS_GRAD_BLOCK: usize = 64;

/// The gradients of [`RmsNorm`] in one pass over each row, packed as `[rows + 1, d]`:
/// rows `0..rows` hold ∂x, the last row ∂w (see [`RmsNorm`] for the formulas).
struct RmsNormGrad {
    eps: f64,
}

impl CpuKernel<3> for RmsNormGrad {
    const NAME: &'static str = "xrpo-rms-norm-grad";

    fn forward(&self, [i1, i2, i3]: [Input<'_>; 3]) -> Result<(Vec<f32>, Shape)> {
        let x = i1.f32()?;
        let w = i2.f32()?;
        let g = i3.f32()?;
        let width = w.len().max(1);
        let rows = x.len() / width;
        let eps = self.eps as f32;
        let blocks = rows.div_ceil(RMS_GRAD_BLOCK);
        let mut out = vec![0f32; (rows + 1) * width];
        let mut partials = vec![0f32; blocks * width];
        let gx_ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
        let gw_ptr = crate::runtime::DisjointOut(partials.as_mut_ptr());
        crate::runtime::par_ranges(blocks, |bs: Range<usize>| {
            let (gx_ptr, gw_ptr) = (gx_ptr, gw_ptr);
            for b in bs {
                let r0 = b * RMS_GRAD_BLOCK;
                let r1 = (r0 + RMS_GRAD_BLOCK).min(rows);
                // SAFETY: block `b` owns rows r0..r1 of ∂x and row `b` of the partials;
                // blocks are disjoint and both buffers outlive the pool call.
                let (gx, acc) = unsafe {
                    (
                        std::slice::from_raw_parts_mut(gx_ptr.0.add(r0 * width), (r1 - r0) * width),
                        std::slice::from_raw_parts_mut(gw_ptr.0.add(b * width), width),
                    )
                };
                for (i, row) in (r0..r1).enumerate() {
                    let xs = &x[row * width..(row + 1) * width];
                    let gs = &g[row * width..(row + 1) * width];
                    let ms = xs.iter().map(|v| v * v).sum::<f32>() / width as f32;
                    let r = 1.0 / (ms + eps).sqrt();
                    // mean(u ⊙ x̂) with u = g ⊙ w, x̂ = x·r.
                    let dot: f32 = gs.iter().zip(w).zip(xs).map(|((a, b), c)| a * b * c).sum();
                    let m = dot * r / width as f32;
                    let dst = &mut gx[i * width..(i + 1) * width];
                    for j in 0..width {
                        let xhat = xs[j] * r;
                        dst[j] = r * (gs[j] * w[j] - xhat * m);
                        acc[j] += gs[j] * xhat;
                    }
                }
            }
        });
        let gw = &mut out[rows * width..];
        for part in partials.chunks_exact(width) {
            gw.iter_mut().zip(part).for_each(|(a, b)| *a += b);
        }
        Ok((out, Shape::from((rows + 1, width))))
    }
}

/// Differentiable RMSNorm over the last dimension (fused on CPU f32).
pub(crate) fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    x.contiguous()?
        .apply_op2(&w.contiguous()?, Op(RmsNorm { eps }))
}

#[cfg(test)]
mod tests {
    use candle_core::D;

    use super::super::test_util::{grads, max_diff, randn};
    use super::*;

    #[test]
    fn rms_norm_gradients_match_the_composed_form_across_blocks() {
        // 150 rows: three reduction blocks, the last one partial.
        let (x, w, probe) = (randn(&[150, 24], 1), randn(&[24], 2), randn(&[150, 24], 3));
        let eps = 1e-5;
        let fused = grads(&[x.clone(), w.clone()], &probe, |t| {
            rms_norm(&t[0], &t[1], eps).unwrap()
        });
        let composed = grads(&[x, w], &probe, |t| {
            let r = (t[0].sqr().unwrap().mean_keepdim(D::Minus1).unwrap() + eps)
                .unwrap()
                .sqrt()
                .unwrap()
                .recip()
                .unwrap();
            t[0].broadcast_mul(&r)
                .unwrap()
                .broadcast_mul(&t[1])
                .unwrap()
        });
        for (f, c) in fused.iter().zip(&composed) {
            assert_eq!(f.dims(), c.dims());
            let d = max_diff(f, c);
            assert!(d < 1e-4, "rms_norm gradient differs by {d}");
        }
    }
}
