//! Causal grouped-query attention of the training forward on the CPU as one op with an
//! explicit backward: `O = softmax(scale · Q·Kᵀ + causal mask) · V`.
//!
//! As separate candle ops (`Q·Kᵀ`, the causal softmax, `P·V`) the graph keeps both the
//! scores and the probabilities of every layer for the backward, `[b, h, t, t]` each
//! (about 1.1 GB for SmolLM2-135M at 8 × 256 tokens), and each op pays candle's gradient
//! bookkeeping. This op keeps only its inputs and output and recomputes the
//! probabilities in the backward, one `(sequence, kv head)` unit at a time on the
//! kernels' pool. Its gradients, with `P` the probabilities, `dO` the output gradient:
//! `dV = Pᵀ·dO`, `dP = dO·Vᵀ`, `dS = P ⊙ (dP − rowsum(P ⊙ dP))`,
//! `dQ = scale · dS·K`, `dK = scale · dSᵀ·Q` (`rowsum(P ⊙ dP)` equals FlashAttention's
//! `rowsum(dO ⊙ O)`, since `O = P·V`).
//!
//! Layout: `q: [b, kv, g·t, hd]` (the `g` query heads that share kv head `kv`, stacked),
//! `k, v: [b, kv, t, hd]`; row `r` of a unit is query position `r mod t`.

use std::ops::Range;

use candle_core::{Error, Layout, Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op};
use super::linear::{Operand, mm};

/// Row-major operand.
fn rm(data: &[f32], cols: usize) -> Operand<'_> {
    Operand {
        data,
        rs: cols as isize,
        cs: 1,
    }
}

/// Transposed view of a row-major `[rows, cols]` matrix.
fn tr(data: &[f32], cols: usize) -> Operand<'_> {
    Operand {
        data,
        rs: 1,
        cs: cols as isize,
    }
}

/// Sizes of one call: `units = b·kv`, each with `gt = g·t` query rows over `t` keys.
#[derive(Clone, Copy, Debug)]
struct Dims {
    units: usize,
    gt: usize,
    t: usize,
    hd: usize,
}

impl Dims {
    fn of(q: &Layout, k: &Layout, v: &Layout) -> Result<Dims> {
        let (b, kv, gt, hd) = q.shape().dims4()?;
        let (kb, kkv, t, khd) = k.shape().dims4()?;
        if (kb, kkv, khd) != (b, kv, hd) || v.dims() != k.dims() || t == 0 || gt % t != 0 {
            return Err(Error::Msg(format!(
                "xrpo-causal-attention: q {:?}, k {:?}, v {:?} do not line up",
                q.dims(),
                k.dims(),
                v.dims()
            )));
        }
        Ok(Dims {
            units: b * kv,
            gt,
            t,
            hd,
        })
    }
}

/// `P = softmax(scale · Q·Kᵀ)` with causal masking, written into `p: [gt, t]`.
fn probabilities(d: Dims, q: &[f32], k: &[f32], scale: f32, p: &mut [f32]) {
    mm(p, (d.gt, d.t, d.hd), rm(q, d.hd), tr(k, d.hd), scale);
    for (r, row) in p.chunks_exact_mut(d.t).enumerate() {
        let visible = r % d.t + 1;
        let (live, masked) = row.split_at_mut(visible);
        let m = live.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for x in live.iter_mut() {
            *x = (*x - m).exp();
            sum += *x;
        }
        let inv = 1.0 / sum;
        live.iter_mut().for_each(|x| *x *= inv);
        masked.fill(0.0);
    }
}

/// Runs `f(unit, scratch)` for every unit on the pool, with `buffers` scratch matrices of
/// `[gt, t]` (back to back in `scratch`) allocated once per range of units.
fn for_units(d: Dims, buffers: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    crate::runtime::par_ranges(d.units, |units: Range<usize>| {
        let mut scratch = vec![0f32; buffers * d.gt * d.t];
        for u in units {
            f(u, &mut scratch);
        }
    });
}

/// The forward op (see the module docs).
struct CausalAttention {
    scale: f32,
}

impl CpuKernel<3> for CausalAttention {
    const NAME: &'static str = "xrpo-causal-attention";

