//! The phased plan of one step (phase 1 = base allocation, phases 2..=P = the rest of
//! the budget) and a driver that runs it against any [`RolloutAllocator`].

use crate::{Error, PromptStats, RolloutAllocator};

/// The rollout budget `B` of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepBudget {
    /// `B = n · |Q|`: the same total as a GRPO baseline with group size `n` (spec default,
    /// `n = n_fixed`).
    PerPrompt(usize),
    /// A fixed total `B`, whatever the number of prompts.
    Total(usize),
}

/// How one step's rollout budget is spent: phase 1 gives every prompt `n_base`; the rest
/// is split evenly over phases `2..=P` (leftover units go to the earliest phases); no
/// prompt gets more than `n_max` rollouts in the step.
///
/// ```
/// use xrpo_alloc::{PhasePlan, StepBudget};
/// // B = 16 · 10 = 160; phase 1: 4 · 10 = 40; remaining 120 over phases 2 and 3.
/// let plan = PhasePlan::new(StepBudget::PerPrompt(16), 4, 3, 64)?;
/// assert_eq!(plan.base_allocation(10), vec![4; 10]);
/// assert_eq!(plan.phase_budgets(10)?, vec![40, 60, 60]);
/// // B = 163 split as 40 + 62 + 61: the odd unit goes to the earlier phase.
/// let plan = PhasePlan::new(StepBudget::Total(163), 4, 3, 64)?;
/// assert_eq!(plan.phase_budgets(10)?, vec![40, 62, 61]);
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhasePlan {
    budget: StepBudget,
    n_base: usize,
    phases: usize,
    n_max: usize,
}

impl PhasePlan {
    /// A plan with step budget `budget`, `n_base` rollouts per prompt in phase 1, `phases`
    /// phases in all (`P ≥ 1`) and per-prompt cap `n_max`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `n_base == 0`, `phases == 0` or `n_max < n_base`.
    pub fn new(
        budget: StepBudget,
        n_base: usize,
        phases: usize,
        n_max: usize,
    ) -> Result<Self, Error> {
        let bad = |field, value: usize, reason| Error::InvalidConfig {
            field,
            value: value.to_string(),
            reason,
        };
        if n_base == 0 {
            return Err(bad("n_base", n_base, "must be at least 1"));
        }
        if phases == 0 {
            return Err(bad("phases", phases, "must be at least 1"));
        }
        if n_max < n_base {
            return Err(bad("n_max", n_max, "must be at least n_base"));
        }
        Ok(Self {
            budget,
            n_base,
            phases,
            n_max,
        })
    }

    /// Rollouts every prompt gets in phase 1.
    pub fn n_base(&self) -> usize {
        self.n_base
    }

    /// Number of phases `P` (phase 1 included).
    pub fn phases(&self) -> usize {
        self.phases
    }

    /// Per-prompt cap on rollouts within a step.
    pub fn n_max(&self) -> usize {
        self.n_max
    }

    /// The step budget as configured.
    pub fn budget(&self) -> StepBudget {
        self.budget
    }

    /// Phase 1: `n_base` rollouts for each of `num_prompts` prompts.
    pub fn base_allocation(&self, num_prompts: usize) -> Vec<usize> {
        vec![self.n_base; num_prompts]
    }

    /// The step budget `B` for `num_prompts` prompts.
    pub fn step_budget(&self, num_prompts: usize) -> usize {
        match self.budget {
            StepBudget::PerPrompt(n) => n.saturating_mul(num_prompts),
            StepBudget::Total(b) => b,
        }
    }

    /// Rollouts to hand out in each phase, `P` entries: entry 0 is phase 1
    /// (`n_base · |Q|`), entries `1..P` split the rest evenly, leftover units to the
    /// earliest phases. The entries sum to `B`. Caps are not applied here: when `B`
    /// exceeds `n_max · |Q|` the allocator grants less in the late phases.
    ///
    /// # Errors
    /// [`Error::BudgetTooSmall`] if `B < n_base · |Q|`; [`Error::UnspendableBudget`] if
    /// `P = 1` and `B > n_base · |Q|`.
    pub fn phase_budgets(&self, num_prompts: usize) -> Result<Vec<usize>, Error> {
        let budget = self.step_budget(num_prompts);
        let needed = self.n_base.saturating_mul(num_prompts);
        let remainder = budget.checked_sub(needed).ok_or(Error::BudgetTooSmall {
            budget,
            n_base: self.n_base,
            num_prompts,
            needed,
        })?;
        let later = self.phases - 1;
        if later == 0 {
            if remainder > 0 {
                return Err(Error::UnspendableBudget { budget, remainder });
            }
            return Ok(vec![needed]);
        }
        let (share, leftover) = (remainder / later, remainder % later);
        let mut budgets = Vec::with_capacity(self.phases);
        budgets.push(needed);
        budgets.extend((0..later).map(|i| share + usize::from(i < leftover)));
        Ok(budgets)
    }

