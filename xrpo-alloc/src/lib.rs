//! Rollout allocation for GRPO-style RL: decides how many rollouts each prompt of a
//! training step gets (XRPO spec §1, arXiv 2510.06672).
//!
//! # Roles
//! - [`RolloutAllocator`]: the trait a trainer calls. Object-safe, so
//!   `Box<dyn RolloutAllocator>` works; the contract is on the trait.
//! - [`FixedAllocator`]: GRPO's baseline, `n` rollouts per prompt in one phase.
//! - [`XrpoAllocator`]: XRPO's hierarchical allocation: `n_base` per prompt, then the rest
//!   of the budget one rollout at a time by priority `Π_q = Δ̂_q + φ_q`, configured by
//!   [`XrpoConfig`] (optionally with a Beta-posterior spread, [`VarianceEstimate`]).
//! - The rest of the family, on the same phase plan and contract:
//!   [`UniformPhasedAllocator`] (phases without priority, the ablation), [`DapoFilter`]
//!   (DAPO's dynamic sampling; reports groups to drop via
//!   [`RolloutAllocator::groups_to_drop`]), [`ReinforceAda`] (rounds until both outcomes
//!   are seen) and [`Knapsack`] (Knapsack-RL, exact maximisation of the summed group
//!   value).
//! - [`AllocConfig`]: one serde config (`kind = "xrpo" | "fixed" | …`) that builds any of
//!   them as a `Box<dyn RolloutAllocator>`.
//! - [`PromptStats`]: a prompt's scored-reward count, mean and sample std (incremental).
//! - [`PhasePlan`]: a step's budget split into phases and capped per prompt;
//!   [`StepRun`] / [`run_step`] drive a whole step against any allocator.
//! - [`AllocatorState`]: what an allocator carries across steps, for checkpoints.
//! - [`t_interval`] and [`priority`]: the formulas (`h_q`, `Δ̂_q`, `φ_q`, `Π_q`);
//!   [`posterior`]: the Jeffreys Beta posterior of a 0/1 success rate.
//!
//! # Example
//! ```
//! use xrpo_alloc::{PromptStats, RolloutAllocator, XrpoAllocator, XrpoConfig};
//!
//! let mut allocator: Box<dyn RolloutAllocator> =
//!     Box::new(XrpoAllocator::new(XrpoConfig::default())?);
//! let plan = allocator.plan();
//! // Phase 1: n_base = 4 rollouts for each of 3 prompts; generate and verify them …
//! assert_eq!(plan.base_allocation(3), vec![4, 4, 4]);
//! let stats = vec![
//!     PromptStats::from_rewards([0.0, 0.0, 0.0, 0.0])?, // never solved
//!     PromptStats::from_rewards([1.0, 0.0, 0.0, 1.0])?, // uncertain
//!     PromptStats::from_rewards([1.0, 1.0, 1.0, 0.0])?, // mostly solved
//! ];
//! // … then phases 2 and 3 share the rest of B = 16 · 3 = 48 rollouts.
//! let budgets = plan.phase_budgets(3)?;
//! assert_eq!(budgets, vec![12, 18, 18]);
//! let extra = allocator.allocate(&stats, budgets[1])?;
//! assert_eq!(extra.iter().sum::<usize>(), 18);
//! assert!(extra[1] > extra[0]); // the uncertain prompt gets more than the hopeless one
//! # Ok::<(), xrpo_alloc::Error>(())
//! ```
//!
//! # Crate features
//! - `testkit`: exports the `testkit` module: proptest strategies and the allocator contract checks,
//!   so you can property-test your own [`RolloutAllocator`] against the same contract as
//!   ours.
#![deny(missing_docs)]

mod alloc_config;
mod config;
mod dapo;
mod error;
mod fixed;
mod knapsack;
mod plan;
pub mod posterior;
pub mod priority;
mod prompt_stats;
mod reinforce_ada;
mod state;
pub mod t_interval;
#[cfg(feature = "testkit")]
pub mod testkit;
mod uniform_phased;
mod water_fill;
mod xrpo;

