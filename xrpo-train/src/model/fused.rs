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
    CpuStorage, CustomOp1, CustomOp2, CustomOp3, DType, Error, Layout, Result, Shape, Tensor,
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
        let d = w.dim(0)?;
        let rows = x.elem_count() / d.max(1);
        let packed = x.apply_op3_no_bwd(
            &w.contiguous()?,
            &g.contiguous()?,
            &RmsNormGrad { eps: self.eps },
        )?;
        let gx = packed.narrow(0, 0, rows)?.reshape(x.shape())?;
        let gw = packed.narrow(0, rows, 1)?.reshape(d)?;
        Ok((Some(gx), Some(gw)))
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

impl CustomOp3 for RmsNormGrad {
    fn name(&self) -> &'static str {
        "xrpo-rms-norm-grad"
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
        let w = f32_slice(self.name(), s2, l2)?;
        let g = f32_slice(self.name(), s3, l3)?;
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
        Ok((CpuStorage::F32(out), Shape::from((rows + 1, width))))
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

/// Which way [`Heads`] moves data.
#[derive(Clone, Copy, PartialEq, Eq)]
enum HeadsDir {
    /// `[b·t, nh·hd]` (a linear layer's output) → `[b, nh, t, hd]`.
    Split,
    /// `[b, nh, t, hd]` → `[b·t, nh·hd]`.
    Merge,
}

/// Moves attention heads between the token-major layout of the linear layers and the
/// head-major layout of attention in one pass, optionally applying the rotary embedding
/// on the way (`rope = Some(±1)`: the sign of `sin`; −1 is the inverse rotation). This
/// replaces reshape → transpose → copy → rope (four graph nodes, each with its own
/// backward) by one node whose gradient is the same op in the other direction with the
/// inverse rotation.
#[derive(Clone)]
struct Heads {
    dir: HeadsDir,
    b: usize,
    nh: usize,
    t: usize,
    hd: usize,
    rope: Option<f32>,
    /// Shape of the output (any shape with the right element count, e.g. the grouped
    /// `[b, kv, g·t, hd]` view of `[b, h, t, hd]`).
    out: Shape,
}

impl Heads {
    /// The op that takes this op's output gradient back to its input's layout.
    fn reverse(&self, input_shape: &Shape) -> Heads {
        Heads {
            dir: match self.dir {
                HeadsDir::Split => HeadsDir::Merge,
                HeadsDir::Merge => HeadsDir::Split,
            },
            rope: self.rope.map(|s| -s),
            out: input_shape.clone(),
            ..*self
        }
    }
}

impl CustomOp3 for Heads {
    fn name(&self) -> &'static str {
        "xrpo-heads"
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
        let Heads { b, nh, t, hd, .. } = *self;
        if x.len() != b * nh * t * hd || self.out.elem_count() != x.len() {
            return Err(Error::Msg(format!(
                "{}: {} elements for b={b} nh={nh} t={t} hd={hd}",
                self.name(),
                x.len()
            )));
        }
        let half = hd / 2;
        // cos/sin are `[t, hd/2]` (shared positions) or `[b, t, hd/2]` (per row).
        let per_row = l2.dims().len() == 3;
        let rot = |bi: usize, ti: usize, src: &[f32], dst: &mut [f32]| match self.rope {
            None => dst.copy_from_slice(src),
            Some(sign) => {
                let c0 = if per_row {
                    (bi * t + ti) * half
                } else {
                    ti * half
                };
                let (c, s) = (&cos[c0..c0 + half], &sin[c0..c0 + half]);
                for j in 0..half {
                    let (x1, x2, sj) = (src[j], src[j + half], sign * s[j]);
                    dst[j] = x1 * c[j] - x2 * sj;
                    dst[j + half] = x2 * c[j] + x1 * sj;
                }
            }
        };
        // Rows of the token-major side: (bi, ti), each holding nh heads of hd values.
        let width = nh * hd;
        let out = match self.dir {
            HeadsDir::Merge => par_rows(b * t, width, |r, dst| {
                for (i, row) in r.enumerate() {
                    let (bi, ti) = (row / t, row % t);
                    for hi in 0..nh {
                        let src = &x[((bi * nh + hi) * t + ti) * hd..][..hd];
                        rot(bi, ti, src, &mut dst[i * width + hi * hd..][..hd]);
                    }
                }
            }),
            HeadsDir::Split => par_rows(b * nh * t, hd, |r, dst| {
                for (i, row) in r.enumerate() {
                    let (bi, hi, ti) = (row / (nh * t), (row / t) % nh, row % t);
                    let src = &x[(bi * t + ti) * width + hi * hd..][..hd];
                    rot(bi, ti, src, &mut dst[i * hd..][..hd]);
                }
            }),
        };
        Ok((CpuStorage::F32(out), self.out.clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let back = g
            .contiguous()?
            .apply_op3_no_bwd(cos, sin, &self.reverse(x.shape()))?;
        Ok((Some(back), None, None))
    }
}

/// Attention heads of a linear layer's output `y: [b·t, nh·hd]` as `[b, nh, t, hd]`
/// (reshaped to `out`), rotated by RoPE when `rope` (cos/sin `[t, hd/2]` or
/// `[b, t, hd/2]`). Differentiable (fused on CPU f32).
#[allow(clippy::too_many_arguments)]
pub(crate) fn split_heads(
    y: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    (b, nh, t, hd): (usize, usize, usize, usize),
    rope: bool,
    out: impl Into<Shape>,
) -> Result<Tensor> {
    let op = Heads {
        dir: HeadsDir::Split,
        b,
        nh,
        t,
        hd,
        rope: rope.then_some(1.0),
        out: out.into(),
    };
    y.contiguous()?
        .apply_op3(&cos.contiguous()?, &sin.contiguous()?, op)
}

/// The inverse layout move: heads `x` (`[b, nh, t, hd]` or any view with that element
/// order) to `[b·t, nh·hd]`, the input layout of the output projection. Differentiable
/// (fused on CPU f32).
pub(crate) fn merge_heads(
    x: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    (b, nh, t, hd): (usize, usize, usize, usize),
) -> Result<Tensor> {
    let op = Heads {
        dir: HeadsDir::Merge,
        b,
        nh,
        t,
        hd,
        rope: None,
        out: Shape::from((b * t, nh * hd)),
    };
    x.contiguous()?
        .apply_op3(&cos.contiguous()?, &sin.contiguous()?, op)
}

/// Whether the fused kernels apply to `x`.
pub(crate) fn supported(x: &Tensor) -> bool {
    x.device().is_cpu() && x.dtype() == DType::F32
}

/// Differentiable softmax over the last dimension (fused on CPU f32).
pub(crate) fn softmax(x: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op1(Softmax)
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

#[cfg(test)]
mod tests {
    use candle_core::{D, Var};

    use super::super::test_util::{max_diff, randn};
    use super::*;

    /// Gradients of `Σ f(inputs) ⊙ probe` for each input, through `f`.
    fn grads(inputs: &[Tensor], probe: &Tensor, f: impl Fn(&[Tensor]) -> Tensor) -> Vec<Tensor> {
        let vars: Vec<Var> = inputs
            .iter()
            .map(|t| Var::from_tensor(t).unwrap())
            .collect();
        let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
        let loss = (f(&ts) * probe).unwrap().sum_all().unwrap();
        let g = loss.backward().unwrap();
        ts.iter().map(|t| g.get(t).unwrap().clone()).collect()
    }

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

    #[test]
    fn softmax_and_swiglu_gradients_match_the_composed_form() {
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

    #[test]
    fn heads_moves_match_reshape_transpose_and_rope_with_per_row_positions() {
        let (b, nh, t, hd) = (2, 3, 5, 4);
        let y = randn(&[b * t, nh * hd], 11);
        // Per-row cos/sin ([b, t, hd/2]) as for left-padded batches.
        let (cos, sin) = (randn(&[b, t, hd / 2], 12), randn(&[b, t, hd / 2], 13));
        let probe = randn(&[b, nh, t, hd], 14);
        let fused = grads(std::slice::from_ref(&y), &probe, |v| {
            split_heads(&v[0], &cos, &sin, (b, nh, t, hd), true, (b, nh, t, hd)).unwrap()
        });
        let composed = grads(std::slice::from_ref(&y), &probe, |v| {
            let heads = v[0]
                .reshape((b, t, nh, hd))
                .unwrap()
                .transpose(1, 2)
                .unwrap()
                .contiguous()
                .unwrap();
            rope(&heads, &cos, &sin).unwrap()
        });
        let d = max_diff(&fused[0], &composed[0]);
        assert!(d < 1e-5, "split_heads gradient differs by {d}");
        let a = split_heads(&y, &cos, &sin, (b, nh, t, hd), true, (b, nh, t, hd)).unwrap();
        let heads = y.reshape((b, t, nh, hd)).unwrap().transpose(1, 2).unwrap();
        let c = rope(&heads.contiguous().unwrap(), &cos, &sin).unwrap();
        assert!(max_diff(&a, &c) < 1e-6);

        // Merge is the inverse layout move (no rotation).
        let x = randn(&[b, nh, t, hd], 15);
        let probe = randn(&[b * t, nh * hd], 16);
        let fused = grads(std::slice::from_ref(&x), &probe, |v| {
            merge_heads(&v[0], &cos, &sin, (b, nh, t, hd)).unwrap()
        });
        let composed = grads(std::slice::from_ref(&x), &probe, |v| {
            v[0].transpose(1, 2)
                .unwrap()
                .reshape((b * t, nh * hd))
                .unwrap()
        });
        assert!(max_diff(&fused[0], &composed[0]) < 1e-6);
        let merged = merge_heads(&x, &cos, &sin, (b, nh, t, hd)).unwrap();
        let expect = x
            .transpose(1, 2)
            .unwrap()
            .reshape((b * t, nh * hd))
            .unwrap();
        assert!(max_diff(&merged, &expect) < 1e-7);
    }
}