    /// Budget of phase `phase` (1-based, `1..=P`).
    ///
    /// # Errors
    /// [`Error::NoSuchPhase`], or as [`PhasePlan::phase_budgets`].
    pub fn phase_budget(&self, num_prompts: usize, phase: usize) -> Result<usize, Error> {
        if phase == 0 || phase > self.phases {
            return Err(Error::NoSuchPhase {
                phase,
                phases: self.phases,
            });
        }
        Ok(self.phase_budgets(num_prompts)?[phase - 1])
    }
}

/// One phase's request: how many rollouts to generate for each prompt now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// Phase number, 1-based (1 = base allocation).
    pub number: usize,
    /// Rollouts to generate per prompt in this phase (same order as the prompts).
    pub rollouts: Vec<usize>,
}

/// A step driven phase by phase (pull style): ask for the next [`Phase`], generate and
/// verify its rollouts, record the results, repeat. After the last phase
/// [`StepRun::next_phase`] returns `None` and calls
/// [`RolloutAllocator::finish_step`] once.
///
/// ```
/// use xrpo_alloc::{RolloutAllocator, StepRun, XrpoAllocator, XrpoConfig};
/// let mut alloc: Box<dyn RolloutAllocator> = Box::new(XrpoAllocator::new(XrpoConfig::default())?);
/// let mut step = StepRun::new(alloc.plan(), 3)?;
/// while let Some(phase) = step.next_phase(alloc.as_mut())? {
///     for (q, &k) in phase.rollouts.iter().enumerate() {
///         for i in 0..k {
///             // Generate and verify here; prompt 0 is solved every other time.
///             let reward = if q == 0 { (i % 2) as f64 } else { 0.0 };
///             step.record(q, Some(reward))?;
///         }
///     }
/// }
/// assert_eq!(step.requested().iter().sum::<usize>(), 16 * 3);
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StepRun {
    plan: PhasePlan,
    budgets: Vec<usize>,
    stats: Vec<PromptStats>,
    requested: Vec<usize>,
    next: usize,
    finished: bool,
}

impl StepRun {
    /// Starts a step over `num_prompts` prompts.
    ///
    /// # Errors
    /// As [`PhasePlan::phase_budgets`].
    pub fn new(plan: PhasePlan, num_prompts: usize) -> Result<Self, Error> {
        let budgets = plan.phase_budgets(num_prompts)?;
        Ok(Self {
            plan,
            budgets,
            stats: vec![PromptStats::new(); num_prompts],
            requested: vec![0; num_prompts],
            next: 1,
            finished: false,
        })
    }

    /// The next phase's request, or `None` once all `P` phases were handed out. Phase 1
    /// is the plan's base allocation; later phases ask `allocator` to spend their budget.
    ///
    /// # Errors
    /// [`Error::PhaseIncomplete`] if a rollout of an earlier phase was not recorded;
    /// whatever `allocator.allocate` returns.
    pub fn next_phase(
        &mut self,
        allocator: &mut dyn RolloutAllocator,
    ) -> Result<Option<Phase>, Error> {
        for (prompt, (s, &requested)) in self.stats.iter().zip(&self.requested).enumerate() {
            if s.rollouts() != requested {
                return Err(Error::PhaseIncomplete {
                    prompt,
                    requested,
                    recorded: s.rollouts(),
                });
            }
        }
        if self.next > self.plan.phases() {
            if !self.finished {
                self.finished = true;
                allocator.finish_step();
            }
            return Ok(None);
        }
        let number = self.next;
        let rollouts = if number == 1 {
            self.plan.base_allocation(self.stats.len())
        } else {
            let grants = allocator.allocate(&self.stats, self.budgets[number - 1])?;
            if grants.len() != self.stats.len() {
                return Err(Error::WrongPromptCount {
                    expected: self.stats.len(),
                    got: grants.len(),
                });
            }
            grants
        };
        for (r, k) in self.requested.iter_mut().zip(&rollouts) {
            *r += k;
        }
        self.next += 1;
        Ok(Some(Phase { number, rollouts }))
    }

    /// Records one rollout of prompt `prompt`: `Some(reward)` when scored, `None` when
    /// the verifier could not score it (see [`PromptStats::record_unscored`]).
    ///
    /// # Errors
    /// [`Error::PromptOutOfRange`]; [`Error::NonFiniteReward`] for NaN or infinity.
    pub fn record(&mut self, prompt: usize, reward: Option<f64>) -> Result<(), Error> {
        let num_prompts = self.stats.len();
        let stats = self.stats.get_mut(prompt).ok_or(Error::PromptOutOfRange {
            index: prompt,
            num_prompts,
        })?;
        match reward {
            Some(r) => stats.push(r).map_err(|e| match e {
                Error::NonFiniteReward {
                    position, value, ..
                } => Error::NonFiniteReward {
                    prompt,
                    position,
                    value,
                },
                other => other,
            }),
            None => {
                stats.record_unscored();
                Ok(())
            }
        }
    }

