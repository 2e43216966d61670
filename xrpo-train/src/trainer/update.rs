//! The gradient of one policy update, whole-batch or in micro-batches.
//!
//! A whole-batch update keeps the autograd graph of every rollout alive at once (for
//! SmolLM2 the memory is in BENCHMARKS.md, "Update memory"). With a micro-batch size
//! `m`, the gradient is accumulated over forward/backward passes of at most `m`
//! sequences each, and is the same gradient (up to f32 summation order) for *any* loss:
//!
//! 1. log-probs of every rollout without a graph (micro-batch by micro-batch);
//! 2. the loss on those values as a leaf tensor `ℓ`, and its gradient `g = ∂L/∂ℓ`
//!    (cheap: the loss graph is a few element-wise ops over `[b, L]`);
//! 3. per micro-batch, `Σ ℓ_mb ⊙ g_mb` with `ℓ_mb` now tracked, backward, and the
//!    parameter gradients summed: by the chain rule `Σ_mb ∂(ℓ_mb·g_mb)/∂θ = ∂L/∂θ`.
//!
//! So token-mean, sequence-mean and GSPO's sequence ratio all normalise over the whole
//! batch exactly as without micro-batching. The price is one extra forward pass without
//! a graph (about a third of a forward + backward).

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};

use crate::loss::{LossInputs, LossStats, PolicyLoss};
use crate::model::Policy;

use super::TrainError;

/// What one update's backward produced.
pub(crate) struct UpdateGrads {
    /// Gradients of the loss for the policy's variables.
    pub grads: GradStore,
    /// The loss value.
    pub loss: f64,
    /// Clip fractions and KL.
    pub stats: LossStats,
    /// Per-rollout training-forward log-probs of π_θ before this update, each row
    /// exactly as long as its completion.
    pub old_rows: Vec<Vec<f32>>,
}

/// `[b, L]` right-padded values and mask of `rows`, `L` the longest row.
fn padded(rows: &[Vec<f32>], device: &Device) -> Result<(Tensor, Tensor), TrainError> {
    let l = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut vals = vec![0f32; rows.len() * l];
    let mut mask = vec![0f32; rows.len() * l];
    for (i, r) in rows.iter().enumerate() {
        vals[i * l..i * l + r.len()].copy_from_slice(r);
        mask[i * l..i * l + r.len()].fill(1.0);
    }
    Ok((
        Tensor::from_vec(vals, (rows.len(), l), device)?,
        Tensor::from_vec(mask, (rows.len(), l), device)?,
    ))
}

/// Log-probs without a graph, `micro` sequences per forward (all at once for 0).
pub(crate) fn detached_rows(
    policy: &Policy,
    contexts: &[Vec<u32>],
    completions: &[Vec<u32>],
    micro: usize,
) -> Result<Vec<Vec<f32>>, TrainError> {
    let step = if micro == 0 {
        contexts.len().max(1)
    } else {
        micro
    };
    let mut rows = Vec::with_capacity(contexts.len());
    for start in (0..contexts.len()).step_by(step) {
        let end = (start + step).min(contexts.len());
        rows.extend(
            policy.token_logprobs_detached(&contexts[start..end], &completions[start..end])?,
        );
    }
    Ok(rows)
}

