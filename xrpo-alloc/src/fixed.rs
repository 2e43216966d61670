//! [`FixedAllocator`]: GRPO's static allocation, `n` rollouts per prompt.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::{AllocatorState, Error, PhasePlan, PromptStats, RolloutAllocator, StepBudget};

/// GRPO's allocation: every prompt gets the same `n` rollouts, in a single phase.
///
/// Its plan has one phase (`n_base = n_max = n`). If [`RolloutAllocator::allocate`] is
/// called anyway (e.g. to replace rollouts that were lost), it tops prompts up towards `n`
/// one rollout at a time, fewest rollouts first, ties to the lowest index.
///
/// ```
/// use xrpo_alloc::{FixedAllocator, PromptStats, RolloutAllocator};
/// let mut grpo = FixedAllocator::new(16)?;
/// assert_eq!(grpo.plan().base_allocation(3), vec![16, 16, 16]);
/// let stats = [PromptStats::from_rewards([1.0; 14])?, PromptStats::from_rewards([0.0; 16])?];
/// assert_eq!(grpo.allocate(&stats, 5)?, vec![2, 0]); // only 2 fit under the cap
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedAllocator {
    n: usize,
    completed_steps: u64,
}

impl FixedAllocator {
    /// The allocator's name in [`AllocatorState`].
    pub const NAME: &'static str = "fixed";

    /// `n` rollouts per prompt (GRPO's group size).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] (field `n`) if `n == 0`.
    pub fn new(n: usize) -> Result<Self, Error> {
        if n == 0 {
            return Err(Error::InvalidConfig {
                field: "n",
                value: "0".into(),
                reason: "must be at least 1",
            });
        }
        Ok(Self {
            n,
            completed_steps: 0,
        })
    }

    /// The group size `n`.
    pub fn n(&self) -> usize {
        self.n
    }
}

impl RolloutAllocator for FixedAllocator {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn plan(&self) -> PhasePlan {
        // Invariant: n ≥ 1 (checked in `new`), so the plan's arguments are valid.
        PhasePlan::new(StepBudget::PerPrompt(self.n), self.n, 1, self.n)
            .expect("n >= 1 checked in new")
    }

    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, Error> {
        let mut grants = vec![0; stats.len()];
        // Min-heap on (rollouts, index) over prompts still under the cap.
        let mut heap: BinaryHeap<Reverse<(usize, usize)>> = stats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.rollouts() < self.n)
            .map(|(q, s)| Reverse((s.rollouts(), q)))
            .collect();
        for _ in 0..budget {
            let Some(Reverse((n, q))) = heap.pop() else {
                break;
            };
            grants[q] += 1;
            if n + 1 < self.n {
                heap.push(Reverse((n + 1, q)));
            }
        }
        Ok(grants)
    }

    fn finish_step(&mut self) {
        self.completed_steps += 1;
    }

    fn state(&self) -> AllocatorState {
        AllocatorState::new(Self::NAME, self.completed_steps)
    }

    fn restore(&mut self, state: &AllocatorState) -> Result<(), Error> {
        state.check(Self::NAME)?;
        self.completed_steps = state.completed_steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tops_up_fewest_first() {
        let mut a = FixedAllocator::new(4).unwrap();
        let stats = [
            PromptStats::from_rewards([1.0, 0.0, 1.0]).unwrap(),
            PromptStats::from_rewards([1.0]).unwrap(),
            PromptStats::new(),
        ];
        // Needs: 1, 3, 4. Budget 5: prompt 2 (0) → 1; prompts 1 and 2 tie at 1 → prompt 1 …
        assert_eq!(a.allocate(&stats, 5).unwrap(), vec![0, 2, 3]);
        assert_eq!(a.allocate(&stats, 100).unwrap(), vec![1, 3, 4]);
        assert_eq!(a.allocate(&stats, 0).unwrap(), vec![0, 0, 0]);
    }

    #[test]
    fn zero_group_size_is_rejected() {
        assert!(matches!(
            FixedAllocator::new(0),
            Err(Error::InvalidConfig { field: "n", .. })
        ));
    }

    #[test]
    fn state_round_trip_and_refusals() {
        let mut a = FixedAllocator::new(4).unwrap();
        a.finish_step();
        let s = a.state();
        let mut b = FixedAllocator::new(4).unwrap();
        b.restore(&s).unwrap();
        assert_eq!(b.state(), s);
        let foreign = AllocatorState::new("xrpo", 3);
        assert!(matches!(
            b.restore(&foreign),
            Err(Error::IncompatibleState { .. })
        ));
        let newer = AllocatorState { version: 99, ..s };
        assert!(matches!(
            b.restore(&newer),
            Err(Error::IncompatibleState { version: 99, .. })
        ));
    }
}