    /// Per-prompt statistics of everything recorded so far.
    pub fn stats(&self) -> &[PromptStats] {
        &self.stats
    }

    /// Rollouts requested per prompt so far in this step.
    pub fn requested(&self) -> &[usize] {
        &self.requested
    }

    /// The plan this step follows.
    pub fn plan(&self) -> &PhasePlan {
        &self.plan
    }
}

/// What a whole step produced: per-prompt statistics and per-phase requests.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    /// Final statistics per prompt.
    pub stats: Vec<PromptStats>,
    /// Each phase's per-prompt request, phase 1 first.
    pub phases: Vec<Vec<usize>>,
    /// Rollouts per prompt over the whole step.
    pub rollouts: Vec<usize>,
}

/// Runs a whole phased step (push style): calls `rollouts(phase)` for every phase, which
/// must return, per prompt, exactly `phase.rollouts[q]` results (`Some(reward)` or
/// `None` for unscored). Calls [`RolloutAllocator::finish_step`] at the end.
///
/// ```
/// use xrpo_alloc::{run_step, FixedAllocator, RolloutAllocator};
/// let mut grpo: Box<dyn RolloutAllocator> = Box::new(FixedAllocator::new(8)?);
/// let out = run_step(grpo.as_mut(), 2, |phase| {
///     Ok::<_, xrpo_alloc::Error>(phase.rollouts.iter().map(|&k| vec![Some(1.0); k]).collect())
/// })?;
/// assert_eq!(out.rollouts, vec![8, 8]);
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
///
/// # Errors
/// Whatever `rollouts` returns; the crate's [`Error`] converted into `E` (e.g.
/// [`Error::PhaseIncomplete`] when a prompt got the wrong number of results).
pub fn run_step<E, F>(
    allocator: &mut dyn RolloutAllocator,
    num_prompts: usize,
    mut rollouts: F,
) -> Result<StepOutcome, E>
where
    E: From<Error>,
    F: FnMut(&Phase) -> Result<Vec<Vec<Option<f64>>>, E>,
{
    let mut step = StepRun::new(allocator.plan(), num_prompts)?;
    let mut phases = Vec::new();
    while let Some(phase) = step.next_phase(allocator)? {
        let results = rollouts(&phase)?;
        if results.len() != num_prompts {
            return Err(Error::WrongPromptCount {
                expected: num_prompts,
                got: results.len(),
            }
            .into());
        }
        for (q, rewards) in results.into_iter().enumerate() {
            for r in rewards {
                step.record(q, r)?;
            }
        }
        phases.push(phase.rollouts);
    }
    Ok(StepOutcome {
        stats: step.stats().to_vec(),
        rollouts: step.requested().to_vec(),
        phases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_split_with_leftover_first() {
        let plan = PhasePlan::new(StepBudget::Total(4 * 3 + 7), 4, 4, 64).unwrap();
        // Remainder 7 over 3 later phases: 3, 2, 2.
        assert_eq!(plan.phase_budgets(3).unwrap(), vec![12, 3, 2, 2]);
        assert_eq!(plan.phase_budget(3, 2).unwrap(), 3);
        assert!(matches!(
            plan.phase_budget(3, 5),
            Err(Error::NoSuchPhase {
                phase: 5,
                phases: 4
            })
        ));
        assert!(matches!(
            plan.phase_budget(3, 0),
            Err(Error::NoSuchPhase { .. })
        ));
    }

    #[test]
    fn budget_errors() {
        let plan = PhasePlan::new(StepBudget::Total(10), 4, 3, 64).unwrap();
        assert!(matches!(
            plan.phase_budgets(3),
            Err(Error::BudgetTooSmall { needed: 12, .. })
        ));
        let one = PhasePlan::new(StepBudget::PerPrompt(8), 4, 1, 64).unwrap();
        assert!(matches!(
            one.phase_budgets(2),
            Err(Error::UnspendableBudget { remainder: 8, .. })
        ));
        assert!(PhasePlan::new(StepBudget::Total(1), 0, 3, 4).is_err());
        assert!(PhasePlan::new(StepBudget::Total(1), 2, 0, 4).is_err());
        assert!(PhasePlan::new(StepBudget::Total(1), 5, 2, 4).is_err());
    }

    #[test]
    fn zero_prompts_is_an_empty_plan() {
        let plan = PhasePlan::new(StepBudget::PerPrompt(16), 4, 3, 64).unwrap();
        assert_eq!(plan.phase_budgets(0).unwrap(), vec![0, 0, 0]);
    }
}
