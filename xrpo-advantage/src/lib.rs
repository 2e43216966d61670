//! Group-relative advantages for GRPO-style RL (XRPO spec §3): GRPO, Dr.GRPO and RLOO
//! baselines, and XRPO's novelty-aware sharpening of correct-but-unlikely responses.
//!
//! One job: turn the verified rewards of each prompt's group of responses (plus, for
//! XRPO, each response's mean token log-prob) into one advantage per response, and
//! report what happened to degenerate groups.
//!
//! # Roles
//! - [`Batch`] holds many groups flat (one array per field plus group offsets), built
//!   once per step from [`Group`]s, flat arrays, or a `[groups, n]` matrix. Rewards are
//!   [`Reward`] = `Option<f32>`: `None` is *missing* (could not be verified), which is
//!   excluded from the baseline and gets advantage 0.
//! - [`FlatBatch`] borrows the layout callers already hold (rewards as `f32` with NaN =
//!   missing, contiguous groups given by offsets, log-probs as `&[f32]`) for
//!   [`AdvantageShaper::shape_flat`], the fast path of the Python binding: no `Batch` is
//!   built, values are checked while they are read, and every shaper here gives the same
//!   numbers as through a [`Batch`].
//! - [`AdvantageShaper`] is the trait: [`Grpo`] (with [`StdScale`] and
//!   [`GRPO_STD_EPSILON`]), [`DrGrpo`], [`Rloo`], and the wrapper
//!   [`NoveltySharpening`] that sharpens any of them ([`Xrpo`] = sharpened GRPO).
//! - [`ShapingStats`] counts missing rewards, groups of fewer than two scored
//!   responses (advantage 0, never the raw score), zero-std groups
//!   (`frac_reward_zero_std`) and the novelty bonus, for the trainer's metrics.
//! - [`AdvantageConfig`] is the serde config; [`AdvantageConfig::build`] gives a
//!   `Box<dyn AdvantageShaper + Send + Sync>`.
//!
//! # Example
//!
//! ```
//! use ndarray::array;
//! use xrpo_advantage::{AdvantageShaper, Batch, Group, Xrpo};
//!
//! // Two prompts, four responses each. Rewards from the verifier (None = unverifiable),
//! // seq_logprob = mean token log-prob under the sampling policy.
//! let groups = [
//!     Group::new(vec![Some(1.0), Some(0.0), Some(1.0), Some(0.0)])?
//!         .with_seq_logprob(vec![-0.2, -0.4, -0.9, -0.5])?,
//!     Group::new(vec![Some(1.0), Some(1.0), Some(1.0), None])?
//!         .with_seq_logprob(vec![-0.3, -0.3, -0.3, -0.3])?,
//! ];
//! let batch = Batch::from_groups(&groups)?;
//! let shaped = Xrpo::paper().shape(&batch)?;
//!
//! // GRPO gives ±0.866 in group 0 (std 0.577); the unlikely correct answer (s = -0.9)
//! // gets a bonus, capped at κ_clip · A = 0.433.
//! let a = &shaped.advantages;
//! assert!(a[2] > a[0] && a[0] > 0.0);
//! assert!((a[2] - 1.5 * 0.866).abs() < 1e-3);
//! assert_eq!(a[1], a[3]); // incorrect responses keep A_i
//! // Group 1 is all correct: zero std, no signal, advantage exactly 0.
//! assert_eq!(a.slice(ndarray::s![4..]), array![0.0f32, 0.0, 0.0, 0.0]);
//! assert_eq!(shaped.stats.zero_std_groups, 1);
//! assert_eq!(shaped.stats.missing_rewards, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Divergences from TRL and verl
//! - ε = 1e-4 as in TRL (verl 1e-6, OpenRLHF 1e-9): [`GRPO_STD_EPSILON`], configurable.
//! - A group with fewer than two scored responses gets 0 and is counted
//!   ([`ShapingStats::undersized_groups`]); verl gives it the raw score (mean 0, std 1).
//! - A group of equal rewards gets exactly 0 (no ε-sized rounding residue).
//! - Missing rewards (`None`) are left out of the baseline like TRL's `None` rewards.
#![deny(missing_docs)]

