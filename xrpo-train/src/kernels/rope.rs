//! Rotary position embedding ("rotate half" layout) with its backward (candle's `rope`
//! records none).

use candle_core::{Result, Shape, Tensor};

use super::cpu_op::{CpuKernel, Input, Op, par_rows};

/// Rotary embedding of `x: [b, h, t, hd]` ("rotate half" layout) with `cos`, `sin` of
/// shape `[t, hd/2]` or `[b, t, hd/2]`. The rotation is orthogonal, so the gradient is
/// the inverse rotation: ∂x = rope(g, cos, −sin).
struct Rope;

impl CpuKernel<3> for Rope {
    const NAME: &'static str = "xrpo-rope";

    fn forward(&self, [i1, i2, i3]: [Input<'_>; 3]) -> Result<(Vec<f32>, Shape)> {
        let x = i1.f32()?;
        let cos = i2.f32()?;
        let sin = i3.f32()?;
        let (b, h, t, hd) = i1.layout.shape().dims4()?;
        let half = hd / 2;
        let per_row = i2.dims().len() == 3;
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
        Ok((out, i1.shape()))
    }

    fn backward(
        &self,
        [_x, cos, sin]: [&Tensor; 3],
        _res: &Tensor,
        g: &Tensor,
    ) -> Result<[Option<Tensor>; 3]> {
        let gx = candle_nn::rotary_emb::rope(&g.contiguous()?, cos, &sin.neg()?)?;
        Ok([Some(gx), None, None])
    }
}

/// Differentiable rotary embedding (fused on CPU f32).
pub(crate) fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&cos.contiguous()?, &sin.contiguous()?, Op(Rope))
}
