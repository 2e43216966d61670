//! The Jeffreys Beta posterior of a prompt's success rate from binary rewards, and the
//! uniform-group predicates the filtering allocators share.

use crate::PromptStats;

/// Jeffreys prior `Beta(1/2, 1/2)` of a success rate: `a₀ = b₀ = 1/2`.
pub const JEFFREYS_PRIOR: f64 = 0.5;

/// Posterior mean of the success rate under the Jeffreys prior,
/// `p̃ = (k + 1/2) / (n + 1)` with `n` scored rewards and `k = n · r̄` successes (not in
/// the XRPO paper). `None` when the mean reward lies outside [0, 1] (the rewards cannot
/// be 0/1 outcomes). With graded rewards in [0, 1], `k` counts fractional successes.
///
/// ```
/// use xrpo_alloc::{PromptStats, posterior};
/// // Two successes: p̃ = 2.5 / 3, not 1.
/// let s = PromptStats::from_rewards([1.0, 1.0])?;
/// assert!((posterior::success_rate(&s).unwrap() - 2.5 / 3.0).abs() < 1e-15);
/// // No rewards yet: the prior mean 1/2.
/// assert_eq!(posterior::success_rate(&PromptStats::new()), Some(0.5));
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
pub fn success_rate(stats: &PromptStats) -> Option<f64> {
    let mean = stats.mean();
    if !(0.0..=1.0).contains(&mean) {
        return None;
    }
    let n = stats.count() as f64;
    Some((n * mean + JEFFREYS_PRIOR) / (n + 2.0 * JEFFREYS_PRIOR))
}

/// The Bernoulli standard deviation at the posterior mean, `s̃ = √(p̃ (1 − p̃))`, the
/// spread [`crate::VarianceEstimate::BetaPosterior`] puts in place of the sample std.
/// Never 0: two agreeing rewards give `p̃ = 5/6` and `s̃ ≈ 0.37`, not certainty. `None`
/// as [`success_rate`].
pub fn bernoulli_std(stats: &PromptStats) -> Option<f64> {
    success_rate(stats).map(|p| (p * (1.0 - p)).sqrt())
}

/// Whether a prompt's scored rewards all agree (or there are fewer than two): its group
/// has zero reward variance, so group-relative advantages are all 0 and it carries no
/// gradient.
pub fn is_uniform(stats: &PromptStats) -> bool {
    stats.sample_std().is_none_or(|s| s == 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posterior_by_hand() {
        // 4 rewards, 1 success: Beta(1.5, 3.5), mean 1.5/5 = 0.3, s̃ = √0.21.
        let s = PromptStats::from_rewards([0.0, 1.0, 0.0, 0.0]).unwrap();
        assert!((success_rate(&s).unwrap() - 0.3).abs() < 1e-15);
        assert!((bernoulli_std(&s).unwrap() - 0.21f64.sqrt()).abs() < 1e-15);
        // 8 failures: 0.5 / 9.
        let s = PromptStats::from_rewards([0.0; 8]).unwrap();
        assert!((success_rate(&s).unwrap() - 0.5 / 9.0).abs() < 1e-15);
        // Rewards outside [0, 1] are not outcomes.
        let s = PromptStats::from_rewards([2.0, 3.0]).unwrap();
        assert_eq!(success_rate(&s), None);
    }

    #[test]
    fn uniform_groups() {
        assert!(is_uniform(&PromptStats::new()));
        assert!(is_uniform(&PromptStats::from_rewards([1.0]).unwrap()));
        assert!(is_uniform(&PromptStats::from_rewards([0.5; 3]).unwrap()));
        assert!(!is_uniform(&PromptStats::from_rewards([1.0, 0.0]).unwrap()));
    }
}
