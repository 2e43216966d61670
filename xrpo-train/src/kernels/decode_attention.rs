//! Attention of one new token per sequence over its KV cache, fused (inference only).
//!
//! A decode step has one query per sequence and head. Through general ops that is a
//! batched matmul of `b · kv_heads` tiny `[g, hd] · [hd, n]` products, a mask add, a
//! softmax and a second batched matmul: thousands of small GEMM calls per step, each
//! with its own threading and packing. This kernel does the whole
//! `softmax(q·Kᵀ/√d + mask) · V` for one (sequence, query head) in a single pass over
//! that head's cached keys and values, with the (sequence, head) pairs spread over
//! rayon's pool. Keys before a sequence's first real token (its left pads) get
//! probability 0, as the additive −∞ mask gives them elsewhere.
//!
//! The tests compare it with the composed ops path.

use std::ops::Range;

use candle_core::{DType, Error, Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op};

/// Whether [`decode_attention`] handles these tensors (CPU, f32).
pub(crate) fn applies(q: &Tensor, k_cache: &Tensor) -> bool {
    q.device().is_cpu() && q.dtype() == DType::F32 && k_cache.dtype() == DType::F32
}

/// `softmax(scale · q·Kᵀ) · V` for `q: [b, h, 1, hd]` against the first `n_keys`
/// positions of `k_cache`, `v_cache: [b, kv_heads, capacity, hd]`, query head `j` using
/// kv head `j / (h / kv_heads)`; keys `0..pads[i]` of sequence `i` are hidden.
/// Returns `[b, h · hd]`.
pub(crate) fn decode_attention(
    q: &Tensor,
    k_cache: &Tensor,
    v_cache: &Tensor,
    n_keys: usize,
    pads: &[usize],
    scale: f64,
) -> Result<Tensor> {
    let op = DecodeAttention {
        n_keys,
        pads: pads.to_vec(),
        scale: scale as f32,
    };
    q.contiguous()?
        .apply_op3_no_bwd(&k_cache.contiguous()?, &v_cache.contiguous()?, &Op(op))
}

struct DecodeAttention {
    n_keys: usize,
    pads: Vec<usize>,
    scale: f32,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    // Eight partial sums let the compiler vectorise without reassociating a float sum.
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

impl CpuKernel<3> for DecodeAttention {
    const NAME: &'static str = "xrpo-decode-attention";

