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
    let u = draws_uniform(logits.len(), cfg).then(|| rng.random::<f64>());
    sample_token_with(logits, cfg, u)
}

/// Whether [`sample_token`] draws a uniform for a row of `vocab` logits (it does unless
/// decoding is greedy), so a caller can draw the uniforms of many rows in order first
/// and then run [`sample_token_with`] on the rows in parallel with the same result.
pub fn draws_uniform(vocab: usize, cfg: &SamplingConfig) -> bool {
    cfg.temperature != 0.0 && vocab > 1
}

/// [`sample_token`] with its uniform `u ∈ [0, 1)` drawn by the caller. Without a
/// uniform, or under a greedy `cfg`, it takes the arg-max.
pub fn sample_token_with(logits: &[f32], cfg: &SamplingConfig, u: Option<f64>) -> TokenChoice {
    let lse = log_sum_exp(logits.iter().map(|&x| x as f64));
    let policy_lp = |tok: usize| (logits[tok] as f64 - lse) as f32;
    let Some(u) = u.filter(|_| draws_uniform(logits.len(), cfg)) else {
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
    };
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
    // Untruncated at τ = 1 the sampling distribution is the policy: reuse its lse.
    let lse_s = match (truncate_k || truncate_p, cfg.temperature == 1.0) {
        (false, true) => lse,
        _ => log_sum_exp(cand.iter().map(|&i| z(i))),
    };
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

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn cfg(temperature: f64, top_p: f64, top_k: usize) -> SamplingConfig {
        SamplingConfig {
            max_new_tokens: 1,
            temperature,
            top_p,
            top_k,
        }
    }

    const LOGITS: [f32; 6] = [1.0, 3.0, -2.0, 2.5, 0.0, 3.0];

    /// Softmax of `LOGITS / τ` over `keep`, written independently of the code under test.
    fn reference(t: f64, keep: &[usize]) -> Vec<f64> {
        let z: Vec<f64> = keep.iter().map(|&i| (LOGITS[i] as f64 / t).exp()).collect();
        let s: f64 = z.iter().sum();
        let mut p = vec![0.0; LOGITS.len()];
        for (&i, z) in keep.iter().zip(z) {
            p[i] = z / s;
        }
        p
    }

    fn frequencies(c: &SamplingConfig, n: usize) -> (Vec<f64>, Vec<TokenChoice>) {
        let mut rng = StdRng::seed_from_u64(99);
        let mut f = vec![0.0; LOGITS.len()];
        let mut seen = Vec::new();
        for _ in 0..n {
            let ch = sample_token(&LOGITS, c, &mut rng);
            f[ch.token as usize] += 1.0 / n as f64;
            seen.push(ch);
        }
        (f, seen)
    }

    #[test]
    fn greedy_takes_the_first_argmax() {
        let mut rng = StdRng::seed_from_u64(0);
        let ch = sample_token(&LOGITS, &cfg(0.0, 1.0, 0), &mut rng);
        assert_eq!((ch.token, ch.logprob), (1, 0.0));
        let p = reference(1.0, &[0, 1, 2, 3, 4, 5]);
        assert!((ch.policy_logprob as f64 - p[1].ln()).abs() < 1e-6);
    }

    #[test]
    fn temperature_frequencies_and_logprobs_follow_softmax() {
        let n = 40_000;
        let (f, seen) = frequencies(&cfg(0.7, 1.0, 0), n);
        let p = reference(0.7, &[0, 1, 2, 3, 4, 5]);
        let q = reference(1.0, &[0, 1, 2, 3, 4, 5]);
        for i in 0..6 {
            // 5 binomial standard deviations.
            let sd = (p[i] * (1.0 - p[i]) / n as f64).sqrt();
            assert!(
                (f[i] - p[i]).abs() <= 5.0 * sd + 1e-9,
                "token {i}: {} vs {}",
                f[i],
                p[i]
            );
        }
        for ch in seen.iter().take(50) {
            let t = ch.token as usize;
            assert!((ch.logprob as f64 - p[t].ln()).abs() < 1e-5);
            assert!((ch.policy_logprob as f64 - q[t].ln()).abs() < 1e-5);
        }
    }

    #[test]
    fn top_k_keeps_the_k_largest_ties_to_lower_id() {
        // Logits sorted: 1 (3.0), 5 (3.0), 3 (2.5), 0, 4, 2. k = 3 keeps {1, 5, 3}.
        let (f, seen) = frequencies(&cfg(1.0, 1.0, 3), 20_000);
        let p = reference(1.0, &[1, 5, 3]);
        for i in 0..6 {
            assert!(
                (f[i] - p[i]).abs() < 0.02,
                "token {i}: {} vs {}",
                f[i],
                p[i]
            );
        }
        assert!(
            seen.iter()
                .all(|c| (c.logprob as f64 - p[c.token as usize].ln()).abs() < 1e-5)
        );
        // k = 1 with a tie: the lower id.
        let mut rng = StdRng::seed_from_u64(0);
        assert_eq!(sample_token(&LOGITS, &cfg(1.0, 1.0, 1), &mut rng).token, 1);
    }

    #[test]
    fn top_p_keeps_the_smallest_prefix_reaching_p() {
        let full = reference(1.0, &[0, 1, 2, 3, 4, 5]);
        // Sorted masses: p1 = p5 ≈ 0.34, p3 ≈ 0.21, ... The first two sum to < 0.8, the
        // first three ≥ 0.8, so top-p 0.8 keeps {1, 5, 3}.
        assert!(full[1] + full[5] < 0.8 && full[1] + full[5] + full[3] >= 0.8);
        let (f, seen) = frequencies(&cfg(1.0, 0.8, 0), 20_000);
        let p = reference(1.0, &[1, 5, 3]);
        for i in 0..6 {
            assert!(
                (f[i] - p[i]).abs() < 0.02,
                "token {i}: {} vs {}",
                f[i],
                p[i]
            );
        }
        assert!(
            seen.iter()
                .all(|c| (c.logprob as f64 - p[c.token as usize].ln()).abs() < 1e-5)
        );
        // A tiny p keeps only the top token.
        let (_, seen) = frequencies(&cfg(1.0, 1e-3, 0), 100);
        assert!(seen.iter().all(|c| c.token == 1 && c.logprob == 0.0));
    }
}
