//! Batched generation with a KV cache: prompts of different lengths in one batch,
//! per-sequence stop on EOS or stop strings, temperature / top-k / top-p sampling from
//! a seeded RNG.
//!
//! Prompts are left-padded to the longest one; each sequence's RoPE positions count from
//! its own first real token and an additive mask hides the pads, so a sequence's
//! completion does not depend on what else is in the batch. Finished sequences are
//! dropped from the batch (their cache rows removed), so they stop costing compute.
//! The forward runs through the fused inference kernels
//! ([`ForwardMode::Inference`]); sampling itself (temperature, top-k, top-p) happens on
//! the host from a caller-seeded [`StdRng`], so the same seed gives the same tokens on
//! any device.
//!
//! # Example
//! ```
//! use candle_core::Device;
//! use rand::SeedableRng;
//! use rand::rngs::StdRng;
//! use xrpo_train::model::{ModelConfig, Policy};
//! use xrpo_train::sampler::{SamplingConfig, StopCondition, generate};
//!
//! let policy = Policy::new_random(ModelConfig::tiny(), 0, &Device::Cpu)?;
//! let cfg = SamplingConfig { max_new_tokens: 8, ..SamplingConfig::default() };
//! let stop = StopCondition { eos_ids: vec![2], stop_strings: vec![] };
//! let mut rng = StdRng::seed_from_u64(42);
//! let out = generate(&policy, &[vec![1, 5, 9], vec![3]], &cfg, &stop, None, &mut rng)?;
//! assert_eq!(out.len(), 2);
//! assert!(out.iter().all(|c| c.tokens.len() <= 8 && c.tokens.len() == c.logprobs.len()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod distribution;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use rand::RngExt;
use rand::rngs::StdRng;

use crate::model::forward::{AttnMask, KvCache, Positions};
use crate::model::{ForwardMode, ModelError, Policy};

pub use distribution::{TokenChoice, draws_uniform, sample_token, sample_token_with};

/// How tokens are drawn.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingConfig {
    /// Most tokens generated per sequence (also capped by the model's context).
    /// Default 256.
    pub max_new_tokens: usize,
    /// Softmax temperature τ; 0 means greedy (arg-max). Default 1.0.
    pub temperature: f64,
    /// Nucleus mass p: keep the smallest set of most likely tokens whose probability
    /// reaches p, in (0, 1]; 1 turns it off. Default 1.0.
    pub top_p: f64,
    /// Keep only the k most likely tokens; 0 turns it off. Default 0.
    pub top_k: usize,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            max_new_tokens: 256,
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
        }
    }
}

impl SamplingConfig {
    /// Checks temperature is finite and ≥ 0 and top-p is in (0, 1].
    pub fn validate(&self) -> Result<(), ModelError> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(ModelError::InvalidSampling {
                field: "temperature",
                reason: format!("{} must be finite and >= 0", self.temperature),
            });
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(ModelError::InvalidSampling {
                field: "top_p",
                reason: format!("{} must be in (0, 1]", self.top_p),
            });
        }
        Ok(())
    }
}

/// When a sequence stops (besides reaching `max_new_tokens`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopCondition {
    /// Token ids that end a sequence; the EOS token is kept as the completion's last
    /// token (so the trainer can learn to stop).
    pub eos_ids: Vec<u32>,
    /// Strings that end a sequence once the decoded completion contains one; the
    /// completion ends with the token that completed the string. Needs a decoder. Each
    /// step decodes only the completion's last `2·(longest stop string in bytes) + 8`
    /// tokens, so the check costs the same at every step.
    pub stop_strings: Vec<String>,
}

/// Why a sequence stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// It sampled one of [`StopCondition::eos_ids`].
    Eos,
    /// Its decoded text came to contain one of [`StopCondition::stop_strings`].
    StopString,
    /// It reached `max_new_tokens` or the model's context length.
    Length,
}

/// One generated completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The sampled tokens (without the prompt).
    pub tokens: Vec<u32>,
    /// Log-prob of each token under the *sampling* distribution (after temperature,
    /// top-k and top-p); 0 under greedy decoding.
    pub logprobs: Vec<f32>,
    /// Log-prob of each token under the raw policy (temperature 1, no truncation),
    /// i.e. log π_old(o_t | q, o_<t) computed by the inference path.
    pub policy_logprobs: Vec<f32>,
    /// Why it stopped.
    pub finish: FinishReason,
}

/// Turns completion tokens into text, for stop strings (keeps the sampler independent of
/// any tokenizer type).
pub type Decoder<'a> = &'a dyn Fn(&[u32]) -> String;

/// One sequence still being generated.
struct Active {
    /// Index into the caller's `prompts`.
    index: usize,
    /// Number of left pads in its cache row.
    pad: usize,
    completion: Completion,
}