pub use alloc_config::{AllocConfig, AllocKind};
pub use config::{ExplorationClock, MAX_N_MAX, VarianceEstimate, XrpoConfig};
pub use dapo::DapoFilter;
pub use error::Error;
pub use fixed::FixedAllocator;
pub use knapsack::{GroupWeight, Knapsack};
pub use plan::{Phase, PhasePlan, StepBudget, StepOutcome, StepRun, run_step};
pub use prompt_stats::PromptStats;
pub use reinforce_ada::ReinforceAda;
pub use state::AllocatorState;
pub use uniform_phased::UniformPhasedAllocator;
pub use xrpo::{Allocation, XrpoAllocator};

/// Decides how many more rollouts each prompt of a step gets.
///
/// A step runs in phases ([`RolloutAllocator::plan`]): phase 1 is the plan's
/// [`PhasePlan::base_allocation`]; for each later phase the trainer passes the current
/// statistics of every prompt and that phase's budget to
/// [`RolloutAllocator::allocate`]. [`run_step`] and [`StepRun`] do this bookkeeping.
///
/// # Contract (checked by the `testkit` feature's conformance suite)
/// - The result has one entry per prompt, in the order of `stats`.
/// - Grants sum to `budget`, unless the caps bind: then to the most the caps allow,
///   `Σ_q max(0, n_max − stats[q].rollouts())`. A prompt may get 0.
/// - No prompt is pushed past the plan's `n_max` (counting its
///   [`PromptStats::rollouts`]); a prompt already at or over the cap gets 0.
/// - `budget = 0` gives all zeros; no prompts gives an empty vector.
/// - Deterministic: the same stats, budget and state give the same grants; `allocate`
///   does not change state (only [`RolloutAllocator::finish_step`] and
///   [`RolloutAllocator::restore`] do).
/// - Every prompt is "new" to `allocate`: the stats are the whole truth, there is no
///   registration of prompts. A prompt with no rollouts at all is legal input.
/// - Missing rewards (responses that could not be verified) are either left out of the
///   stats or recorded with [`PromptStats::record_unscored`]; they are never a 0 reward.
/// - Errors are for impossible requests (e.g. bad stats), never for a budget the caps
///   cannot absorb.
pub trait RolloutAllocator {
    /// A short stable name (used in [`AllocatorState`]).
    fn name(&self) -> &str;

    /// The phase plan of one step.
    fn plan(&self) -> PhasePlan;

    /// Extra rollouts per prompt for one phase with `budget` rollouts to hand out.
    ///
    /// # Errors
    /// Implementation-defined, for input it cannot allocate over.
    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, Error>;

    /// Marks the end of a training step (advances any cross-step state). [`run_step`] and
    /// [`StepRun`] call it after the last phase; call it yourself if you call
    /// [`RolloutAllocator::allocate`] directly.
    fn finish_step(&mut self) {}

    /// The state to checkpoint.
    fn state(&self) -> AllocatorState {
        AllocatorState::new(self.name(), 0)
    }

    /// Restores a checkpointed state.
    ///
    /// # Errors
    /// [`Error::IncompatibleState`] for another allocator's or a newer state.
    fn restore(&mut self, state: &AllocatorState) -> Result<(), Error> {
        state.check(self.name())
    }

    /// Indices of the groups this allocator's method drops from the policy update, given
    /// a step's final statistics (e.g. [`DapoFilter`] drops the groups whose rewards all
    /// agree). A trainer that honours it trains only on the other groups. Default: none.
    fn groups_to_drop(&self, stats: &[PromptStats]) -> Vec<usize> {
        let _ = stats;
        Vec::new()
    }
}

impl<A: RolloutAllocator + ?Sized> RolloutAllocator for Box<A> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn plan(&self) -> PhasePlan {
        (**self).plan()
    }
    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, Error> {
        (**self).allocate(stats, budget)
    }
    fn finish_step(&mut self) {
        (**self).finish_step()
    }
    fn state(&self) -> AllocatorState {
        (**self).state()
    }
    fn restore(&mut self, state: &AllocatorState) -> Result<(), Error> {
        (**self).restore(state)
    }
    fn groups_to_drop(&self, stats: &[PromptStats]) -> Vec<usize> {
        (**self).groups_to_drop(stats)
    }
}
