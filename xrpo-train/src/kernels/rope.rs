//! Rotary position embedding ("rotate half" layout) with its backward (candle's `rope`
//! records none).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::cpu_op::{f32_slice, par_rows};

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

/// Differentiable rotary embedding (fused on CPU f32).
pub(crate) fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&cos.contiguous()?, &sin.contiguous()?, Rope)
}
