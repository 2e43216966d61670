//! Fused CPU kernels *with* a backward pass, for the training forward.
//!
//! candle's fused `softmax_last_dim` and `rms_norm` record no backward, and the composed
//! forms allocate (and keep for the backward) several full-size intermediates each. These
//! [`CustomOp1`]/[`CustomOp2`] kernels compute the forward in one pass over f32 rows on
//! rayon's thread pool and state their gradient explicitly, built from ordinary
//! tensor ops. Other devices and dtypes use the composed forms (`ForwardMode::Composed`),
//! which the tests check these kernels against.

use std::ops::Range;

use candle_core::backend::BackendStorage;

use candle_core::{
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, D, DType, Error, Layout, Result, Shape, Tensor,
};

/// The contiguous f32 slice behind `storage`/`layout`, or an error naming the op.
pub(crate) fn f32_slice<'a>(
    op: &'static str,
    storage: &'a CpuStorage,
    layout: &Layout,
) -> Result<&'a [f32]> {
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
    let ptr = crate::runtime::DisjointOut(out.as_mut_ptr());
    crate::runtime::par_ranges(rows, |r: Range<usize>| {
        let p = ptr;
        // SAFETY: `r` is within 0..rows, disjoint from every other worker's range, and
        // `out` outlives the pool call (par_ranges returns after all workers).
        let dst =
            unsafe { std::slice::from_raw_parts_mut(p.0.add(r.start * width), r.len() * width) };
        f(r, dst);
    });
    out
}

/// Softmax over the last dimension of `scale · x`.
/// Gradient: ∂x = scale · y ⊙ (g − Σ_j g_j y_j).
///
/// With `causal: Some(t)` the input is attention scores whose rows are query positions
/// `row mod t` and whose `t` columns are key positions; keys after the query get
/// probability 0 without a mask tensor being built or added.
struct Softmax {
    causal: Option<usize>,
    /// Multiplies the input first: softmax(scale · x) (attention's 1/√d folded in).
    scale: f32,
}

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
                let visible = match self.causal {
                    Some(t) => (row % t + 1).min(width),
                    None => width,
                };
                let src = &x[row * width..row * width + visible];
                let dst = &mut dst[i * width..i * width + visible];
                let sc = self.scale;
                let m = src.iter().copied().fold(f32::NEG_INFINITY, f32::max) * sc;
                let mut sum = 0f32;
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = (s * sc - m).exp();
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
        let gx = (gy - y.broadcast_mul(&s)?)?;
        Ok(Some(match self.scale {
            1.0 => gx,
            sc => (gx * sc as f64)?,
        }))
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

/// Rotary embedding of `x: [b, h, t, hd]` ("rotate half" layout) with `cos`, `sin` of
/// shape `[t, hd/2]` or `[b, t, hd/2]`. The rotation is orthogonal, so the gradient is
/// the inverse rotation: ∂x = rope(g, cos, −sin).
struct Rope;

impl CustomOp3 for Rope {
    fn name(&self) -> &'static str {
        "xrpo-rope"
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
        let x = f32_slice(self.name(), s1, l1)?;
        let cos = f32_slice(self.name(), s2, l2)?;
        let sin = f32_slice(self.name(), s3, l3)?;
        let (b, h, t, hd) = l1.shape().dims4()?;
        let half = hd / 2;
        let per_row = l2.dims().len() == 3;
        let out = par_rows(b * h * t, hd, |r, dst| {
            for (i, row) in r.enumerate() {
                let ti = row % t;
                let bi = row / (h * t);
                let c0 = if per_row {
                    (bi * t + ti) * half
                } else {
                    ti * half
                };
                let (c, s) = (&cos[c0..c0 + half], &sin[c0..c0 + half]);
                let src = &x[row * hd..(row + 1) * hd];
                let dst = &mut dst[i * hd..(i + 1) * hd];
                for j in 0..half {
                    let (x1, x2) = (src[j], src[j + half]);
                    dst[j] = x1 * c[j] - x2 * s[j];
                    dst[j + half] = x2 * c[j] + x1 * s[j];
                }
            }
        });
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let gx = candle_nn::rotary_emb::rope(&g.contiguous()?, cos, &sin.neg()?)?;
        Ok((Some(gx), None, None))
    }
}

/// Whether the fused kernels apply to `x`.
pub(crate) fn supported(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// Differentiable softmax over the last dimension (fused on CPU f32).
pub(crate) fn softmax(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Softmax {
        causal: None,
        scale: 1.0,
    })
}

/// Differentiable causal softmax of `scale ·` attention scores `[.., g·t, t]` whose row
/// `r` is query position `r mod t` (fused on CPU f32).
pub(crate) fn causal_softmax(x: &Tensor, t: usize, scale: f64) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Softmax {
        causal: Some(t),
        scale: scale as f32,
    })
}

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
        let sig = candle_nn::ops::sigmoid(&a.detach())?;
        let silu = (a * &sig)?;
        // σ(a)(1 + a(1 − σ(a))) = σ + silu·(1 − σ)
        let dsilu = (&sig + (&silu * (1.0 - &sig)?)?)?;
        let ga = ((g * b)? * dsilu)?;
        let gb = (g * silu)?;
        Ok((Some(ga), Some(gb)))
    }
}

/// Differentiable `silu(a) ⊙ b` (fused on CPU f32).
pub(crate) fn swiglu(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.contiguous()?.apply_op2(&b.contiguous()?, SwiGlu)
}

/// Differentiable rotary embedding (fused on CPU f32).
pub(crate) fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&cos.contiguous()?, &sin.contiguous()?, Rope)
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