    fn forward(&self, [i1, i2, i3]: [Input<'_>; 3]) -> Result<(Vec<f32>, Shape)> {
        let (q, k, v) = (i1.f32()?, i2.f32()?, i3.f32()?);
        let d = Dims::of(i1.layout, i2.layout, i3.layout)?;
        let (qn, kn) = (d.gt * d.hd, d.t * d.hd);
        let mut out = vec![0f32; d.units * qn];
        let out_ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
        for_units(d, 1, |u, p| {
            let dst = out_ptr;
            probabilities(d, &q[u * qn..][..qn], &k[u * kn..][..kn], self.scale, p);
            // SAFETY: unit `u` owns rows u·qn..(u+1)·qn of `out`, which outlives the pool
            // call; units are disjoint.
            let o = unsafe { std::slice::from_raw_parts_mut(dst.0.add(u * qn), qn) };
            mm(
                o,
                (d.gt, d.hd, d.t),
                rm(p, d.t),
                rm(&v[u * kn..][..kn], d.hd),
                1.0,
            );
        });
        Ok((out, i1.shape()))
    }

    fn backward(
        &self,
        [q, k, v]: [&Tensor; 3],
        _o: &Tensor,
        g: &Tensor,
    ) -> Result<[Option<Tensor>; 3]> {
        // The gradient reads four tensors; a CustomOp3 takes three, so q and dO (the same
        // size) go packed as one [2, n] input.
        let qg = Tensor::stack(&[q.detach(), g.detach()], 0)?;
        let grad = qg.apply_op3_no_bwd(
            k,
            v,
            &Op(CausalAttentionGrad {
                scale: self.scale,
                q_shape: q.shape().clone(),
            }),
        )?;
        let (qn, kn) = (q.elem_count(), k.elem_count());
        let dq = grad.narrow(0, 0, qn)?.reshape(q.shape())?;
        let dk = grad.narrow(0, qn, kn)?.reshape(k.shape())?;
        let dv = grad.narrow(0, qn + kn, kn)?.reshape(v.shape())?;
        Ok([Some(dq), Some(dk), Some(dv)])
    }
}

/// The gradients of [`CausalAttention`], packed flat as `dQ | dK | dV`.
struct CausalAttentionGrad {
    scale: f32,
    q_shape: Shape,
}

impl CpuKernel<3> for CausalAttentionGrad {
    const NAME: &'static str = "xrpo-causal-attention-grad";

    fn forward(&self, [i1, i2, i3]: [Input<'_>; 3]) -> Result<(Vec<f32>, Shape)> {
        let (qg, k, v) = (i1.f32()?, i2.f32()?, i3.f32()?);
        let q_layout = Layout::contiguous(self.q_shape.clone());
        let d = Dims::of(&q_layout, i2.layout, i3.layout)?;
        let (qn, kn) = (d.gt * d.hd, d.t * d.hd);
        let total_q = d.units * qn;
        if qg.len() != 2 * total_q {
            return Err(Error::Msg(format!("{}: packed input size", Self::NAME)));
        }
        let (q, dout) = qg.split_at(total_q);
        let total_k = d.units * kn;
        let mut out = vec![0f32; total_q + 2 * total_k];
        let out_ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
        for_units(d, 2, |u, scratch| {
            let (p, dp) = scratch.split_at_mut(d.gt * d.t);
            let base = out_ptr;
            let (qu, ku, vu) = (&q[u * qn..][..qn], &k[u * kn..][..kn], &v[u * kn..][..kn]);
            let gu = &dout[u * qn..][..qn];
            // SAFETY: unit `u` owns its slices of dQ, dK and dV inside `out`, which
            // outlives the pool call; units are disjoint and the three parts do not
            // overlap.
            let (dq, dk, dv) = unsafe {
                (
                    std::slice::from_raw_parts_mut(base.0.add(u * qn), qn),
                    std::slice::from_raw_parts_mut(base.0.add(total_q + u * kn), kn),
                    std::slice::from_raw_parts_mut(base.0.add(total_q + total_k + u * kn), kn),
                )
            };
            probabilities(d, qu, ku, self.scale, p);
            // dV = Pᵀ·dO; dP = dO·Vᵀ.
            mm(dv, (d.t, d.hd, d.gt), tr(p, d.t), rm(gu, d.hd), 1.0);
            mm(dp, (d.gt, d.t, d.hd), rm(gu, d.hd), tr(vu, d.hd), 1.0);
            // dS = P ⊙ (dP − rowsum(P ⊙ dP)), in place of dP.
            for r in 0..d.gt {
                let visible = r % d.t + 1;
                let (pr, dr) = (&p[r * d.t..][..d.t], &mut dp[r * d.t..][..d.t]);
                let delta: f32 = pr[..visible]
                    .iter()
                    .zip(&dr[..visible])
                    .map(|(a, b)| a * b)
                    .sum();
                for j in 0..visible {
                    dr[j] = pr[j] * (dr[j] - delta);
                }
                dr[visible..].fill(0.0);
            }
            // dQ = scale · dS·K; dK = scale · dSᵀ·Q.
            mm(dq, (d.gt, d.hd, d.t), rm(dp, d.t), rm(ku, d.hd), self.scale);
            mm(dk, (d.t, d.hd, d.gt), tr(dp, d.t), rm(qu, d.hd), self.scale);
        });
        Ok((out, Shape::from(total_q + 2 * total_k)))
    }
}

/// Differentiable causal attention (see the module docs): `q: [b, kv, g·t, hd]`,
/// `k, v: [b, kv, t, hd]` → `[b, kv, g·t, hd]`. CPU f32 only.
pub(crate) fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    q.contiguous()?.apply_op3(
        &k.contiguous()?,
        &v.contiguous()?,
        Op(CausalAttention {
            scale: scale as f32,
        }),
    )
}

#[cfg(test)]
mod tests {
    use candle_core::{D, Device, Var};

