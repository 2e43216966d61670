//! How per-token losses are reduced to one scalar.

use candle_core::Tensor;
use serde::{Deserialize, Serialize};

use super::LossError;

/// Reduction of a `[b, L]` per-token loss `ℓ_{i,t}` with mask `m_{i,t}` to a scalar.
///
/// Serialized in `kebab-case` as in verl's `loss_agg_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Aggregation {
    /// DAPO: `Σ_{i,t} m ℓ / Σ_{i,t} m` — every token of the batch weighs the same.
    #[default]
    TokenMean,
    /// GRPO: `(1/b) Σ_i (Σ_t m ℓ / Σ_t m)` — every response weighs the same. A response
    /// with no unmasked token contributes 0 (its denominator is taken as 1).
    SeqMeanTokenMean,
    /// Dr.GRPO: `Σ_{i,t} m ℓ / (b · L_norm)` with a constant `L_norm` (the loss's
    /// `norm_len`, normally the generation cap), so no length bias enters the gradient.
    SeqMeanTokenSumNorm,
}

impl Aggregation {
    /// Reduces `per_token` `[b, L]` with `mask` `[b, L]` (f32 0/1). `norm_len` is
    /// `L_norm` for [`Aggregation::SeqMeanTokenSumNorm`] (ignored otherwise).
    pub fn reduce(
        self,
        per_token: &Tensor,
        mask: &Tensor,
        norm_len: usize,
    ) -> Result<Tensor, LossError> {
        let (b, _l) = per_token.dims2()?;
        let masked = (per_token * mask)?;
        let loss = match self {
            Aggregation::TokenMean => {
                // Guard an all-padding batch: the sum is 0 then, so dividing by 1 gives 0.
                let count = mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
                masked.sum_all()?.affine(1.0 / count, 0.0)?
            }
            Aggregation::SeqMeanTokenMean => {
                let lens = mask.sum(1)?.clamp(1.0, f64::INFINITY)?;
                let per_seq = (masked.sum(1)? / lens)?;
                per_seq.sum_all()?.affine(1.0 / b.max(1) as f64, 0.0)?
            }
            Aggregation::SeqMeanTokenSumNorm => {
                let denom = (b.max(1) * norm_len.max(1)) as f64;
                masked.sum_all()?.affine(1.0 / denom, 0.0)?
            }
        };
        Ok(loss)
    }
}
