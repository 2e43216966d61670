//! Per-prompt reward statistics: count n_q, mean r̄_q and Bessel-corrected std s_q.

use crate::Error;

/// Reward statistics of one prompt within a step: the count `n_q` of scored rollouts,
/// their mean `r̄_q` and sample standard deviation `s_q` (Bessel-corrected), plus the
/// number of *unscored* rollouts (generated, but the verifier could not score them).
///
/// Built from a list of rewards ([`PromptStats::from_rewards`]) or updated one reward at
/// a time ([`PromptStats::push`], Welford's algorithm), so a trainer can keep one value
/// per prompt across the phases of a step.
///
/// **Missing rewards.** A response that could not be verified is not a 0 reward. Either
/// leave it out (it then counts neither for the statistics nor against the cap `n_max`),
/// or record it with [`PromptStats::record_unscored`]: it then counts towards the
/// prompt's rollouts (`n_max` caps generated rollouts) and towards the exploration clock
/// `T`, but not towards `n_q`, `r̄_q` or `s_q`.
///
/// ```
/// use xrpo_alloc::PromptStats;
/// let mut s = PromptStats::from_rewards([1.0, 0.0, 1.0, 0.0])?;
/// assert_eq!(s.count(), 4);
/// assert_eq!(s.mean(), 0.5);
/// // sample std with Bessel's correction: sqrt(4 * 0.25 / 3)
/// assert!((s.sample_std().unwrap() - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
/// s.push(1.0)?;
/// assert_eq!(s.count(), 5);
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PromptStats {
    count: usize,
    mean: f64,
    /// Sum of squared deviations from the mean (Welford's M2).
    m2: f64,
    unscored: usize,
}

impl PromptStats {
    /// No rollouts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Statistics of `rewards` (any numeric type that converts to `f64`: `f32`, `u8`, …).
    ///
    /// # Errors
    /// [`Error::NonFiniteReward`] if a reward is NaN or infinite (with `prompt` = 0;
    /// use [`PromptStats::push`] to attach your own index).
    pub fn from_rewards<I>(rewards: I) -> Result<Self, Error>
    where
        I: IntoIterator,
        I::Item: Into<f64>,
    {
        let mut stats = Self::new();
        for r in rewards {
            stats.push(r.into())?;
        }
        Ok(stats)
    }

    /// Statistics given directly as count `n`, mean and sample std (Bessel-corrected),
    /// e.g. from another framework. `std` is ignored when `count < 2`.
    ///
    /// # Errors
    /// [`Error::NonFiniteReward`] (position = 0 for the mean, 1 for the std) if the mean
    /// or std is not finite or the std is negative.
    pub fn from_moments(count: usize, mean: f64, std: f64) -> Result<Self, Error> {
        if !mean.is_finite() {
            return Err(Error::NonFiniteReward {
                prompt: 0,
                position: 0,
                value: mean,
            });
        }
        if !std.is_finite() || std < 0.0 {
            return Err(Error::NonFiniteReward {
                prompt: 0,
                position: 1,
                value: std,
            });
        }
        let m2 = if count >= 2 {
            std * std * (count - 1) as f64
        } else {
            0.0
        };
        Ok(Self {
            count,
            mean: if count == 0 { 0.0 } else { mean },
            m2,
            unscored: 0,
        })
    }

    /// Adds one scored reward (Welford's online update).
    ///
    /// # Errors
    /// [`Error::NonFiniteReward`] if `reward` is NaN or infinite; the stats are unchanged.
    pub fn push(&mut self, reward: f64) -> Result<(), Error> {
        if !reward.is_finite() {
            return Err(Error::NonFiniteReward {
                prompt: 0,
                position: self.count,
                value: reward,
            });
        }
        self.count += 1;
        let delta = reward - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (reward - self.mean);
        Ok(())
    }

    /// Records a rollout that was generated but could not be scored (see the type docs).
    pub fn record_unscored(&mut self) {
        self.unscored += 1;
    }

    /// `n_q`: the number of scored rollouts.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Rollouts generated for the prompt: scored plus unscored. This is what `n_max` caps.
    pub fn rollouts(&self) -> usize {
        self.count + self.unscored
    }

    /// Rollouts generated but not scored.
    pub fn unscored(&self) -> usize {
        self.unscored
    }

    /// `r̄_q`: the mean reward (0 when there is none).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// `s_q`: the sample standard deviation with Bessel's correction, or `None` when
    /// fewer than 2 rewards were scored (it is undefined then).
    pub fn sample_std(&self) -> Option<f64> {
        (self.count >= 2).then(|| (self.m2.max(0.0) / (self.count - 1) as f64).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_std(xs: &[f64]) -> f64 {
        // Two-pass textbook formula, written independently of Welford's update.
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    }

    #[test]
    fn welford_matches_two_pass() {
        let xs = [0.3, 1.7, -2.0, 5.5, 0.0, 0.25];
        let s = PromptStats::from_rewards(xs).unwrap();
        assert!((s.mean() - xs.iter().sum::<f64>() / 6.0).abs() < 1e-12);
        assert!((s.sample_std().unwrap() - reference_std(&xs)).abs() < 1e-12);
    }

    #[test]
    fn zero_variance_is_exactly_zero() {
        let s = PromptStats::from_rewards([1u8, 1, 1, 1]).unwrap();
        assert_eq!(s.sample_std(), Some(0.0));
        let s = PromptStats::from_rewards([0.7f32; 9]).unwrap();
        assert_eq!(s.sample_std(), Some(0.0));
    }

    #[test]
    fn std_undefined_below_two() {
        assert_eq!(PromptStats::new().sample_std(), None);
        assert_eq!(PromptStats::from_rewards([1.0]).unwrap().sample_std(), None);
    }

    #[test]
    fn non_finite_rejected_with_position() {
        let err = PromptStats::from_rewards([1.0, f64::NAN]).unwrap_err();
        assert!(matches!(err, Error::NonFiniteReward { position: 1, .. }));
        assert!(PromptStats::from_moments(3, 0.5, -1.0).is_err());
    }

    #[test]
    fn moments_round_trip() {
        let a = PromptStats::from_rewards([1.0, 0.0, 0.0, 1.0, 1.0]).unwrap();
        let b = PromptStats::from_moments(5, a.mean(), a.sample_std().unwrap()).unwrap();
        assert!((a.sample_std().unwrap() - b.sample_std().unwrap()).abs() < 1e-12);
        assert_eq!(b.count(), 5);
    }

    #[test]
    fn unscored_counts_as_rollout_only() {
        let mut s = PromptStats::from_rewards([1.0, 0.0]).unwrap();
        s.record_unscored();
        assert_eq!((s.count(), s.rollouts(), s.unscored()), (2, 3, 1));
    }
}
