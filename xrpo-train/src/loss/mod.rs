//! Policy-gradient losses: the host algorithm's update that XRPO plugs into.
//!
//! Every loss is a type behind the object-safe [`PolicyLoss`] trait; the training loop
//! holds a `Box<dyn PolicyLoss>` and never dispatches on a name. Two families are built in:
//!
//! - [`TokenClipLoss`]: the GRPO/DAPO token-level clipped surrogate, ratio
//!   `ρ_t = π_θ / π_old` per token, clip `[1 − ε_low, 1 + ε_high]`;
//! - [`SequenceClipLoss`]: GSPO's sequence-level ratio `s_i = exp(mean_t log ρ_t)` with
//!   its small clip range.
//!
//! Both add an optional KL penalty to a frozen reference ([`KlPenalty`], k3 estimator,
//! β = 0 by default) and reduce per-token losses with an [`Aggregation`].
//!
//! # Example
//!
//! ```
//! use candle_core::{Device, Tensor, Var};
//! use xrpo_train::loss::{LossInputs, PolicyLoss, TokenClipLoss};
//!
//! let dev = Device::Cpu;
//! let new = Var::new(&[[-1.0f32, -2.0], [-0.5, -0.7]], &dev)?;
//! let old = Tensor::new(&[[-1.1f32, -2.0], [-0.5, -0.9]], &dev)?;
//! let adv = Tensor::new(&[1.0f32, -1.0], &dev)?;
//! let mask = Tensor::new(&[[1.0f32, 1.0], [1.0, 0.0]], &dev)?;
//! let out = TokenClipLoss::default().compute(&LossInputs {
//!     logprobs: new.as_tensor(),
//!     old_logprobs: &old,
//!     ref_logprobs: None,
//!     advantages: &adv,
//!     mask: &mask,
//! })?;
//! let grads = out.loss.backward()?;
//! assert!(grads.get(new.as_tensor()).is_some());
//! # Ok::<(), xrpo_train::loss::LossError>(())
//! ```

mod aggregation;
mod kl;
mod sequence_clip;
mod token_clip;

use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

pub use aggregation::Aggregation;
pub use kl::KlPenalty;
pub use sequence_clip::SequenceClipLoss;
pub use token_clip::TokenClipLoss;

/// The tensors one loss evaluation needs. `b` is the number of responses, `L` the padded
/// completion length; padding positions carry mask 0 and any finite value.
#[derive(Debug, Clone, Copy)]
pub struct LossInputs<'a> {
    /// log π_θ(y_t | x, y_<t) under the current policy, `[b, L]`, attached to the graph.
    pub logprobs: &'a Tensor,
    /// log π_old(y_t | …) under the policy that sampled the response, `[b, L]` (no grad).
    pub old_logprobs: &'a Tensor,
    /// log π_ref(y_t | …) under the frozen reference, `[b, L]`; needed only when the KL
    /// penalty's β > 0 (when given with β = 0 the KL is still reported as a statistic).
    pub ref_logprobs: Option<&'a Tensor>,
    /// One advantage `A_i` per response, `[b]`.
    pub advantages: &'a Tensor,
    /// 1 for completion tokens that count, 0 for padding, `[b, L]` (any dtype).
    pub mask: &'a Tensor,
}

/// Diagnostics of one loss evaluation, named as in TRL's GRPO trainer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LossStats {
    /// `clip_ratio/low_mean`: share of tokens with `ρ < 1 − ε_low` and `A < 0` (the clip
    /// is active and stops the gradient).
    pub clip_low: f64,
    /// `clip_ratio/high_mean`: share of tokens with `ρ > 1 + ε_high` and `A > 0`.
    pub clip_high: f64,
    /// `clip_ratio/region_mean`: share of tokens with either clip active.
    pub clip_region: f64,
    /// `kl`: masked token mean of the k3 estimate of KL(π_θ ‖ π_ref); 0 without a reference.
    pub kl: f64,
}

/// A loss value with its diagnostics.
#[derive(Debug, Clone)]
pub struct LossOutput {
    /// Scalar (rank-0) loss to minimise; `backward()` on it reaches the new log-probs.
    pub loss: Tensor,
    /// Clip fractions and KL, computed without gradient.
    pub stats: LossStats,
}

