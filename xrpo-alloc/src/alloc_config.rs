//! [`AllocConfig`]: one config that selects and parameterises any built-in allocator.

use serde::{Deserialize, Serialize};

use crate::{
    DapoFilter, Error, ExplorationClock, FixedAllocator, GroupWeight, Knapsack, ReinforceAda,
    RolloutAllocator, UniformPhasedAllocator, VarianceEstimate, XrpoAllocator, XrpoConfig,
};

/// Which allocator an [`AllocConfig`] builds (`kind = "…"` in TOML/JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocKind {
    /// GRPO's `n_fixed` rollouts per prompt in one phase ([`FixedAllocator`]).
    Fixed,
    /// XRPO's priority `Π_q = Δ̂_q + φ_q` ([`XrpoAllocator`], spec §1). The default.
    #[default]
    Xrpo,
    /// XRPO's phases, budget spread evenly ([`UniformPhasedAllocator`], the ablation).
    UniformPhased,
    /// DAPO's dynamic sampling: uniform groups first, reported for dropping
    /// ([`DapoFilter`]).
    DapoFilter,
    /// Reinforce-Ada: active prompts in rounds, retired once both outcomes are seen
    /// ([`ReinforceAda`]).
    ReinforceAda,
    /// Knapsack-RL: exact maximisation of the summed group value ([`Knapsack`]).
    Knapsack,
}

impl AllocKind {
    /// Every kind, in declaration order (for CLIs and benchmark arms).
    pub const ALL: [AllocKind; 6] = [
        Self::Fixed,
        Self::Xrpo,
        Self::UniformPhased,
        Self::DapoFilter,
        Self::ReinforceAda,
        Self::Knapsack,
    ];

    /// The kind's spelling in TOML/JSON and its allocator's [`RolloutAllocator::name`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => FixedAllocator::NAME,
            Self::Xrpo => XrpoAllocator::NAME,
            Self::UniformPhased => UniformPhasedAllocator::NAME,
            Self::DapoFilter => DapoFilter::NAME,
            Self::ReinforceAda => ReinforceAda::NAME,
            Self::Knapsack => Knapsack::NAME,
        }
    }
}

impl std::fmt::Display for AllocKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AllocKind {
    type Err = Error;

    /// Parses the TOML/JSON spelling (`"xrpo"`, `"dapo_filter"`, …).
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::InvalidConfig {
                field: "kind",
                value: s.to_owned(),
                reason: "must be one of fixed, xrpo, uniform_phased, dapo_filter, reinforce_ada, knapsack",
            })
    }
}

/// Selects and configures one of the built-in allocators. A superset of [`XrpoConfig`]:
/// every `XrpoConfig` document (e.g. `configs/alloc.default.toml`) is a valid
/// `AllocConfig` with `kind = "xrpo"`. Unknown keys are rejected; a field the chosen kind
/// does not use is ignored (each field says which kinds use it), so switching `kind` on
/// an existing config works. Validated once, by [`AllocConfig::validate`] /
/// [`AllocConfig::build`].
///
/// ```
/// use xrpo_alloc::{AllocConfig, AllocKind};
/// let cfg: AllocConfig = toml::from_str("kind = \"knapsack\"\nn_fixed = 8\nweight = \"info_gain\"").unwrap();
/// assert_eq!(cfg.kind, AllocKind::Knapsack);
/// let allocator = cfg.build()?;
/// assert_eq!(allocator.name(), "knapsack");
/// assert_eq!(allocator.plan().phase_budgets(64)?, vec![128, 192, 192]); // n_base = 2
/// assert!(toml::from_str::<AllocConfig>("kind = \"dapo\"").is_err());
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AllocConfig {
    /// Which allocator to build. Default `xrpo`.
    pub kind: AllocKind,
    /// `n_fixed`: the GRPO group size; the step budget is `B = n_fixed · |Q|` for every
    /// kind (equal budgets). For `fixed` it is the group size itself. Default 16.
    pub n_fixed: usize,
    /// Rollouts per prompt in phase 1. Default `max(2, n_fixed / 4)`; must be ≥ 2 and ≤
    /// `n_fixed`. All kinds but `fixed`.
    pub n_base: Option<usize>,
    /// Cap on a prompt's rollouts per step. Default `4 · n_fixed`. All kinds but `fixed`.
    pub n_max: Option<usize>,
    /// Phases per step `P ≥ 2`. Default 3. All kinds but `fixed`.
    pub phases: usize,
    /// `α` of the t interval. Default 0.05. `xrpo` only.
    pub alpha: f64,
    /// `λ` of the bonus `φ_q`. Default 0.05. `xrpo` only.
    pub lambda: f64,
    /// What `T` counts in `φ_q`. Default `step_rollouts`. `xrpo` only.
    pub clock: ExplorationClock,
    /// The spread in `h_q`, `Δ̂_q`: `sample` (default) or `beta_posterior`. `xrpo` only.
    pub variance: VarianceEstimate,
    /// Successes and failures a prompt needs to retire. Default 1 (one of each).
    /// `reinforce_ada` only.
    pub retire_after: usize,
    /// The group weight in the value: `std` (default) or `info_gain` (Knapsack-RL's).
    /// `knapsack` only.
    pub weight: GroupWeight,
}

impl Default for AllocConfig {
    fn default() -> Self {
        Self::from(XrpoConfig::default())
    }
}

