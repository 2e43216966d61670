//! [`UniformPhasedAllocator`]: XRPO's phases without its priority (the trainer's XRPO
//! default; first written as the "no allocation" ablation).

use crate::state::{StepCount, phased_allocator_methods};
use crate::{Error, PhasePlan, PromptStats, RolloutAllocator};

/// XRPO's phase plan without its priority (not in the paper; our ablation, and since it
/// measured no worse, `xrpo-train`'s XRPO default): each later phase's budget is spread
/// evenly over the prompts, round-robin from the lowest index, skipping prompts at
/// `n_max`, instead of by priority `Π_q`. The phases remain because seeding acts between
/// them (an all-wrong prompt's later rollouts are seeded).
///
/// ```
/// use xrpo_alloc::{PromptStats, RolloutAllocator, UniformPhasedAllocator, XrpoConfig};
/// let mut a = UniformPhasedAllocator::new(XrpoConfig::default().plan()?);
/// let stats = [PromptStats::from_rewards([1.0; 4])?, PromptStats::from_rewards([1.0, 0.0, 1.0, 0.0])?];
/// assert_eq!(a.allocate(&stats, 5)?, vec![3, 2]); // the odd unit to the lower index
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct UniformPhasedAllocator {
    plan: PhasePlan,
    steps: StepCount,
}

impl UniformPhasedAllocator {
    /// The allocator's name in [`crate::AllocatorState`].
    pub const NAME: &'static str = "uniform_phased";

    /// Uses `plan` (normally [`crate::XrpoConfig::plan`]).
    pub fn new(plan: PhasePlan) -> Self {
        Self {
            plan,
            steps: StepCount::default(),
        }
    }
}

impl RolloutAllocator for UniformPhasedAllocator {
    phased_allocator_methods!();

    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, Error> {
        let n_max = self.plan.n_max();
        let mut grants = vec![0usize; stats.len()];
        let mut left = budget;
        // Passes over the prompts in index order, one rollout each; at most n_max passes.
        loop {
            let mut granted_any = false;
            for (g, s) in grants.iter_mut().zip(stats) {
                if left == 0 {
                    break;
                }
                if s.rollouts().saturating_add(*g) < n_max {
                    *g += 1;
                    left -= 1;
                    granted_any = true;
                }
            }
            if left == 0 || !granted_any {
                break;
            }
        }
        Ok(grants)
    }
}
