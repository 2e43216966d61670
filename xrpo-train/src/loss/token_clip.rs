//! GRPO/DAPO: the token-level clipped surrogate.

use serde::{Deserialize, Serialize};

use super::{
    Aggregation, KlPenalty, LossError, LossInputs, LossOutput, PolicyLoss, check_eps,
    clipped_surrogate, finish, prepare,
};

/// Token-level clipped surrogate (GRPO; DAPO's decoupled clip):
///
/// `ρ_{i,t} = exp(log π_θ − log π_old)`,
/// `ℓ_{i,t} = −min(ρ_{i,t} A_i, clip(ρ_{i,t}, 1 − ε_low, 1 + ε_high) A_i) + β k3_{i,t}`,
/// reduced by [`Aggregation`].
///
/// Defaults: ε_low 0.2, ε_high 0.28 (DAPO's clip-higher), token-mean aggregation, β = 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenClipLoss {
    /// ε_low: lower clip half-width of the ratio. Default 0.2. In `[0, 1)`.
    pub eps_low: f64,
    /// ε_high: upper clip half-width of the ratio. Default 0.28. ≥ 0.
    pub eps_high: f64,
    /// How per-token losses are reduced. Default token-mean (DAPO).
    pub aggregation: Aggregation,
    /// `L_norm` for seq-mean-token-sum-norm (Dr.GRPO), in tokens; `None` uses the padded
    /// length `L` of the batch. Default `None`; the trainer sets the generation cap.
    pub norm_len: Option<usize>,
    /// KL penalty to the reference. Default β = 0.
    pub kl: KlPenalty,
}

impl Default for TokenClipLoss {
    fn default() -> Self {
        Self {
            eps_low: 0.2,
            eps_high: 0.28,
            aggregation: Aggregation::TokenMean,
            norm_len: None,
            kl: KlPenalty::default(),
        }
    }
}

impl PolicyLoss for TokenClipLoss {
    fn name(&self) -> &'static str {
        "token_clip"
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<LossOutput, LossError> {
        check_eps(self.eps_low, self.eps_high)?;
        let p = prepare(inputs)?;
        let shape = p.new.dims().to_vec();
        // ρ_{i,t} = π_θ / π_old per token.
        let log_ratio = (&p.new - &p.old)?;
        let ratio = log_ratio.exp()?;
        let (per_token, low, high) =
            clipped_surrogate(&ratio, &p.adv, self.eps_low, self.eps_high, &shape)?;
        let norm_len = self.norm_len.unwrap_or(shape[1]);
        finish(
            per_token,
            low,
            high,
            &p,
            &self.kl,
            self.aggregation,
            norm_len,
        )
    }
}
