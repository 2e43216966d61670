//! The per-token sampling distribution: temperature, then top-k, then top-p (the order
//! Hugging Face's logits processors apply them), drawn with the caller's RNG.

use rand::RngExt;
use rand::rngs::StdRng;

use super::SamplingConfig;

/// One drawn token and its log-probs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenChoice {
    /// The token id.
    pub token: u32,
    /// log-prob under the sampling distribution (after temperature, top-k, top-p);
    /// 0 under greedy decoding.
    pub logprob: f32,
    /// log-prob under the raw policy: log softmax(logits) at `token`.
    pub policy_logprob: f32,
}

/// log Σ exp(x_i), computed stably in f64.
fn log_sum_exp(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Draws one token from `logits` (one row, length V) under `cfg`.
///
/// Greedy (`temperature == 0`) takes the first arg-max. Otherwise the distribution is
/// softmax(logits / τ), restricted to the `top_k` largest (ties broken by lower id), then
/// to the smallest prefix of the remaining tokens, sorted by probability, whose mass
/// reaches `top_p` (always at least one token), renormalised.
pub fn sample_token(logits: &[f32], cfg: &SamplingConfig, rng: &mut StdRng) -> TokenChoice {
    let lse = log_sum_exp(logits.iter().map(|&x| x as f64));
    let policy_lp = |tok: usize| (logits[tok] as f64 - lse) as f32;
    if cfg.temperature == 0.0 || logits.len() <= 1 {
        let mut best = 0;
        for (i, &x) in logits.iter().enumerate() {
            if x > logits[best] {
                best = i;
            }
        }
        return TokenChoice {
            token: best as u32,
            logprob: 0.0,
            policy_logprob: policy_lp(best),
        };
    }
    let inv_t = 1.0 / cfg.temperature;
    let z = |i: usize| logits[i] as f64 * inv_t;
    // Descending by scaled logit, ties by lower id: a total, deterministic order.
    let desc = |a: &usize, b: &usize| z(*b).total_cmp(&z(*a)).then(a.cmp(b));
    let v = logits.len();
    let truncate_k = cfg.top_k > 0 && cfg.top_k < v;
    let truncate_p = cfg.top_p < 1.0;
    let mut cand: Vec<usize> = (0..v).collect();
    if truncate_k {
        cand.select_nth_unstable_by(cfg.top_k - 1, desc);
        cand.truncate(cfg.top_k);
    }
    if truncate_p {
        cand.sort_unstable_by(desc);
        let lse_c = log_sum_exp(cand.iter().map(|&i| z(i)));
        let mut mass = 0.0;
        let mut keep = 0;
        for &i in &cand {
            mass += (z(i) - lse_c).exp();
            keep += 1;
            if mass >= cfg.top_p {
                break;
            }
        }
        cand.truncate(keep.max(1));
    }
    let lse_s = log_sum_exp(cand.iter().map(|&i| z(i)));
    let u: f64 = rng.random::<f64>();
    let mut acc = 0.0;
    // Falls back to the last candidate if rounding leaves Σp slightly below u.
    let mut chosen = cand[cand.len() - 1];
    for &i in &cand {
        acc += (z(i) - lse_s).exp();
        if u < acc {
            chosen = i;
            break;
        }
    }
    TokenChoice {
        token: chosen as u32,
        logprob: (z(chosen) - lse_s) as f32,
        policy_logprob: policy_lp(chosen),
    }
}