    fn forward(&self, [i1, i2, i3]: [Input<'_>; 3]) -> Result<(Vec<f32>, Shape)> {
        let name = Self::NAME;
        let (q, k, v) = (i1.f32()?, i2.f32()?, i3.f32()?);
        let (b, h, t, hd) = i1.layout.shape().dims4()?;
        let (bk, kvh, cap, hdk) = i2.layout.shape().dims4()?;
        let n = self.n_keys;
        if t != 1
            || bk != b
            || hdk != hd
            || i3.layout.shape() != i2.layout.shape()
            || kvh == 0
            || h % kvh != 0
            || n == 0
            || n > cap
            || self.pads.len() != b
            || self.pads.iter().any(|&p| p >= n)
        {
            return Err(Error::Msg(format!(
                "{name}: q {:?}, cache {:?}, {n} keys, {} pads",
                i1.dims(),
                i2.dims(),
                self.pads.len()
            )));
        }
        let g = h / kvh;
        let mut out = vec![0f32; b * h * hd];
        let ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
        crate::runtime::par_ranges(b * h, |items: Range<usize>| {
            // Capture the whole Sync wrapper, not its raw-pointer field.
            let heads_out = ptr;
            let mut p = vec![0f32; n];
            for item in items {
                let (bi, head) = (item / h, item % h);
                let kv = head / g;
                let qh = &q[item * hd..(item + 1) * hd];
                let base = (bi * kvh + kv) * cap * hd;
                let first = self.pads[bi];
                let mut max = f32::NEG_INFINITY;
                for (j, pj) in p.iter_mut().enumerate().take(n).skip(first) {
                    let s = self.scale * dot(qh, &k[base + j * hd..base + (j + 1) * hd]);
                    *pj = s;
                    max = max.max(s);
                }
                let mut sum = 0f32;
                for pj in &mut p[first..n] {
                    *pj = (*pj - max).exp();
                    sum += *pj;
                }
                let inv = 1.0 / sum;
                // SAFETY: `item` < b·h belongs to this worker alone and `out` (b·h·hd
                // floats) outlives the pool call.
                let dst = unsafe { std::slice::from_raw_parts_mut(heads_out.0.add(item * hd), hd) };
                for (j, &pj) in p.iter().enumerate().take(n).skip(first) {
                    let w = pj * inv;
                    let vj = &v[base + j * hd..base + (j + 1) * hd];
                    for (d, &x) in dst.iter_mut().zip(vj) {
                        *d += w * x;
                    }
                }
            }
        });
        Ok((out, Shape::from((b, h * hd))))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{D, Device};
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    fn random(shape: &[usize], rng: &mut StdRng) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect();
        Tensor::from_vec(v, shape, &Device::Cpu).expect("shape matches data")
    }

    /// The same attention through elementary candle ops: repeat K/V per query head,
    /// scores, −∞ on the pads, softmax, weighted sum.
    fn reference(
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        n: usize,
        pads: &[usize],
        scale: f64,
    ) -> Result<Tensor> {
        let (b, h, _, hd) = q.dims4()?;
        let kvh = k.dim(1)?;
        let g = h / kvh;
        let rep = |c: &Tensor| -> Result<Tensor> {
            let c = c.narrow(2, 0, n)?;
            let (b, kvh, n, hd) = c.dims4()?;
            c.unsqueeze(2)?
                .expand((b, kvh, g, n, hd))?
                .reshape((b, kvh * g, n, hd))
        };
        let (k, v) = (rep(k)?, rep(v)?);
        let mut mask = vec![0f32; b * n];
        for (i, &p) in pads.iter().enumerate() {
            for m in &mut mask[i * n..i * n + p] {
                *m = f32::NEG_INFINITY;
            }
        }
        let mask = Tensor::from_vec(mask, (b, 1, 1, n), &Device::Cpu)?;
        let s = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&mask)?;
        let m = s.max_keepdim(D::Minus1)?;
        let e = s.broadcast_sub(&m)?.exp()?;
        let p = e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?;
        p.matmul(&v)?.reshape((b, h * hd))
    }

    #[test]
    fn matches_the_composed_attention() -> Result<()> {
        let mut rng = StdRng::seed_from_u64(3);
        for &(b, h, kvh, hd, cap, n) in &[
            (1, 1, 1, 4, 5, 1),
            (3, 4, 2, 16, 12, 7),
            (5, 9, 3, 64, 40, 33),
            (2, 6, 6, 13, 9, 9),
        ] {
            let q = random(&[b, h, 1, hd], &mut rng);
            let k = random(&[b, kvh, cap, hd], &mut rng);
            let v = random(&[b, kvh, cap, hd], &mut rng);
            let pads: Vec<usize> = (0..b).map(|i| (i * 2) % n).collect();
            let scale = 1.0 / (hd as f64).sqrt();
            let got = decode_attention(&q, &k, &v, n, &pads, scale)?.to_vec2::<f32>()?;
            let want = reference(&q, &k, &v, n, &pads, scale)?.to_vec2::<f32>()?;
            for (gr, wr) in got.iter().zip(&want) {
                for (x, y) in gr.iter().zip(wr) {
                    assert!((x - y).abs() < 1e-5, "{x} vs {y} (b {b}, h {h}, n {n})");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn rejects_inconsistent_shapes() {
        let mut rng = StdRng::seed_from_u64(4);
        let q = random(&[2, 4, 1, 8], &mut rng);
        let k = random(&[2, 2, 6, 8], &mut rng);
        // More keys than the cache holds, a pad covering every key, wrong pad count.
        assert!(decode_attention(&q, &k, &k, 7, &[0, 0], 1.0).is_err());
        assert!(decode_attention(&q, &k, &k, 3, &[0, 3], 1.0).is_err());
        assert!(decode_attention(&q, &k, &k, 3, &[0], 1.0).is_err());
        let q3 = random(&[2, 3, 1, 8], &mut rng);
        assert!(decode_attention(&q3, &k, &k, 3, &[0, 0], 1.0).is_err());
    }
}
