//! [`DapoFilter`]: DAPO's dynamic sampling as an allocator.

use crate::posterior::is_uniform;
use crate::state::{StepCount, phased_allocator_methods};
use crate::water_fill::fill_fewest_first;
use crate::{Error, PhasePlan, PromptStats, RolloutAllocator};

/// DAPO's dynamic sampling (Yu et al., "DAPO: An Open-Source LLM Reinforcement Learning
/// System at Scale", arXiv 2503.14476, §3.2 "Dynamic Sampling"; verl's
/// `algorithm.filter_groups`) recast for a fixed prompt batch and budget.
///
/// DAPO over-samples prompts, drops every group whose rewards all agree (accuracy 0 or
/// 1: zero advantage, no gradient) and samples more prompts until the batch is full. With
/// the prompts of a step fixed, the same idea becomes: in each later phase, prompts whose
/// rollouts so far all agree get the budget first, round-robin (fewest rollouts first,
/// ties to the lowest index), until they disagree or reach `n_max`; budget left once
/// every such prompt is capped goes round-robin to all prompts, so the phase spends what
/// the contract asks. Groups still uniform at the end of the step are reported by
/// [`RolloutAllocator::groups_to_drop`] (equivalently [`DapoFilter::uniform_groups`]) so
/// the trainer can drop them from the update, as DAPO does.
///
/// What it changes against [`crate::XrpoAllocator`]: no interval, no bonus; a prompt that
/// already has both outcomes gets nothing until every uniform prompt is capped.
///
/// ```
/// use xrpo_alloc::{DapoFilter, PromptStats, RolloutAllocator, XrpoConfig};
/// let mut dapo = DapoFilter::new(XrpoConfig::default().plan()?);
/// let stats = [
///     PromptStats::from_rewards([0.0; 4])?,               // all wrong so far
///     PromptStats::from_rewards([1.0, 0.0, 1.0, 0.0])?,   // already informative
///     PromptStats::from_rewards([1.0; 4])?,               // all right so far
/// ];
/// assert_eq!(dapo.allocate(&stats, 6)?, vec![3, 0, 3]);
/// assert_eq!(dapo.groups_to_drop(&stats), vec![0, 2]);
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DapoFilter {
    plan: PhasePlan,
    steps: StepCount,
}

impl DapoFilter {
    /// The allocator's name in [`crate::AllocatorState`].
    pub const NAME: &'static str = "dapo_filter";

    /// Uses `plan` (normally [`crate::XrpoConfig::plan`]).
    pub fn new(plan: PhasePlan) -> Self {
        Self {
            plan,
            steps: StepCount::default(),
        }
    }

    /// Indices of the prompts whose scored rewards all agree (or that have fewer than
    /// two): the groups DAPO's filter drops. Call it with a step's final statistics.
    pub fn uniform_groups(stats: &[PromptStats]) -> Vec<usize> {
        (0..stats.len())
            .filter(|&q| is_uniform(&stats[q]))
            .collect()
    }
}

impl RolloutAllocator for DapoFilter {
    phased_allocator_methods!();

    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, Error> {
        let n_max = self.plan.n_max();
        let mut grants = vec![0; stats.len()];
        let spent = fill_fewest_first(stats, &mut grants, |q| is_uniform(&stats[q]), n_max, budget);
        fill_fewest_first(stats, &mut grants, |_| true, n_max, budget - spent);
        Ok(grants)
    }

    fn groups_to_drop(&self, stats: &[PromptStats]) -> Vec<usize> {
        Self::uniform_groups(stats)
    }
}