/// The loss gradient of one update.
///
/// `old` holds π_old's log-prob rows (stored before a step's first update, so later
/// inner epochs and mini-batches see a ratio ≠ 1); `None` means π_old = π_θ detached
/// (one on-policy pass, ratio exactly 1). `micro` = 0, or ≥ the number of rollouts, runs
/// one forward/backward over the whole batch; otherwise see the module docs.
/// `reference` holds π_ref's log-prob rows when a KL penalty is on.
#[allow(clippy::too_many_arguments)]
pub(crate) fn policy_gradient(
    policy: &Policy,
    loss: &dyn PolicyLoss,
    contexts: &[Vec<u32>],
    completions: &[Vec<u32>],
    advantages: &[f32],
    old: Option<&[Vec<f32>]>,
    reference: Option<&[Vec<f32>]>,
    micro: usize,
) -> Result<UpdateGrads, TrainError> {
    let device = policy.device().clone();
    let n = contexts.len();
    let adv = Tensor::new(advantages, &device)?;
    // Rows are as long as their completions, so padded they line up with the policy's
    // `[b, L]` log-probs (L = the longest completion).
    let reference = match reference {
        Some(rows) => Some(padded(rows, &device)?.0),
        None => None,
    };
    let stored_old = match old {
        Some(rows) => Some(padded(rows, &device)?.0),
        None => None,
    };
    if micro == 0 || micro >= n {
        let tl = policy.token_logprobs(contexts, completions)?;
        let current = tl.logprobs.detach();
        let old = match &stored_old {
            Some(o) => o.to_dtype(current.dtype())?,
            None => current.clone(),
        };
        let out = loss.compute(&LossInputs {
            logprobs: &tl.logprobs,
            old_logprobs: &old,
            ref_logprobs: reference.as_ref(),
            advantages: &adv,
            mask: &tl.mask,
        })?;
        let old_rows = current
            .to_dtype(DType::F32)?
            .to_device(&Device::Cpu)?
            .to_vec2::<f32>()?
            .into_iter()
            .zip(completions)
            .map(|(mut r, c)| {
                r.truncate(c.len());
                r
            })
            .collect();
        return Ok(UpdateGrads {
            loss: out.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?,
            grads: out.loss.backward()?,
            stats: out.stats,
            old_rows,
        });
    }

    // 1–2: the loss on detached values, and its gradient with respect to them.
    let old_rows = detached_rows(policy, contexts, completions, micro)?;
    let (values, mask) = padded(&old_rows, &device)?;
    let leaf = Var::from_tensor(&values)?;
    let old = match &stored_old {
        Some(o) => o.to_dtype(values.dtype())?,
        None => values.clone(),
    };
    let out = loss.compute(&LossInputs {
        logprobs: leaf.as_tensor(),
        old_logprobs: &old,
        ref_logprobs: reference.as_ref(),
        advantages: &adv,
        mask: &mask,
    })?;
    let g = match out.loss.backward()?.get(leaf.as_tensor()) {
        Some(g) => g.detach(),
        None => values.zeros_like()?,
    };

    // 3: per micro-batch, backward of Σ ℓ_mb ⊙ g_mb, gradients summed.
    let vars = policy.named_vars();
    // Only the variables' gradients are kept (detached): a backward's store also holds
    // the gradient of every intermediate tensor, which is dropped with it.
    let mut total = GradStore::default();
    for start in (0..n).step_by(micro) {
        let len = micro.min(n - start);
        let tl = policy.token_logprobs(
            &contexts[start..start + len],
            &completions[start..start + len],
        )?;
        let l = tl.logprobs.dim(1)?;
        let g_mb = g.narrow(0, start, len)?.narrow(1, 0, l)?;
        let surrogate = (&tl.logprobs * g_mb.to_dtype(tl.logprobs.dtype())?)?.sum_all()?;
        let grads = surrogate.backward()?;
        for (_, v) in &vars {
            let t = v.as_tensor();
            if let Some(add) = grads.get(t) {
                // Detached: a gradient tensor still references the forward graph it was
                // computed from, which would keep every micro-batch's activations alive.
                let add = add.detach();
                let sum = match total.remove(t) {
                    Some(prev) => (prev + add)?,
                    None => add,
                };
                total.insert(t, sum);
            }
        }
    }
    Ok(UpdateGrads {
        grads: total,
        loss: out.loss.to_dtype(DType::F64)?.to_scalar::<f64>()?,
        stats: out.stats,
        old_rows,
    })
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::loss::{Aggregation, KlPenalty, SequenceClipLoss, TokenClipLoss};
    use crate::model::{ModelConfig, Policy};

    fn batch() -> (Vec<Vec<u32>>, Vec<Vec<u32>>, Vec<f32>) {
        let ctx: Vec<Vec<u32>> = (0..7u32)
            .map(|i| (0..(2 + i % 3)).map(|j| 2 + (i * 5 + j) % 60).collect())
            .collect();
        let comps: Vec<Vec<u32>> = (0..7u32)
            .map(|i| {
                (0..(1 + (i * 3) % 5))
                    .map(|j| 2 + (i * 7 + j * 3) % 60)
                    .collect()
            })
            .collect();
        let adv = vec![1.0, -0.5, 0.25, 2.0, -1.5, 0.0, 0.75];
        (ctx, comps, adv)
    }

    /// Micro-batched gradients equal the whole-batch ones, for losses that normalise
    /// over tokens, over sequences, and per sequence (GSPO), with and without KL.
    #[test]
    fn micro_batches_give_the_whole_batch_gradient() -> Result<(), TrainError> {
        let policy = Policy::new_random(ModelConfig::tiny(), 3, &Device::Cpu)?;
        let (ctx, comps, adv) = batch();
        let reference = detached_rows(&policy, &ctx, &comps, 0)?;
        let reference: Vec<Vec<f32>> = reference
            .iter()
            .map(|r| r.iter().map(|x| x - 0.1).collect())
            .collect();
        let losses: Vec<(Box<dyn PolicyLoss>, bool)> = vec![
            (Box::new(TokenClipLoss::default()), false),
            (
                Box::new(TokenClipLoss {
                    aggregation: Aggregation::SeqMeanTokenMean,
                    kl: KlPenalty { beta: 0.05 },
                    ..TokenClipLoss::default()
                }),
                true,
            ),
            (
                Box::new(TokenClipLoss {
                    aggregation: Aggregation::SeqMeanTokenSumNorm,
                    ..TokenClipLoss::default()
                }),
                false,
            ),
            (Box::new(SequenceClipLoss::default()), false),
        ];
        for (loss, with_ref) in &losses {
            let r = with_ref.then_some(reference.as_slice());
            let whole = policy_gradient(&policy, loss.as_ref(), &ctx, &comps, &adv, None, r, 0)?;
            for micro in [1, 3] {
                let parts =
                    policy_gradient(&policy, loss.as_ref(), &ctx, &comps, &adv, None, r, micro)?;
                assert!((whole.loss - parts.loss).abs() < 1e-5, "{}", loss.name());
                let mut checked = 0;
                for (name, v) in policy.named_vars() {
                    let a = whole.grads.get(v.as_tensor());
                    let b = parts.grads.get(v.as_tensor());
                    let (Some(a), Some(b)) = (a, b) else {
                        panic!("{name}: a gradient is missing ({})", loss.name());
                    };
                    let scale = a.abs()?.max_all()?.to_scalar::<f32>()?.max(1e-6);
                    let diff = (a - b)?.abs()?.max_all()?.to_scalar::<f32>()?;
                    assert!(
                        diff <= 1e-3 * scale,
                        "{name} micro {micro} ({}): max diff {diff} vs scale {scale}",
                        loss.name()
                    );
                    checked += 1;
                }
                assert_eq!(checked, policy.named_vars().len());
            }
        }
        Ok(())
    }

    /// With a stored π_old that differs from π_θ, the ratio moves off 1 and the clip
    /// binds: shifting π_old's log-probs by ±0.5 (ratio e^{∓0.5}, far outside 1 ± 0.2)
    /// clips every token whose advantage sign makes the clip active, and the stored rows
    /// are used alike with and without micro-batches. With `old = None` nothing clips.
    #[test]
    fn a_stored_pi_old_makes_the_clip_bind() -> Result<(), TrainError> {
        let policy = Policy::new_random(ModelConfig::tiny(), 5, &Device::Cpu)?;
        let (ctx, comps, adv) = batch();
        let loss = TokenClipLoss::default();
        let fresh = policy_gradient(&policy, &loss, &ctx, &comps, &adv, None, None, 0)?;
        assert_eq!(fresh.stats.clip_region, 0.0);
        let current = detached_rows(&policy, &ctx, &comps, 0)?;
        // π_old higher than π_θ (ratio e^-0.5 < 1 - ε): clipped where A < 0 (low side).
        let higher: Vec<Vec<f32>> = current
            .iter()
            .map(|r| r.iter().map(|x| x + 0.5).collect())
            .collect();
        for micro in [0, 2] {
            let g = policy_gradient(
                &policy,
                &loss,
                &ctx,
                &comps,
                &adv,
                Some(&higher),
                None,
                micro,
            )?;
            assert!(g.stats.clip_low > 0.0, "micro {micro}: {:?}", g.stats);
            assert_eq!(g.stats.clip_high, 0.0, "micro {micro}");
            assert!(g.stats.clip_region > 0.0);
            assert!(
                (g.loss - fresh.loss).abs() > 1e-6,
                "the ratio changed the loss"
            );
        }
        // π_old lower (ratio e^0.5 > 1 + ε): clipped where A > 0 (high side).
        let lower: Vec<Vec<f32>> = current
            .iter()
            .map(|r| r.iter().map(|x| x - 0.5).collect())
            .collect();
        let g = policy_gradient(&policy, &loss, &ctx, &comps, &adv, Some(&lower), None, 0)?;
        assert!(g.stats.clip_high > 0.0, "{:?}", g.stats);
        assert_eq!(g.stats.clip_low, 0.0);
        // π_old = π_θ given explicitly is the on-policy update.
        let same = policy_gradient(&policy, &loss, &ctx, &comps, &adv, Some(&current), None, 0)?;
        assert!((same.loss - fresh.loss).abs() < 1e-6);
        assert_eq!(same.stats.clip_region, 0.0);
        Ok(())
    }
}
