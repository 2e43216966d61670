//! KL penalty to a frozen reference policy.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::LossError;

/// KL(π_θ ‖ π_ref) penalty added per token as `β · k3_t` (Schulman's k3 estimator):
///
/// `k3_t = exp(log π_ref − log π_θ) − (log π_ref − log π_θ) − 1 ≥ 0`.
///
/// β = 0 (the default, as in DAPO and recent GRPO recipes) switches the penalty off; the
/// KL is still reported when reference log-probs are supplied.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KlPenalty {
    /// β: weight of the per-token KL term. Default 0 (off). Unitless, ≥ 0.
    pub beta: f64,
}

impl KlPenalty {
    /// Checks β is finite and ≥ 0.
    pub fn validate(&self) -> Result<(), LossError> {
        if self.beta.is_finite() && self.beta >= 0.0 {
            Ok(())
        } else {
            Err(LossError::Parameter {
                name: "kl.beta",
                value: self.beta,
                expected: "finite and >= 0",
            })
        }
    }
}

/// Per-token k3 estimate of KL(π_θ ‖ π_ref); gradient flows through `new` only.
pub(crate) fn k3(new: &Tensor, reference: &Tensor) -> Result<Tensor, LossError> {
    let d = (reference - new)?;
    Ok(((d.exp()? - &d)? - 1.0)?)
}
