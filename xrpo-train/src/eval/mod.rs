//! Evaluation metrics over k samples per prompt: pass@1, pass@k (unbiased), cons@k
//! (majority vote by verified answer equivalence) and mean completion length.
//!
//! # Example
//!
//! ```
//! use xrpo_train::eval::{pass_at_k, summarize, SampleOutcome};
//!
//! // n = 5 samples, c = 2 correct: pass@2 = 1 − C(3,2)/C(5,2) = 1 − 3/10.
//! assert!((pass_at_k(5, 2, 2).unwrap() - 0.7).abs() < 1e-12);
//!
//! let s = |a: &str, ok: bool| SampleOutcome { extracted: Some(a.into()), correct: ok, length: 3 };
//! let prompts = vec![vec![s("7", true), s("8", false), s("7", true)]];
//! let summary = summarize(&prompts, 3, &|a: &str, b: &str| a == b).unwrap();
//! assert_eq!(summary.cons_at_k, 1.0); // "7" wins the vote 2:1 and is correct
//! ```

use serde::{Deserialize, Serialize};

/// Errors of the metric functions.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum EvalError {
    /// Occurs when pass@k is asked with fewer samples than k, or more correct than samples.
    #[error("pass@k needs c <= n and 1 <= k <= n; got n = {n}, c = {c}, k = {k}")]
    BadCounts {
        /// Samples.
        n: usize,
        /// Correct samples.
        c: usize,
        /// k.
        k: usize,
    },
    /// Occurs when a prompt has fewer than k samples.
    #[error("prompt {prompt} has {got} samples, fewer than k = {k}")]
    TooFewSamples {
        /// Index of the prompt.
        prompt: usize,
        /// Its number of samples.
        got: usize,
        /// The k asked for.
        k: usize,
    },
}

/// Unbiased pass@k for one prompt (Chen et al. 2021): `1 − C(n−c, k) / C(n, k)`,
/// evaluated as `1 − Π_{i=n−c+1}^{n} (1 − k/i)` so no binomial coefficient overflows.
pub fn pass_at_k(n: usize, c: usize, k: usize) -> Result<f64, EvalError> {
    if c > n || k == 0 || k > n {
        return Err(EvalError::BadCounts { n, c, k });
    }
    if n - c < k {
        return Ok(1.0);
    }
    let mut prob_all_wrong = 1.0f64;
    for i in (n - c + 1)..=n {
        prob_all_wrong *= 1.0 - k as f64 / i as f64;
    }
    Ok(1.0 - prob_all_wrong)
}

/// One sampled response, as verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleOutcome {
    /// The final answer the verifier extracted, if any (votes only count these).
    pub extracted: Option<String>,
    /// Whether the verifier judged the response correct.
    pub correct: bool,
    /// Completion length in tokens.
    pub length: usize,
}

/// Majority vote over `samples` (cons@k for one prompt). Samples with an extracted answer
/// are clustered by `equivalent` (each sample joins the first cluster whose first member
/// is equivalent to it); the largest cluster wins, ties going to the cluster that appeared
/// first. Returns whether the winner's first member is correct; `false` when no sample
/// has an answer.
pub fn majority_correct(
    samples: &[SampleOutcome],
    equivalent: &dyn Fn(&str, &str) -> bool,
) -> bool {
    // (representative index, votes)
    let mut clusters: Vec<(usize, usize)> = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let Some(answer) = s.extracted.as_deref() else {
            continue;
        };
        let found = clusters.iter_mut().find(|(rep, _)| {
            // Invariant: representatives are samples with an extracted answer.
            let rep_answer = samples[*rep].extracted.as_deref().unwrap_or_default();
            equivalent(rep_answer, answer)
        });
        match found {
            Some((_, votes)) => *votes += 1,
            None => clusters.push((i, 1)),
        }
    }
    let mut best: Option<(usize, usize)> = None;
    for &(rep, votes) in &clusters {
        if best.is_none_or(|(_, b)| votes > b) {
            best = Some((rep, votes));
        }
    }
    best.is_some_and(|(rep, _)| samples[rep].correct)
}

/// Aggregate metrics over prompts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Number of prompts.
    pub prompts: usize,
    /// k.
    pub k: usize,
    /// pass@1: mean over prompts of the share of correct samples (`c / n`).
    pub pass_at_1: f64,
    /// Mean over prompts of the unbiased pass@k from all n samples.
    pub pass_at_k: f64,
    /// Mean over prompts of the majority-vote correctness of the first k samples.
    pub cons_at_k: f64,
    /// Mean completion length over all samples, in tokens.
    pub mean_length: f64,
}

/// Summarises `prompts` (each a list of n ≥ k samples). An empty list gives all zeros.
pub fn summarize(
    prompts: &[Vec<SampleOutcome>],
    k: usize,
    equivalent: &dyn Fn(&str, &str) -> bool,
) -> Result<EvalSummary, EvalError> {
    let mut pass1 = 0.0;
    let mut passk = 0.0;
    let mut cons = 0.0;
    let mut len_sum = 0.0;
    let mut len_n = 0usize;
    for (p, samples) in prompts.iter().enumerate() {
        let n = samples.len();
        if n < k || n == 0 {
            return Err(EvalError::TooFewSamples {
                prompt: p,
                got: n,
                k,
            });
        }
        let c = samples.iter().filter(|s| s.correct).count();
        pass1 += c as f64 / n as f64;
        passk += pass_at_k(n, c, k)?;
        if majority_correct(&samples[..k], equivalent) {
            cons += 1.0;
        }
        len_sum += samples.iter().map(|s| s.length as f64).sum::<f64>();
        len_n += n;
    }
    let m = prompts.len().max(1) as f64;
    Ok(EvalSummary {
        prompts: prompts.len(),
        k,
        pass_at_1: pass1 / m,
        pass_at_k: passk / m,
        cons_at_k: cons / m,
        mean_length: if len_n == 0 {
            0.0
        } else {
            len_sum / len_n as f64
        },
    })
}
