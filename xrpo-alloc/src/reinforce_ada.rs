//! [`ReinforceAda`]: Reinforce-Ada's adaptive sampling in rounds.

use crate::state::{StepCount, phased_allocator_methods};
use crate::water_fill::fill_fewest_first;
use crate::{Error, PhasePlan, PromptStats, RolloutAllocator};

/// Slack when comparing fractional success counts `n · r̄` with the retirement target.
const COUNT_SLACK: f64 = 1e-9;

/// Reinforce-Ada's rule (Xiong et al., "Reinforce-Ada: An Adaptive Sampling Framework
/// for Reinforce-Style LLM Training", arXiv 2510.04996v1, its online successive
/// elimination; code at github.com/RLHFlow/Reinforce-Ada): sample the *active*
/// prompts in rounds and retire a prompt once it has at least `retire_after` successes and
/// `retire_after` failures, or at the cap.
///
/// Here one round is one phase: the phase budget goes round-robin over the active prompts
/// (fewest rollouts first, ties to the lowest index), never past `n_max`; budget left once
/// every active prompt is capped goes round-robin to all prompts. Successes are counted as
/// `k = n · r̄` (exact for 0/1 rewards; fractional for graded ones), and a prompt whose
/// rewards all agree is never retired.
///
/// `retire_after = 1` (default) is the rule "both a success and a failure"; its grants
/// then equal [`crate::DapoFilter`]'s, but it does not ask the trainer to drop groups. A
/// larger target, as in the paper's "balance" variant (half the group size of each
/// outcome), keeps sampling informative but lopsided prompts. Not implemented here: the
/// paper's down-sampling of each group to a fixed size with both outcomes, and its global
/// baseline (advantage-side choices, not allocation).
///
/// ```
/// use xrpo_alloc::{PromptStats, ReinforceAda, RolloutAllocator, XrpoConfig};
/// let plan = XrpoConfig::default().plan()?;
/// let stats = [
///     PromptStats::from_rewards([0.0; 4])?,             // active: no success yet
///     PromptStats::from_rewards([1.0, 0.0, 0.0, 0.0])?, // retired at 1, active at 2
///     PromptStats::from_rewards([1.0, 0.0, 1.0, 0.0])?, // retired at 1 and 2
/// ];
/// assert_eq!(ReinforceAda::new(plan.clone(), 1)?.allocate(&stats, 4)?, vec![4, 0, 0]);
/// assert_eq!(ReinforceAda::new(plan, 2)?.allocate(&stats, 4)?, vec![2, 2, 0]);
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReinforceAda {
    plan: PhasePlan,
    retire_after: usize,
    steps: StepCount,
}

impl ReinforceAda {
    /// The allocator's name in [`crate::AllocatorState`].
    pub const NAME: &'static str = "reinforce_ada";

    /// Uses `plan` (normally [`crate::XrpoConfig::plan`]); a prompt retires with
    /// `retire_after` successes and as many failures.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] (field `retire_after`) if `retire_after == 0`.
    pub fn new(plan: PhasePlan, retire_after: usize) -> Result<Self, Error> {
        if retire_after == 0 {
            return Err(Error::InvalidConfig {
                field: "retire_after",
                value: "0".into(),
                reason: "must be at least 1 (successes and failures a prompt needs to retire)",
            });
        }
        Ok(Self {
            plan,
            retire_after,
            steps: StepCount::default(),
        })
    }

    /// Whether `stats` has `retire_after` successes and failures (and is not uniform).
    pub fn is_retired(&self, stats: &PromptStats) -> bool {
        let Some(s) = stats.sample_std() else {
            return false;
        };
        let n = stats.count() as f64;
        let successes = n * stats.mean();
        let target = self.retire_after as f64 - COUNT_SLACK;
        s > 0.0 && successes >= target && n - successes >= target
    }
}

impl RolloutAllocator for ReinforceAda {
    phased_allocator_methods!();

    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, Error> {
        let n_max = self.plan.n_max();
        let mut grants = vec![0; stats.len()];
        let active = |q: usize| !self.is_retired(&stats[q]);
        let spent = fill_fewest_first(stats, &mut grants, active, n_max, budget);
        fill_fewest_first(stats, &mut grants, |_| true, n_max, budget - spent);
        Ok(grants)
    }
}
