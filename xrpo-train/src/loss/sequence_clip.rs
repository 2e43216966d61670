//! GSPO: the sequence-level clipped surrogate.

use serde::{Deserialize, Serialize};

use super::{
    Aggregation, KlPenalty, LossError, LossInputs, LossOutput, PolicyLoss, check_eps,
    clipped_surrogate, finish, prepare,
};

/// GSPO's sequence-level clipped surrogate:
///
/// `s_i = exp( (1/|y_i|) Σ_t (log π_θ − log π_old) )` (the length-normalised sequence
/// ratio), `ℓ_i = −min(s_i A_i, clip(s_i, 1 − ε_low, 1 + ε_high) A_i)`, broadcast to the
/// response's tokens (plus β k3 per token) and reduced by [`Aggregation`]; with the
/// default seq-mean-token-mean this is the mean of `ℓ_i` over responses.
///
/// Defaults (GSPO paper): ε_low 3e-4, ε_high 4e-4, seq-mean-token-mean, β = 0. A response
/// with no unmasked token gets `s_i = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SequenceClipLoss {
    /// ε_low: lower clip half-width of the sequence ratio. Default 3e-4. In `[0, 1)`.
    pub eps_low: f64,
    /// ε_high: upper clip half-width of the sequence ratio. Default 4e-4. ≥ 0.
    pub eps_high: f64,
    /// How the broadcast per-token losses are reduced. Default seq-mean-token-mean.
    pub aggregation: Aggregation,
    /// `L_norm` for seq-mean-token-sum-norm, in tokens; `None` uses the padded length.
    pub norm_len: Option<usize>,
    /// KL penalty to the reference. Default β = 0.
    pub kl: KlPenalty,
}

impl Default for SequenceClipLoss {
    fn default() -> Self {
        Self {
            eps_low: 3e-4,
            eps_high: 4e-4,
            aggregation: Aggregation::SeqMeanTokenMean,
            norm_len: None,
            kl: KlPenalty::default(),
        }
    }
}

impl PolicyLoss for SequenceClipLoss {
    fn name(&self) -> &'static str {
        "sequence_clip"
    }

    fn compute(&self, inputs: &LossInputs<'_>) -> Result<LossOutput, LossError> {
        check_eps(self.eps_low, self.eps_high)?;
        let p = prepare(inputs)?;
        let shape = p.new.dims().to_vec();
        // log s_i = Σ_t m (log π_θ − log π_old) / max(|y_i|, 1).
        let log_ratio = ((&p.new - &p.old)? * &p.mask)?;
        let lens = p.mask.sum_keepdim(1)?.clamp(1.0, f64::INFINITY)?;
        let seq_log_ratio = (log_ratio.sum_keepdim(1)? / lens)?;
        let s = seq_log_ratio.exp()?;
        let (per_token, low, high) =
            clipped_surrogate(&s, &p.adv, self.eps_low, self.eps_high, &shape)?;
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
