//! [`XrpoConfig`]: every parameter of XRPO's hierarchical allocation (spec §1).

use serde::{Deserialize, Serialize};

use crate::{Error, PhasePlan, StepBudget};

/// Largest accepted `n_max` (bounds the t-quantile cache to a few MiB at most).
pub const MAX_N_MAX: usize = 1 << 16;

/// What the exploration clock `T` in `φ_q(T, n_q) = λ √(ln(1+T)/n_q)` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplorationClock {
    /// **[our default]** UCB1's "total pulls": the rollouts already generated in this step
    /// (scored plus unscored, over all prompts) plus the grants made so far in the current
    /// phase; it grows by one after every grant.
    #[default]
    StepRollouts,
    /// The 1-based training-step number: `T = 1 + completed steps`. Constant within a
    /// step; advanced by [`crate::RolloutAllocator::finish_step`] and checkpointed in
    /// [`crate::AllocatorState`].
    TrainingSteps,
}

/// What spread `s_q` enters XRPO's half-width `h_q` and reduction `Δ̂_q`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceEstimate {
    /// **(paper)** The Bessel-corrected sample std of the rewards (spec §1). Two agreeing
    /// rewards give `s_q = 0`, so `Δ̂_q = 0`: the prompt looks certain after two rollouts
    /// and only the bonus `φ_q` can bring it more.
    #[default]
    Sample,
    /// **(ours, for 0/1 rewards)** `s̃_q = √(p̃(1 − p̃))` with `p̃ = (k + ½)/(n + 1)`, the
    /// mean of the Beta posterior from a Jeffreys prior `Beta(½, ½)` and `k` successes in
    /// `n` rewards ([`crate::posterior::bernoulli_std`]). A prompt with 4 wrong answers
    /// keeps `s̃ = 0.3` (8 wrong: 0.23): agreeing rewards make it less, not zero,
    /// uncertain, so `Δ̂_q` still ranks it against partly solved prompts instead of leaving
    /// it to `φ_q`. Prompts whose mean reward lies outside [0, 1] keep the sample std.
    BetaPosterior,
}

/// Configuration of [`crate::XrpoAllocator`] (XRPO spec §1). Unknown keys are rejected.
///
/// ```
/// use xrpo_alloc::XrpoConfig;
/// let cfg: XrpoConfig = serde_json::from_str(r#"{"lambda": 0.1, "phases": 4}"#).unwrap();
/// cfg.validate().unwrap();
/// assert_eq!(cfg.n_base(), 4); // max(2, 16 / 4)
/// assert_eq!(cfg.n_max(), 64); // 4 · 16
/// assert!(serde_json::from_str::<XrpoConfig>(r#"{"lamda": 0.1}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XrpoConfig {
    /// `n_fixed`: the group size of the GRPO baseline this run is compared with; the step
    /// budget is `B = n_fixed · |Q|` rollouts. Unit: rollouts per prompt. Default 16.
    pub n_fixed: usize,
    /// `n_base`: rollouts every prompt gets in phase 1. Unit: rollouts per prompt.
    /// Default `None` = `max(2, n_fixed / 4)` **[our default]**. Must be ≥ 2 (the sample
    /// std and the t quantile need two rewards) and ≤ `n_fixed`.
    pub n_base: Option<usize>,
    /// `n_max`: cap on a prompt's rollouts within one step (scored plus unscored). Unit:
    /// rollouts per prompt. Default `None` = `4 · n_fixed` **[our default]**. Must be ≥
    /// `n_base` and ≤ 65 536.
    pub n_max: Option<usize>,
    /// `P`: number of phases per step; phase 1 is the base allocation, phases `2..=P`
    /// share the rest of the budget evenly (earlier phases take the leftover units).
    /// Default 3 (the paper's value). Must be ≥ 2.
    pub phases: usize,
    /// `α`: significance of the t confidence interval, whose half-width uses the quantile
    /// `t_{1-α/2, n-1}`. Unitless, in [1e-12, 1). Default 0.05 **[our default]**.
    pub alpha: f64,
    /// `λ`: weight of the exploration bonus `φ_q`. Unit: reward. Default 0.05 **[our
    /// default]**; the paper does not publish it. Must be finite and ≥ 0.
    pub lambda: f64,
    /// What `T` counts in `φ_q`. Default `step_rollouts` **[our default]**.
    pub clock: ExplorationClock,
    /// The spread `s_q` in `h_q` and `Δ̂_q`: `sample` (the paper's sample std, default) or
    /// `beta_posterior` (Jeffreys posterior, for 0/1 rewards; see [`VarianceEstimate`]).
    pub variance: VarianceEstimate,
}

impl Default for XrpoConfig {
    fn default() -> Self {
        Self {
            n_fixed: 16,
            n_base: None,
            n_max: None,
            phases: 3,
            alpha: 0.05,
            lambda: 0.05,
            clock: ExplorationClock::StepRollouts,
            variance: VarianceEstimate::Sample,
        }
    }
}

impl XrpoConfig {
    /// `n_base`, resolving the default `max(2, n_fixed / 4)`.
    pub fn n_base(&self) -> usize {
        self.n_base.unwrap_or(2.max(self.n_fixed / 4))
    }