mod baseline;
mod batch;
mod config;
mod error;
mod flat;
mod group_stats;
mod novelty;
mod shaping_stats;

use ndarray::Array1;

pub use baseline::{DrGrpo, GRPO_STD_EPSILON, Grpo, Rloo, StdScale};
pub use batch::{Batch, Group, Reward};
pub use config::{AdvantageConfig, Estimator, NoveltyConfig};
pub use error::{ConfigError, Error};
pub use flat::FlatBatch;
pub use novelty::{
    KAPPA_CLIP, LAMBDA_NOVELTY, NoveltySharpening, Xrpo, novelty_bonus, novelty_eta,
};
pub use shaping_stats::{NoveltyStats, ShapingStats};

/// Turns a batch of groups into one advantage per response.
///
/// Contract:
/// - `shape_into` writes every slot of `out` (`out.len() == batch.len()`, flat in the
///   batch's order) and returns counts of what it did; on `Err` the contents of `out`
///   are unspecified.
/// - A missing reward gets advantage 0 and is excluded from every baseline.
/// - Advantages are finite for every valid batch.
/// - Shaping is per group (except [`StdScale::Batch`], whose std is the batch's):
///   permuting the responses of a group permutes their advantages.
///
/// Object-safe: `Box<dyn AdvantageShaper>` works, and wrappers such as
/// [`NoveltySharpening`] compose over any shaper, boxed or not.
pub trait AdvantageShaper {
    /// Writes the advantages of `batch` into `out`.
    ///
    /// # Errors
    /// [`Error::OutputLength`] when `out` has the wrong length; a shaper may need a
    /// field the batch lacks ([`Error::MissingSeqLogprob`]).
    fn shape_into(&self, batch: &Batch, out: &mut [f32]) -> Result<ShapingStats, Error>;

    /// Writes the advantages of a borrowed flat batch into `out`: the same numbers and
    /// stats as [`AdvantageShaper::shape_into`] on [`FlatBatch::to_batch`], which is what
    /// this default does. [`Grpo`], [`DrGrpo`], [`Rloo`] and [`NoveltySharpening`]
    /// override it with loops over the flat slices that build nothing.
    ///
    /// # Errors
    /// As [`AdvantageShaper::shape_into`], plus the value checks of [`FlatBatch`]
    /// ([`Error::NonFiniteReward`], [`Error::NonFiniteLogprob`]).
    fn shape_flat(&self, batch: &FlatBatch<'_>, out: &mut [f32]) -> Result<ShapingStats, Error> {
        self.shape_into(&batch.to_batch()?, out)
    }

    /// Allocates the output and calls [`AdvantageShaper::shape_into`].
    ///
    /// # Errors
    /// As [`AdvantageShaper::shape_into`].
    fn shape(&self, batch: &Batch) -> Result<Advantages, Error> {
        let mut advantages = vec![0.0f32; batch.len()];
        let stats = self.shape_into(batch, &mut advantages)?;
        Ok(Advantages {
            advantages: Array1::from(advantages),
            stats,
        })
    }
}

impl<S: AdvantageShaper + ?Sized> AdvantageShaper for Box<S> {
    fn shape_into(&self, batch: &Batch, out: &mut [f32]) -> Result<ShapingStats, Error> {
        (**self).shape_into(batch, out)
    }

    fn shape_flat(&self, batch: &FlatBatch<'_>, out: &mut [f32]) -> Result<ShapingStats, Error> {
        (**self).shape_flat(batch, out)
    }
}

impl<S: AdvantageShaper + ?Sized> AdvantageShaper for &S {
    fn shape_into(&self, batch: &Batch, out: &mut [f32]) -> Result<ShapingStats, Error> {
        (**self).shape_into(batch, out)
    }

    fn shape_flat(&self, batch: &FlatBatch<'_>, out: &mut [f32]) -> Result<ShapingStats, Error> {
        (**self).shape_flat(batch, out)
    }
}

/// Advantages of a batch, flat in the batch's order, with the shaping report.
#[derive(Debug, Clone, PartialEq)]
pub struct Advantages {
    /// One advantage per response; group `g` is `batch.group_range(g)`.
    pub advantages: Array1<f32>,
    /// What the shaper did.
    pub stats: ShapingStats,
}
