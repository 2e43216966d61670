//! Global gradient-norm clipping.

use candle_core::backprop::GradStore;
use candle_core::{DType, Var};
use serde::{Deserialize, Serialize};

use super::OptimError;

/// Guard added to the norm before dividing, as PyTorch's `clip_grad_norm_` (1e-6).
pub const CLIP_NORM_EPS: f64 = 1e-6;

/// What [`clip_grad_norm`] measured and did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradNorm {
    /// ‖g‖₂ over all parameters before clipping (`grad_norm` in logs).
    pub pre_clip: f64,
    /// Factor the gradients were multiplied by: `min(1, max_norm / (‖g‖ + 1e-6))`.
    pub scale: f64,
}

/// Scales the gradients of `vars` in place so their global L2 norm is at most `max_norm`
/// (PyTorch `clip_grad_norm_` semantics). `max_norm <= 0` or infinite measures only.
/// A non-finite norm is an error and leaves the gradients unchanged.
pub fn clip_grad_norm(
    grads: &mut GradStore,
    vars: &[Var],
    max_norm: f64,
) -> Result<GradNorm, OptimError> {
    let mut sq = 0.0f64;
    for v in vars {
        if let Some(g) = grads.get(v.as_tensor()) {
            sq += g
                .to_dtype(DType::F64)?
                .sqr()?
                .sum_all()?
                .to_scalar::<f64>()?;
        }
    }
    let norm = sq.sqrt();
    if !norm.is_finite() {
        return Err(OptimError::NonFiniteGradNorm { norm });
    }
    let scale = if max_norm > 0.0 && max_norm.is_finite() {
        (max_norm / (norm + CLIP_NORM_EPS)).min(1.0)
    } else {
        1.0
    };
    if scale < 1.0 {
        for v in vars {
            if let Some(g) = grads.get(v.as_tensor()) {
                let scaled = (g.detach() * scale)?;
                grads.insert(v.as_tensor(), scaled);
            }
        }
    }
    Ok(GradNorm {
        pre_clip: norm,
        scale,
    })
}
