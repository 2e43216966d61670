//! The SwiGLU activation `silu(a) ⊙ b` with a one-pass backward.

use std::ops::Range;

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

use super::cpu_op::{f32_slice, par_rows};

/// SwiGLU activation `silu(a) ⊙ b`, with σ the logistic function:
/// ∂a = g ⊙ b ⊙ σ(a)(1 + a(1 − σ(a))), ∂b = g ⊙ silu(a).
struct SwiGlu;

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "xrpo-swiglu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let a = f32_slice(self.name(), s1, l1)?;
        let b = f32_slice(self.name(), s2, l2)?;
        let width = l1.dims().last().copied().unwrap_or(1).max(1);
        let out = par_rows(a.len() / width, width, |r, dst| {
            let off = r.start * width;
            for (i, d) in dst.iter_mut().enumerate() {
                let x = a[off + i];
                *d = x / (1.0 + (-x).exp()) * b[off + i];
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        a: &Tensor,
        b: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let packed = a.apply_op3_no_bwd(&b.contiguous()?, &g.contiguous()?, &SwiGluGrad)?;
        let ga = packed.narrow(0, 0, 1)?.reshape(a.shape())?;
        let gb = packed.narrow(0, 1, 1)?.reshape(a.shape())?;
        Ok((Some(ga), Some(gb)))
    }
}

/// The gradients of [`SwiGlu`] in one pass, packed as `[2, n]` (∂a, then ∂b), with
/// σ = sigmoid(a): ∂a = g ⊙ b ⊙ (σ + silu(a)(1 − σ)), ∂b = g ⊙ silu(a).
struct SwiGluGrad;

impl CustomOp3 for SwiGluGrad {
    fn name(&self) -> &'static str {
        "xrpo-swiglu-grad"
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
        let a = f32_slice(self.name(), s1, l1)?;
        let b = f32_slice(self.name(), s2, l2)?;
        let g = f32_slice(self.name(), s3, l3)?;
        let n = a.len();
        let width = l1.dims().last().copied().unwrap_or(1).max(1);
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
        Ok((CpuStorage::F32(out), Shape::from((2, n))))
    }
}

/// Differentiable `silu(a) ⊙ b` (fused on CPU f32).
pub(crate) fn swiglu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.contiguous()?.apply_op2(&b.contiguous()?, SwiGlu)
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
