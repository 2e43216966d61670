//! The SwiGLU activation `silu(a) ⊙ b` with a one-pass backward.

use std::ops::Range;

use candle_core::{Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op, par_rows};

/// SwiGLU activation `silu(a) ⊙ b`, with σ the logistic function:
/// ∂a = g ⊙ b ⊙ σ(a)(1 + a(1 − σ(a))), ∂b = g ⊙ silu(a).
struct SwiGlu;

impl CpuKernel<2> for SwiGlu {
    const NAME: &'static str = "xrpo-swiglu";

    fn forward(&self, [i1, i2]: [Input<'_>; 2]) -> Result<(Vec<f32>, Shape)> {
        let a = i1.f32()?;
        let b = i2.f32()?;
        let width = i1.width();
        let out = par_rows(a.len() / width, width, |r, dst| {
            let off = r.start * width;
            for (i, d) in dst.iter_mut().enumerate() {
                let x = a[off + i];
                *d = x / (1.0 + (-x).exp()) * b[off + i];
            }
        });
        Ok((out, i1.shape()))
    }

    fn backward(
        &self,
        [a, b]: [&Tensor; 2],
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<[Option<Tensor>; 2]> {
        let packed = a.apply_op3_no_bwd(&b.contiguous()?, &g.contiguous()?, &Op(SwiGluGrad))?;
        let ga = packed.narrow(0, 0, 1)?.reshape(a.shape())?;
        let gb = packed.narrow(0, 1, 1)?.reshape(a.shape())?;
        Ok([Some(ga), Some(gb)])
    }
}

/// The gradients of [`SwiGlu`] in one pass, packed as `[2, n]` (∂a, then ∂b), with
/// σ = sigmoid(a): ∂a = g ⊙ b ⊙ (σ + silu(a)(1 − σ)), ∂b = g ⊙ silu(a).
struct SwiGluGrad;

impl CpuKernel<3> for SwiGluGrad {
    const NAME: &'static str = "xrpo-swiglu-grad";

    fn forward(&self, [i1, i2, i3]: [Input<'_>; 3]) -> Result<(Vec<f32>, Shape)> {
        let a = i1.f32()?;
        let b = i2.f32()?;
        let g = i3.f32()?;
        let n = a.len();
        let width = i1.width();
        let rows = n / width;
        let mut out = vec![0f32; 2 * n];
        let ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
        crate::runtime::par_ranges(rows, |r: Range<usize>| {
            let p = ptr;
            let (lo, hi) = (r.start * width, r.end * width);
            // SAFETY: rows `r` of both halves belong to this worker alone, and `out`
            // outlives the pool call.
            let (ga, gb) = unsafe {
                (
                    std::slice::from_raw_parts_mut(p.0.add(lo), hi - lo),
                    std::slice::from_raw_parts_mut(p.0.add(n + lo), hi - lo),
                )
            };
            for i in 0..hi - lo {
                let (x, y, gv) = (a[lo + i], b[lo + i], g[lo + i]);
                let sig = 1.0 / (1.0 + (-x).exp());
                let silu = x * sig;
                ga[i] = gv * y * (sig + silu * (1.0 - sig));
                gb[i] = gv * silu;
            }
        });
        Ok((out, Shape::from((2, n))))
    }
}

/// Differentiable `silu(a) ⊙ b` (fused on CPU f32).
pub(crate) fn swiglu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.contiguous()?.apply_op2(&b.contiguous()?, Op(SwiGlu))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{grads, max_diff, randn};
    use super::*;

    #[test]
    fn swiglu_gradients_match_the_composed_form() {
        let (a, b, probe) = (randn(&[7, 9], 8), randn(&[7, 9], 9), randn(&[7, 9], 10));
        let fused = grads(&[a.clone(), b.clone()], &probe, |t| {
            swiglu(&t[0], &t[1]).unwrap()
        });
        let composed = grads(&[a, b], &probe, |t| (t[0].silu().unwrap() * &t[1]).unwrap());
        for (f, c) in fused.iter().zip(&composed) {
            let d = max_diff(f, c);
            assert!(d < 1e-5, "swiglu gradient differs by {d}");
        }
    }
}
