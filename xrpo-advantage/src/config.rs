//! [`AdvantageConfig`]: the serde configuration of the advantage step, validated once and
//! turned into a boxed shaper by [`AdvantageConfig::build`].

use serde::{Deserialize, Serialize};

use crate::error::non_negative;
use crate::{
    AdvantageShaper, ConfigError, DrGrpo, GRPO_STD_EPSILON, Grpo, KAPPA_CLIP, LAMBDA_NOVELTY,
    NoveltySharpening, Rloo, StdScale,
};

/// The base advantage estimator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimator {
    /// [`Grpo`]: group mean and std. Default.
    #[default]
    Grpo,
    /// [`DrGrpo`]: group mean, no std.
    DrGrpo,
    /// [`Rloo`]: leave-one-out mean.
    Rloo,
}

/// Configuration of the advantage step (spec §3). The default is the paper's XRPO:
/// GRPO with group std and ε = 1e-4, sharpened with λ_nov = 2.5, κ_clip = 0.5.
///
/// In TOML (e.g. an `[advantage]` table of a run config):
///
/// ```toml
/// estimator = "grpo"   # grpo | dr_grpo | rloo
/// scale = "group"      # group | batch | none (grpo only)
/// epsilon = 1e-4       # ε (grpo only)
/// [novelty]
/// enabled = true
/// lambda_novelty = 2.5
/// kappa_clip = 0.5
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdvantageConfig {
    /// Base estimator (`grpo`, `dr_grpo`, `rloo`). Default `grpo`.
    pub estimator: Estimator,
    /// Which std divides GRPO's centred rewards (`group`, `batch`, `none`). Default
    /// `group`. Used by `grpo` only; `dr_grpo` and `rloo` never divide by a std.
    pub scale: StdScale,
    /// ε, added to GRPO's std before dividing; reward units; finite, ≥ 0. Default 1e-4
    /// ([`GRPO_STD_EPSILON`]). Used by `grpo` only.
    pub epsilon: f64,
    /// Novelty sharpening on top of the base estimator.
    pub novelty: NoveltyConfig,
}

/// Configuration of XRPO's novelty sharpening (spec §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoveltyConfig {
    /// Whether to sharpen correct responses' advantages. Default `true` (XRPO); `false`
    /// gives the plain base estimator (GRPO ablation).
    pub enabled: bool,
    /// λ_nov: scale of the bonus λ_nov · (1 − η_i); advantage units; finite, ≥ 0.
    /// Default 2.5 ([`LAMBDA_NOVELTY`], paper value).
    pub lambda_novelty: f64,
    /// κ_clip: cap on the bonus as a fraction of A_i; dimensionless; finite, ≥ 0.
    /// Default 0.5 ([`KAPPA_CLIP`], paper value).
    pub kappa_clip: f64,
}

impl Default for AdvantageConfig {
    fn default() -> Self {
        Self {
            estimator: Estimator::Grpo,
            scale: StdScale::Group,
            epsilon: GRPO_STD_EPSILON,
            novelty: NoveltyConfig::default(),
        }
    }
}

impl Default for NoveltyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            lambda_novelty: LAMBDA_NOVELTY,
            kappa_clip: KAPPA_CLIP,
        }
    }
}

impl AdvantageConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`ConfigError::NotNonNegative`] naming the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        non_negative("epsilon", self.epsilon)?;
        non_negative("novelty.lambda_novelty", self.novelty.lambda_novelty)?;
        non_negative("novelty.kappa_clip", self.novelty.kappa_clip)?;
        Ok(())
    }

    /// Validates and builds the configured shaper.
    ///
    /// # Errors
    /// As [`AdvantageConfig::validate`].
    pub fn build(&self) -> Result<Box<dyn AdvantageShaper + Send + Sync>, ConfigError> {
        self.validate()?;
        let base: Box<dyn AdvantageShaper + Send + Sync> = match self.estimator {
            Estimator::Grpo => Box::new(Grpo::new(self.scale, self.epsilon)?),
            Estimator::DrGrpo => Box::new(DrGrpo),
            Estimator::Rloo => Box::new(Rloo),
        };
        if !self.novelty.enabled {
            return Ok(base);
        }
        Ok(Box::new(NoveltySharpening::new(
            base,
            self.novelty.lambda_novelty,
            self.novelty.kappa_clip,
        )?))
    }
}