impl From<XrpoConfig> for AllocConfig {
    /// `kind = "xrpo"` with `config`'s fields; the other kinds' fields at their defaults.
    fn from(config: XrpoConfig) -> Self {
        let XrpoConfig {
            n_fixed,
            n_base,
            n_max,
            phases,
            alpha,
            lambda,
            clock,
            variance,
        } = config;
        Self {
            kind: AllocKind::Xrpo,
            n_fixed,
            n_base,
            n_max,
            phases,
            alpha,
            lambda,
            clock,
            variance,
            retire_after: 1,
            weight: GroupWeight::Std,
        }
    }
}

impl AllocConfig {
    /// The [`XrpoConfig`] part (the shared phase fields and XRPO's own).
    pub fn xrpo_config(&self) -> XrpoConfig {
        XrpoConfig {
            n_fixed: self.n_fixed,
            n_base: self.n_base,
            n_max: self.n_max,
            phases: self.phases,
            alpha: self.alpha,
            lambda: self.lambda,
            clock: self.clock,
            variance: self.variance,
        }
    }

    /// Checks the fields the chosen kind uses against their documented ranges.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first offending field.
    pub fn validate(&self) -> Result<(), Error> {
        match self.kind {
            AllocKind::Fixed => FixedAllocator::new(self.n_fixed)
                .map(drop)
                .map_err(|e| match e {
                    // FixedAllocator names its group size `n`; here it is `n_fixed`.
                    Error::InvalidConfig { value, reason, .. } => Error::InvalidConfig {
                        field: "n_fixed",
                        value,
                        reason,
                    },
                    other => other,
                }),
            AllocKind::ReinforceAda => {
                self.xrpo_config().validate()?;
                ReinforceAda::new(self.xrpo_config().plan()?, self.retire_after).map(drop)
            }
            _ => self.xrpo_config().validate(),
        }
    }

    /// Validates, then builds the allocator `kind` names, at budget `n_fixed · |Q|`.
    ///
    /// # Errors
    /// As [`AllocConfig::validate`].
    pub fn build(&self) -> Result<Box<dyn RolloutAllocator + Send>, Error> {
        self.validate()?;
        let plan = || self.xrpo_config().plan();
        Ok(match self.kind {
            AllocKind::Fixed => Box::new(FixedAllocator::new(self.n_fixed)?),
            AllocKind::Xrpo => Box::new(XrpoAllocator::new(self.xrpo_config())?),
            AllocKind::UniformPhased => Box::new(UniformPhasedAllocator::new(plan()?)),
            AllocKind::DapoFilter => Box::new(DapoFilter::new(plan()?)),
            AllocKind::ReinforceAda => Box::new(ReinforceAda::new(plan()?, self.retire_after)?),
            AllocKind::Knapsack => Box::new(Knapsack::new(plan()?, self.weight)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_builds_and_names_itself() {
        for kind in AllocKind::ALL {
            let cfg = AllocConfig {
                kind,
                ..AllocConfig::default()
            };
            let a = cfg.build().unwrap();
            assert_eq!(a.name(), kind.as_str());
            assert_eq!(kind.as_str().parse::<AllocKind>().unwrap(), kind);
            // The TOML spelling is the name.
            let text = toml::to_string(&cfg).unwrap();
            assert!(text.contains(&format!("kind = \"{kind}\"")), "{text}");
            assert_eq!(toml::from_str::<AllocConfig>(&text).unwrap(), cfg);
        }
        assert!("dapo".parse::<AllocKind>().is_err());
    }

    #[test]
    fn xrpo_documents_are_alloc_configs() {
        let x = XrpoConfig {
            n_fixed: 8,
            lambda: 0.1,
            variance: VarianceEstimate::BetaPosterior,
            ..XrpoConfig::default()
        };
        let text = toml::to_string(&x).unwrap();
        let a: AllocConfig = toml::from_str(&text).unwrap();
        assert_eq!(a.kind, AllocKind::Xrpo);
        assert_eq!(a.xrpo_config(), x);
        assert_eq!(AllocConfig::from(x.clone()).xrpo_config(), x);
    }

    #[test]
    fn validation_names_the_field_of_the_kind() {
        let bad = |cfg: AllocConfig| match cfg.validate() {
            Err(Error::InvalidConfig { field, .. }) => field,
            other => panic!("expected InvalidConfig, got {other:?}"),
        };
        let d = AllocConfig::default;
        assert_eq!(
            bad(AllocConfig {
                kind: AllocKind::Fixed,
                n_fixed: 0,
                ..d()
            }),
            "n_fixed"
        );
        // `fixed` ignores the phase fields; n_fixed = 1 is a valid GRPO group.
        AllocConfig {
            kind: AllocKind::Fixed,
            n_fixed: 1,
            phases: 0,
            ..d()
        }
        .build()
        .unwrap();
        assert_eq!(
            bad(AllocConfig {
                kind: AllocKind::ReinforceAda,
                retire_after: 0,
                ..d()
            }),
            "retire_after"
        );
        // Fields of other kinds are ignored.
        AllocConfig {
            kind: AllocKind::Knapsack,
            retire_after: 0,
            ..d()
        }
        .build()
        .unwrap();
        assert_eq!(
            bad(AllocConfig {
                kind: AllocKind::DapoFilter,
                phases: 1,
                ..d()
            }),
            "phases"
        );
        assert!(toml::from_str::<AllocConfig>("kind = \"xrpo\"\nretire = 2").is_err());
    }
}