    /// `n_max`, resolving the default `4 · n_fixed`.
    pub fn n_max(&self) -> usize {
        self.n_max.unwrap_or(self.n_fixed.saturating_mul(4))
    }

    /// The phase plan of one step under this config.
    ///
    /// # Errors
    /// As [`XrpoConfig::validate`].
    pub fn plan(&self) -> Result<PhasePlan, Error> {
        self.validate()?;
        PhasePlan::new(
            StepBudget::PerPrompt(self.n_fixed),
            self.n_base(),
            self.phases,
            self.n_max(),
        )
    }

    /// Checks every field against its documented range.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first offending field.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field, value: String, reason| {
            Err(Error::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        let (n_base, n_max) = (self.n_base(), self.n_max());
        if self.n_fixed == 0 {
            return bad("n_fixed", "0".into(), "must be at least 1");
        }
        if n_base < 2 {
            return bad(
                "n_base",
                n_base.to_string(),
                "must be at least 2 (the sample std and t quantile need two rewards)",
            );
        }
        if n_base > self.n_fixed {
            return bad(
                "n_base",
                n_base.to_string(),
                "must not exceed n_fixed (the step budget n_fixed·|Q| must pay for phase 1)",
            );
        }
        if n_max < n_base {
            return bad("n_max", n_max.to_string(), "must be at least n_base");
        }
        if n_max > MAX_N_MAX {
            return bad("n_max", n_max.to_string(), "must be at most 65536");
        }
        if self.phases < 2 {
            return bad(
                "phases",
                self.phases.to_string(),
                "must be at least 2 (with one phase there is nothing to allocate; use FixedAllocator for GRPO)",
            );
        }
        if !(crate::t_interval::MIN_ALPHA..1.0).contains(&self.alpha) {
            return bad(
                "alpha",
                self.alpha.to_string(),
                "must lie in [1e-12, 1) (smaller values leave the t quantile without digits)",
            );
        }
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return bad("lambda", self.lambda.to_string(), "must be finite and >= 0");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec() {
        let c = XrpoConfig::default();
        assert_eq!((c.n_fixed, c.n_base(), c.n_max(), c.phases), (16, 4, 64, 3));
        assert_eq!((c.alpha, c.lambda), (0.05, 0.05));
        assert_eq!(c.clock, ExplorationClock::StepRollouts);
        c.validate().unwrap();
        let small = XrpoConfig {
            n_fixed: 4,
            ..XrpoConfig::default()
        };
        assert_eq!(small.n_base(), 2);
    }

    #[test]
    fn default_round_trips_through_toml_and_json() {
        let c = XrpoConfig::default();
        let toml_text = toml::to_string(&c).unwrap();
        assert_eq!(toml::from_str::<XrpoConfig>(&toml_text).unwrap(), c);
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<XrpoConfig>(&json).unwrap(), c);
        // An empty document is the default.
        assert_eq!(toml::from_str::<XrpoConfig>("").unwrap(), c);
        let custom = XrpoConfig {
            n_base: Some(3),
            n_max: Some(40),
            clock: ExplorationClock::TrainingSteps,
            ..c
        };
        let toml_text = toml::to_string(&custom).unwrap();
        assert_eq!(toml::from_str::<XrpoConfig>(&toml_text).unwrap(), custom);
    }

    #[test]
    fn unknown_keys_fail() {
        let err = toml::from_str::<XrpoConfig>("lamda = 0.1").unwrap_err();
        assert!(err.to_string().contains("lamda"), "{err}");
        assert!(serde_json::from_str::<XrpoConfig>(r#"{"clock": "wallclock"}"#).is_err());
    }

    fn field_of(c: XrpoConfig) -> &'static str {
        match c.validate() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn validation_names_the_field() {
        let d = XrpoConfig::default;
        assert_eq!(field_of(XrpoConfig { n_fixed: 0, ..d() }), "n_fixed");
        assert_eq!(
            field_of(XrpoConfig {
                n_base: Some(1),
                ..d()
            }),
            "n_base"
        );
        assert_eq!(
            field_of(XrpoConfig {
                n_base: Some(17),
                ..d()
            }),
            "n_base"
        );
        assert_eq!(
            field_of(XrpoConfig {
                n_max: Some(3),
                ..d()
            }),
            "n_max"
        );
        assert_eq!(
            field_of(XrpoConfig {
                n_max: Some(1 << 20),
                ..d()
            }),
            "n_max"
        );
        assert_eq!(field_of(XrpoConfig { phases: 1, ..d() }), "phases");
        assert_eq!(field_of(XrpoConfig { alpha: 0.0, ..d() }), "alpha");
        assert_eq!(
            field_of(XrpoConfig {
                alpha: 1e-13,
                ..d()
            }),
            "alpha"
        );
        assert_eq!(field_of(XrpoConfig { alpha: 1.0, ..d() }), "alpha");
        assert_eq!(
            field_of(XrpoConfig {
                alpha: f64::NAN,
                ..d()
            }),
            "alpha"
        );
        assert_eq!(
            field_of(XrpoConfig {
                lambda: -0.1,
                ..d()
            }),
            "lambda"
        );
        assert_eq!(
            field_of(XrpoConfig {
                lambda: f64::INFINITY,
                ..d()
            }),
            "lambda"
        );
    }
}