/// Errors of the loss functions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LossError {
    /// Occurs when an input tensor's shape disagrees with `[b, L]` / `[b]` of the new
    /// log-probs.
    #[error("loss input `{name}` has shape {got:?}, expected {expected:?}")]
    Shape {
        /// Which input (`old_logprobs`, `advantages`, …).
        name: &'static str,
        /// Its shape.
        got: Vec<usize>,
        /// The shape it should have.
        expected: Vec<usize>,
    },
    /// Occurs when the KL penalty has β > 0 but no reference log-probs were passed.
    #[error("kl penalty beta = {beta} > 0 needs ref_logprobs, but none were given")]
    MissingReference {
        /// The configured β.
        beta: f64,
    },
    /// Occurs when a loss parameter is out of range (negative clip ε, negative β, …).
    #[error("loss parameter `{name}` = {value} is out of range: {expected}")]
    Parameter {
        /// The parameter's name.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        expected: &'static str,
    },
    /// Occurs when a tensor operation fails (device or dtype trouble).
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// A policy-gradient loss over a batch of sampled responses.
///
/// Contract: `compute` returns a rank-0 `f32` tensor whose gradient flows into
/// `inputs.logprobs` only (old, reference log-probs and advantages are treated as
/// constants); masked positions contribute neither to the value nor to the gradient;
/// implementations are deterministic. The trait is object-safe: `Box<dyn PolicyLoss>`.
pub trait PolicyLoss: Send + Sync + std::fmt::Debug {
    /// Short name for logs (`"token_clip"`, `"sequence_clip"`).
    fn name(&self) -> &'static str;
    /// Evaluates the loss and its diagnostics.
    fn compute(&self, inputs: &LossInputs<'_>) -> Result<LossOutput, LossError>;
}

/// Validated, `f32` view of the inputs: `(new, old, ref, A [b,1], mask f32)`.
pub(crate) struct Prepared {
    pub new: Tensor,
    pub old: Tensor,
    pub reference: Option<Tensor>,
    pub adv: Tensor,
    pub mask: Tensor,
}

pub(crate) fn prepare(inputs: &LossInputs<'_>) -> Result<Prepared, LossError> {
    let dims = inputs.logprobs.dims().to_vec();
    if dims.len() != 2 {
        return Err(LossError::Shape {
            name: "logprobs",
            got: dims,
            expected: vec![0, 0],
        });
    }
    let check = |name: &'static str, t: &Tensor, expected: &[usize]| {
        if t.dims() != expected {
            Err(LossError::Shape {
                name,
                got: t.dims().to_vec(),
                expected: expected.to_vec(),
            })
        } else {
            Ok(())
        }
    };
    check("old_logprobs", inputs.old_logprobs, &dims)?;
    check("mask", inputs.mask, &dims)?;
    check("advantages", inputs.advantages, &dims[..1])?;
    if let Some(r) = inputs.ref_logprobs {
        check("ref_logprobs", r, &dims)?;
    }
    let f = |t: &Tensor| t.to_dtype(DType::F32);
    Ok(Prepared {
        new: f(inputs.logprobs)?,
        old: f(inputs.old_logprobs)?.detach(),
        reference: inputs
            .ref_logprobs
            .map(|r| f(r).map(|r| r.detach()))
            .transpose()?,
        adv: f(inputs.advantages)?.detach().unsqueeze(1)?,
        mask: f(inputs.mask)?.detach(),
    })
}

/// Masked token mean of a `[b, L]` tensor as an `f64` (0 when the mask is empty).
pub(crate) fn masked_mean_scalar(values: &Tensor, mask: &Tensor) -> Result<f64, LossError> {
    let total = mask.sum_all()?.to_scalar::<f32>()? as f64;
    if total <= 0.0 {
        return Ok(0.0);
    }
    let s = (values.detach() * mask)?.sum_all()?.to_scalar::<f32>()? as f64;
    Ok(s / total)
}

/// PPO-style clipped surrogate per position: `−min(ρ·A, clip(ρ, 1−ε_low, 1+ε_high)·A)`,
/// plus the three clip indicators. `ratio` is `[b, L]` (or `[b, 1]` broadcast), `adv` `[b, 1]`.
pub(crate) fn clipped_surrogate(
    ratio: &Tensor,
    adv: &Tensor,
    eps_low: f64,
    eps_high: f64,
    shape: &[usize],
) -> Result<(Tensor, Tensor, Tensor), LossError> {
    let ratio = ratio.broadcast_as(shape)?;
    let adv = adv.broadcast_as(shape)?;
    let clipped = ratio.clamp(1.0 - eps_low, 1.0 + eps_high)?;
    let surr1 = (&ratio * &adv)?;
    let surr2 = (&clipped * &adv)?;
    let per_token = surr1.minimum(&surr2)?.neg()?;
    // Clip indicators (TRL): the clip binds when the ratio leaves the trust region on the
    // side the advantage pushes it to.
    let r = ratio.detach();
    let a = adv.detach();
    let low = (r.lt(1.0 - eps_low)?.to_dtype(DType::F32)? * a.lt(0.0)?.to_dtype(DType::F32)?)?;
    let high = (r.gt(1.0 + eps_high)?.to_dtype(DType::F32)? * a.gt(0.0)?.to_dtype(DType::F32)?)?;
    Ok((per_token, low, high))
}

pub(crate) fn check_eps(eps_low: f64, eps_high: f64) -> Result<(), LossError> {
    if !(eps_low.is_finite() && (0.0..1.0).contains(&eps_low)) {
        return Err(LossError::Parameter {
            name: "eps_low",
            value: eps_low,
            expected: "0 <= eps_low < 1",
        });
    }
    if !(eps_high.is_finite() && eps_high >= 0.0) {
        return Err(LossError::Parameter {
            name: "eps_high",
            value: eps_high,
            expected: "finite and >= 0",
        });
    }
    Ok(())
}

/// Shared tail of both losses: add β·KL per token, aggregate, collect statistics.
pub(crate) fn finish(
    per_token: Tensor,
    low: Tensor,
    high: Tensor,
    p: &Prepared,
    kl: &KlPenalty,
    aggregation: Aggregation,
    norm_len: usize,
) -> Result<LossOutput, LossError> {
    kl.validate()?;
    let (per_token, kl_stat) = match (&p.reference, kl.beta) {
        (Some(r), beta) => {
            let kl_t = kl::k3(&p.new, r)?;
            let stat = masked_mean_scalar(&kl_t, &p.mask)?;
            let per_token = if beta > 0.0 {
                (per_token + kl_t.affine(beta, 0.0)?)?
            } else {
                per_token
            };
            (per_token, stat)
        }
        (None, beta) if beta > 0.0 => return Err(LossError::MissingReference { beta }),
        (None, _) => (per_token, 0.0),
    };
    let loss = aggregation.reduce(&per_token, &p.mask, norm_len)?;
    let region = (&low + &high)?;
    let stats = LossStats {
        clip_low: masked_mean_scalar(&low, &p.mask)?,
        clip_high: masked_mean_scalar(&high, &p.mask)?,
        clip_region: masked_mean_scalar(&region, &p.mask)?,
        kl: kl_stat,
    };
    Ok(LossOutput { loss, stats })
}