    use super::super::test_util::{max_diff, randn};
    use super::*;

    /// The same attention from elementary candle ops, with an explicit mask.
    fn composed(q: &Tensor, k: &Tensor, v: &Tensor, t: usize, scale: f64) -> Tensor {
        let gt = q.dim(2).unwrap();
        let mask: Vec<f32> = (0..gt * t)
            .map(|i| {
                if i % t > (i / t) % t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, (gt, t), &Device::Cpu).unwrap();
        let s = (q.matmul(&k.t().unwrap()).unwrap() * scale)
            .unwrap()
            .broadcast_add(&mask)
            .unwrap();
        candle_nn::ops::softmax(&s, D::Minus1)
            .unwrap()
            .matmul(v)
            .unwrap()
    }

    #[test]
    fn output_and_gradients_match_the_composed_attention() {
        // (b, kv, g, t, hd): grouped and plain heads, a single position.
        for (b, kv, g, t, hd) in [(2, 2, 3, 7, 8), (1, 3, 1, 5, 4), (2, 1, 2, 1, 6)] {
            let q = randn(&[b, kv, g * t, hd], 1);
            let k = randn(&[b, kv, t, hd], 2);
            let v = randn(&[b, kv, t, hd], 3);
            let probe = randn(&[b, kv, g * t, hd], 4);
            let scale = 1.0 / (hd as f64).sqrt();
            let run = |ours: bool| {
                let vars: Vec<Var> = [&q, &k, &v]
                    .iter()
                    .map(|x| Var::from_tensor(x).unwrap())
                    .collect();
                let (qv, kv_, vv) = (
                    vars[0].as_tensor(),
                    vars[1].as_tensor(),
                    vars[2].as_tensor(),
                );
                let o = if ours {
                    causal_attention(qv, kv_, vv, scale).unwrap()
                } else {
                    composed(qv, kv_, vv, t, scale)
                };
                let grads = (&o * &probe)
                    .unwrap()
                    .sum_all()
                    .unwrap()
                    .backward()
                    .unwrap();
                let mut out = vec![o.clone()];
                out.extend(
                    vars.iter()
                        .map(|x| grads.get(x.as_tensor()).unwrap().clone()),
                );
                out
            };
            let (a, c) = (run(true), run(false));
            for (i, name) in ["o", "dq", "dk", "dv"].iter().enumerate() {
                let diff = max_diff(&a[i], &c[i]);
                assert!(
                    diff < 1e-5,
                    "{name} differs by {diff} at b={b} kv={kv} g={g} t={t} hd={hd}"
                );
            }
        }
    }
}