/// Generates one completion per prompt.
///
/// `decode` turns completion tokens into text; it is needed only for stop strings.
/// The same `rng` state, weights and inputs give the same tokens.
pub fn generate(
    policy: &Policy,
    prompts: &[Vec<u32>],
    cfg: &SamplingConfig,
    stop: &StopCondition,
    decode: Option<Decoder<'_>>,
    rng: &mut StdRng,
) -> Result<Vec<Completion>, ModelError> {
    cfg.validate()?;
    if !stop.stop_strings.is_empty() && decode.is_none() {
        return Err(ModelError::InvalidSampling {
            field: "stop_strings",
            reason: "stop strings need a decode callback".into(),
        });
    }
    let config = policy.config();
    let max_pos = config.max_position_embeddings;
    for (i, p) in prompts.iter().enumerate() {
        if p.is_empty() {
            return Err(ModelError::EmptyPrompt { sequence: i });
        }
        if p.len() > max_pos {
            return Err(ModelError::SequenceTooLong {
                sequence: i,
                len: p.len(),
                max: max_pos,
            });
        }
        if let Some((j, &tok)) = p
            .iter()
            .enumerate()
            .find(|(_, t)| **t as usize >= config.vocab_size)
        {
            return Err(ModelError::TokenOutOfRange {
                sequence: i,
                position: j,
                token: tok,
                vocab_size: config.vocab_size,
            });
        }
    }
    let empty = |finish| Completion {
        tokens: Vec::new(),
        logprobs: Vec::new(),
        policy_logprobs: Vec::new(),
        finish,
    };
    let mut done: Vec<Option<Completion>> = vec![None; prompts.len()];
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    let p_len = prompts.iter().map(Vec::len).max().unwrap_or(0);
    // Each sequence may grow to max_pos tokens; the cache holds the padded batch.
    let steps = cfg
        .max_new_tokens
        .min(max_pos - prompts.iter().map(Vec::len).min().unwrap_or(0));
    if steps == 0 {
        return Ok(prompts
            .iter()
            .map(|_| empty(FinishReason::Length))
            .collect());
    }
    let device = policy.device().clone();
    let dtype = policy.dtype();
    let b = prompts.len();
    let capacity = p_len + steps;

    // Left padding: row i has `pad_i` pads, its positions count from its first real
    // token, and every later query's attention hides its pads.
    let mut active: Vec<Active> = Vec::with_capacity(b);
    for (i, p) in prompts.iter().enumerate() {
        let pad = p_len - p.len();
        active.push(Active {
            index: i,
            pad,
            completion: empty(FinishReason::Length),
        });
    }

    // Prefill each distinct prompt once (GRPO repeats every prompt for its whole group),
    // then copy its cache rows and last logits to every sequence that shares it.
    let mut distinct: Vec<&[u32]> = Vec::new();
    let mut seen: HashMap<&[u32], u32> = HashMap::new();
    let expand: Vec<u32> = prompts
        .iter()
        .map(|p| {
            *seen.entry(p.as_slice()).or_insert_with(|| {
                distinct.push(p);
                (distinct.len() - 1) as u32
            })
        })
        .collect();
    let u = distinct.len();
    let mut cache = KvCache::new(policy, u, capacity)?;
    let mut ids = vec![0u32; u * p_len];
    let mut pos = vec![0u32; u * p_len];
    // Prefill mask [u, P, P]: causal, pads hidden as keys; a pad query sees itself so no
    // softmax row is empty (its output is never used).
    let mut prefill = vec![0f32; u * p_len * p_len];
    for (i, p) in distinct.iter().enumerate() {
        let pad = p_len - p.len();
        ids[i * p_len + pad..(i + 1) * p_len].copy_from_slice(p);
        for j in pad..p_len {
            pos[i * p_len + j] = (j - pad) as u32;
        }
        for q in 0..p_len {
            for k in 0..p_len {
                if k > q || (k < pad && k != q) {
                    prefill[(i * p_len + q) * p_len + k] = f32::NEG_INFINITY;
                }
            }
        }
    }
    let prefill = Tensor::from_vec(prefill, (u, p_len, p_len), &device)?.to_dtype(dtype)?;
    let ids = Tensor::from_vec(ids, (u, p_len), &device)?;
    let pos = Tensor::from_vec(pos, (u, p_len), &device)?;
    let h = policy.hidden_states(
        &ids,
        ForwardMode::Inference,
        &Positions::PerRow(pos),
        AttnMask::Additive(&prefill),
        Some(&mut cache),
    )?;
    // Only the last position of each row feeds the head.
    let last: Vec<u32> = (0..u).map(|i| (i * p_len + p_len - 1) as u32).collect();
    let h = h.index_select(&Tensor::from_vec(last, u, &device)?, 0)?;
    let mut logits = policy.head(&h, ForwardMode::Inference)?;
    if u < b {
        let expand = Tensor::from_vec(expand, b, &device)?;
        cache.select_rows(&expand)?;
        logits = logits.index_select(&expand, 0)?;
    }

    for step in 0..steps {
        let rows = logits
            .to_dtype(DType::F32)?
            .to_device(&Device::Cpu)?
            .to_vec2::<f32>()?;
        let choices = sample_rows(&rows, &active, prompts, max_pos, cfg, rng);
        let mut next = Vec::with_capacity(active.len());
        let mut keep = Vec::with_capacity(active.len());
        for (choice, a) in choices.into_iter().zip(active.iter_mut()) {
            let c = &mut a.completion;
            // A prompt that already fills the context gets no token (its completion
            // could not be scored by a forward pass).
            let Some(choice) = choice else {
                c.finish = FinishReason::Length;
                keep.push(false);
                continue;
            };
            c.tokens.push(choice.token);
            c.logprobs.push(choice.logprob);
            c.policy_logprobs.push(choice.policy_logprob);
            let total = prompts[a.index].len() + c.tokens.len();
            let finish = if stop.eos_ids.contains(&choice.token) {
                Some(FinishReason::Eos)
            } else if hits_stop_string(&c.tokens, &stop.stop_strings, decode) {
                Some(FinishReason::StopString)
            } else if step + 1 == steps || total >= max_pos {
                Some(FinishReason::Length)
            } else {
                None
            };
            match finish {
                Some(f) => c.finish = f,
                None => next.push(choice.token),
            }
            keep.push(finish.is_none());
        }
        // Retire finished sequences and shrink the batch.
        if keep.iter().any(|k| !k) {
            let mut kept_rows = Vec::new();
            let mut still = Vec::new();
            for (r, (a, k)) in active.into_iter().zip(&keep).enumerate() {
                if *k {
                    kept_rows.push(r as u32);
                    still.push(a);
                } else {
                    done[a.index] = Some(a.completion);
                }
            }
            active = still;
            if active.is_empty() {
                break;
            }
            let sel = Tensor::from_vec(kept_rows, active.len(), &device)?;
            cache.select_rows(&sel)?;
        }
        // One decode step for the survivors.
        let nb = active.len();
        let cur = cache.len;
        let ids = Tensor::from_vec(next, (nb, 1), &device)?;
        let pos: Vec<u32> = active.iter().map(|a| (cur - a.pad) as u32).collect();
        let pos = Tensor::from_vec(pos, (nb, 1), &device)?;
        let pads: Vec<usize> = active.iter().map(|a| a.pad).collect();
        let h = policy.hidden_states(
            &ids,
            ForwardMode::Inference,
            &Positions::PerRow(pos),
            AttnMask::LeftPads(&pads),
            Some(&mut cache),
        )?;
        logits = policy.head(&h, ForwardMode::Inference)?;
    }
    for a in active {
        done[a.index] = Some(a.completion);
    }
    // Invariant: every sequence is retired either in the loop or just above.
    Ok(done
        .into_iter()
        .map(|c| c.expect("every sequence finished"))
        .collect())
}

