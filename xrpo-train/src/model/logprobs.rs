//! Per-token log-probabilities of given completions: the training-side quantity
//! log π_θ(o_t | q, o_<t) that the GRPO/XRPO losses consume.

use candle_core::{D, DType, Device, Tensor};

use super::forward::{AttnMask, Positions};
use super::{ForwardMode, ModelError, Policy};

/// Per-token log-probs of a batch of completions, right-padded to the longest one.
#[derive(Debug, Clone)]
pub struct TokenLogprobs {
    /// `[b, L]`, log π(o_{i,j} | q_i, o_{i,<j}) in the policy's dtype (f32 by default);
    /// exactly 0 on padding, which also receives no gradient.
    pub logprobs: Tensor,
    /// `[b, L]` in the same dtype: 1.0 on real completion tokens, 0.0 on padding.
    pub mask: Tensor,
}

/// The packed batch: right-padded `prompt ++ completion` rows plus the index tensors
/// that pick, for completion token j of row i, the hidden row that predicts it.
struct Packed {
    ids: Tensor,
    /// `[b·L]` u32: row of the flattened `[b·T, d]` hidden states predicting each target.
    rows: Tensor,
    /// `[b·L, 1]` u32: the target token ids (0 on padding).
    targets: Tensor,
    mask: Vec<f32>,
    b: usize,
    l: usize,
}

impl Policy {
    fn pack(&self, prompts: &[Vec<u32>], completions: &[Vec<u32>]) -> Result<Packed, ModelError> {
        if prompts.len() != completions.len() {
            return Err(ModelError::BatchMismatch {
                prompts: prompts.len(),
                completions: completions.len(),
            });
        }
        let vocab = self.config.vocab_size;
        let max = self.config.max_position_embeddings;
        let b = prompts.len();
        let mut t = 0;
        let mut l = 0;
        for (i, (p, c)) in prompts.iter().zip(completions).enumerate() {
            if p.is_empty() {
                return Err(ModelError::EmptyPrompt { sequence: i });
            }
            if p.len() + c.len() > max {
                return Err(ModelError::SequenceTooLong {
                    sequence: i,
                    len: p.len() + c.len(),
                    max,
                });
            }
            if let Some((j, &tok)) = p
                .iter()
                .chain(c)
                .enumerate()
                .find(|(_, tok)| **tok as usize >= vocab)
            {
                return Err(ModelError::TokenOutOfRange {
                    sequence: i,
                    position: j,
                    token: tok,
                    vocab_size: vocab,
                });
            }
            t = t.max(p.len() + c.len());
            l = l.max(c.len());
        }
        let mut ids = vec![0u32; b * t];
        let mut rows = vec![0u32; b * l];
        let mut targets = vec![0u32; b * l];
        let mut mask = vec![0f32; b * l];
        for (i, (p, c)) in prompts.iter().zip(completions).enumerate() {
            let row = &mut ids[i * t..(i + 1) * t];
            row[..p.len()].copy_from_slice(p);
            row[p.len()..p.len() + c.len()].copy_from_slice(c);
            for j in 0..l {
                // Token p.len() + j is predicted by the hidden state at p.len() + j − 1.
                // Padding points at the row's first hidden state (any valid row will do;
                // its log-prob is multiplied by 0).
                rows[i * l + j] = (i * t + if j < c.len() { p.len() + j - 1 } else { 0 }) as u32;
                if j < c.len() {
                    targets[i * l + j] = c[j];
                    mask[i * l + j] = 1.0;
                }
            }
        }
        let dev = &self.device;
        Ok(Packed {
            ids: Tensor::from_vec(ids, (b, t), dev)?,
            rows: Tensor::from_vec(rows, b * l, dev)?,
            targets: Tensor::from_vec(targets, (b * l, 1), dev)?,
            mask,
            b,
            l,
        })
    }

    /// log-softmax of `logits: [N, V]` picked at `targets: [N, 1]` → `[N]`:
    /// `z_y − (m + log Σ exp(z − m))` with `m` a detached row maximum.
    fn picked_logprobs(
        logits: &Tensor,
        targets: &Tensor,
        mode: ForwardMode,
    ) -> Result<Tensor, ModelError> {
        if mode != ForwardMode::Composed && crate::kernels::supported(logits) {
            return Ok(crate::kernels::target_logprob::target_logprob(
                logits, targets,
            )?);
        }
        let m = logits.max_keepdim(D::Minus1)?.detach();
        let lse = (logits
            .broadcast_sub(&m)?
            .exp()?
            .sum_keepdim(D::Minus1)?
            .log()?
            + m)?;
        let picked = logits.gather(targets, D::Minus1)?;
        Ok((picked - lse)?.squeeze(1)?)
    }

    fn logprobs_with(
        &self,
        prompts: &[Vec<u32>],
        completions: &[Vec<u32>],
        mode: ForwardMode,
    ) -> Result<TokenLogprobs, ModelError> {
        let pk = self.pack(prompts, completions)?;
        let mask = Tensor::from_vec(pk.mask, (pk.b, pk.l), &self.device)?.to_dtype(self.dtype)?;
        if pk.b == 0 || pk.l == 0 {
            return Ok(TokenLogprobs {
                logprobs: mask.clone(),
                mask,
            });
        }
        // Right padding needs no padding mask: a causal row never sees the pads after it.
        let h = self.hidden_states(
            &pk.ids,
            mode,
            &Positions::Shared { start: 0 },
            AttnMask::Causal,
            None,
        )?;
        // The output head runs only on rows that predict a completion token (prompt
        // positions of long prompts cost no V-wide matmul).
        let h = h.index_select(&pk.rows, 0)?;
        let logits = self.head(&h, mode)?;
        let lp = Self::picked_logprobs(&logits, &pk.targets, mode)?.reshape((pk.b, pk.l))?;
        Ok(TokenLogprobs {
            logprobs: (lp * &mask)?,
            mask,
        })
    }

    /// Per-token log-probs of `completions[i]` after `prompts[i]` under the current
    /// weights, in one batched forward through the differentiable path: call
    /// `backward()` on a loss built from [`TokenLogprobs::logprobs`] to reach every
    /// weight. Prompts must be non-empty; completions may be empty (an all-masked row).
    pub fn token_logprobs(
        &self,
        prompts: &[Vec<u32>],
        completions: &[Vec<u32>],
    ) -> Result<TokenLogprobs, ModelError> {
        self.logprobs_with(prompts, completions, ForwardMode::Differentiable)
    }

    /// [`Policy::token_logprobs`] without a graph, through the fused inference kernels:
    /// for the frozen old policy π_old or the reference π_ref. Row `i` has exactly
    /// `completions[i].len()` values.
    pub fn token_logprobs_detached(
        &self,
        prompts: &[Vec<u32>],
        completions: &[Vec<u32>],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let out = self.logprobs_with(prompts, completions, ForwardMode::Inference)?;
        let rows = out
            .logprobs
            .to_dtype(DType::F32)?
            .to_device(&Device::Cpu)?
            .to_vec2::<f32>()?;
        Ok(rows
            .into_iter()
            .zip(completions)
            .map(|(mut r, c)| {
                r.truncate(c.len());
                r
            })
            .collect())
    }
}
