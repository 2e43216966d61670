//! The attention heads' layout moves between the linear layers (token-major) and
//! attention (head-major), with RoPE applied on the way, as one differentiable op.

use candle_core::{Error, Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op, par_rows};

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

impl CpuKernel<3> for Heads {
    const NAME: &'static str = "xrpo-heads";

    fn forward(&self, [i1, i2, i3]: [Input<'_>; 3]) -> Result<(Vec<f32>, Shape)> {
        let x = i1.f32()?;
        let cos = i2.f32()?;
        let sin = i3.f32()?;
        let Heads { b, nh, t, hd, .. } = *self;
        if x.len() != b * nh * t * hd || self.out.elem_count() != x.len() {
            return Err(Error::Msg(format!(
                "{}: {} elements for b={b} nh={nh} t={t} hd={hd}",
                Self::NAME,
                x.len()
            )));
        }
        let half = hd / 2;
        // cos/sin are `[t, hd/2]` (shared positions) or `[b, t, hd/2]` (per row).
        let per_row = i2.dims().len() == 3;
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
        Ok((out, self.out.clone()))
    }

    fn backward(
        &self,
        [x, cos, sin]: [&Tensor; 3],
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<[Option<Tensor>; 3]> {
        let back = g
            .contiguous()?
            .apply_op3_no_bwd(cos, sin, &Op(self.reverse(x.shape())))?;
        Ok([Some(back), None, None])
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
        .apply_op3(&cos.contiguous()?, &sin.contiguous()?, Op(op))
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
        .apply_op3(&cos.contiguous()?, &sin.contiguous()?, Op(op))
}

#[cfg(test)]
mod tests {
    use super::super::rope::rope;
    use super::super::test_util::{grads, max_diff, randn};
    use super::*;

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