/// One token per active row, or `None` for a prompt that already fills the context.
///
/// The uniforms are drawn from `rng` in row order first, exactly as calling
/// [`sample_token`] row by row would draw them, so the tokens do not depend on how the
/// rows are then spread over rayon's pool (the softmax over a 49k vocabulary is a
/// noticeable share of a decode step when done on one thread).
fn sample_rows(
    rows: &[Vec<f32>],
    active: &[Active],
    prompts: &[Vec<u32>],
    max_pos: usize,
    cfg: &SamplingConfig,
    rng: &mut StdRng,
) -> Vec<Option<TokenChoice>> {
    let uniforms: Vec<Option<Option<f64>>> = rows
        .iter()
        .zip(active)
        .map(|(row, a)| {
            (prompts[a.index].len() < max_pos)
                .then(|| draws_uniform(row.len(), cfg).then(|| rng.random::<f64>()))
        })
        .collect();
    let mut out: Vec<Option<TokenChoice>> = vec![None; rows.len()];
    let slots = crate::runtime::DisjointOut(out.as_mut_ptr());
    crate::runtime::par_ranges(rows.len(), |r| {
        // Capture the whole Sync wrapper, not its raw-pointer field.
        let choices_out = slots;
        for i in r {
            if let Some(u) = uniforms[i] {
                // SAFETY: row i belongs to this worker alone; `out` outlives the call.
                unsafe { *choices_out.0.add(i) = Some(sample_token_with(&rows[i], cfg, u)) };
            }
        }
    });
    out
}

/// Whether the completion's decoded tail contains any stop string.
///
/// It is called after every token, so a new match must end in the newest token: only
/// the last `2·(longest stop string in bytes) + 8` tokens are decoded (each token decodes
/// to at least one byte in practice, the rest is slack for tokens that decode to nothing
/// and for boundary effects at the window's start). The cost per step therefore does not
/// grow with the completion.
fn hits_stop_string(tokens: &[u32], stops: &[String], decode: Option<Decoder<'_>>) -> bool {
    match decode {
        Some(decode) if !stops.is_empty() => {
            let longest = stops.iter().map(String::len).max().unwrap_or(0);
            let start = tokens.len().saturating_sub(2 * longest + 8);
            let text = decode(&tokens[start..]);
            stops
                .iter()
                .any(|s| !s.is_empty() && text.contains(s.as_str()))
        }
        _ => false,
    }
}
