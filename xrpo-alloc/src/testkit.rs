//! Proptest strategies and the [`RolloutAllocator`] contract as executable checks, so you
//! can property-test your own allocator against the contract ours pass (feature
//! `testkit`).
//!
//! ```
//! use xrpo_alloc::testkit::assert_conforms;
//! use xrpo_alloc::{FixedAllocator, RolloutAllocator};
//! // Runs every generic contract check on 32 random batches and budgets; panics with the
//! // minimal failing case if one fails.
//! assert_conforms(|| Box::new(FixedAllocator::new(8).unwrap()) as Box<dyn RolloutAllocator>, 32);
//! ```

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::{Error, PromptStats, RolloutAllocator, run_step};

/// A broken clause of the [`RolloutAllocator`] contract, with the evidence.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractViolation {
    /// Occurs when the result does not have one entry per prompt.
    #[error("allocate returned {got} entries for {expected} prompts")]
    WrongLength {
        /// Number of prompts.
        expected: usize,
        /// Entries returned.
        got: usize,
    },
    /// Occurs when the grants do not sum to `min(budget, what the caps allow)`.
    #[error("grants sum to {got}, expected {expected} (budget {budget}, cap room {room})")]
    WrongTotal {
        /// `min(budget, room)`.
        expected: usize,
        /// The sum of the grants.
        got: usize,
        /// The phase budget.
        budget: usize,
        /// `Σ max(0, n_max − rollouts)`.
        room: usize,
    },
    /// Occurs when a prompt ends a phase or step above the cap `n_max`.
    #[error("prompt {prompt}: {rollouts} rollouts exceed n_max = {n_max}")]
    CapExceeded {
        /// Index of the prompt.
        prompt: usize,
        /// Its rollouts after the grants.
        rollouts: usize,
        /// The cap.
        n_max: usize,
    },
    /// Occurs when a prompt ends a step with fewer than `n_base` rollouts.
    #[error("prompt {prompt}: {rollouts} rollouts in the step, fewer than n_base = {n_base}")]
    BelowBase {
        /// Index of the prompt.
        prompt: usize,
        /// Its rollouts in the step.
        rollouts: usize,
        /// The phase-1 allocation.
        n_base: usize,
    },
    /// Occurs when two identical calls give different grants.
    #[error("two identical calls gave {first:?} and then {second:?}")]
    NotDeterministic {
        /// Grants of the first call.
        first: Vec<usize>,
        /// Grants of the second call.
        second: Vec<usize>,
    },
    /// Occurs when `allocate` changed the allocator's checkpoint state.
    #[error("allocate changed the allocator state")]
    StateChanged,
    /// Occurs when prompts with equal statistics get grants more than 1 apart, or a later
    /// one gets more than an earlier one.
    #[error("prompts with equal statistics got {grants:?}")]
    Asymmetric {
        /// The grants.
        grants: Vec<usize>,
    },
    /// Occurs when, of two prompts with equal `n_q`, the one with larger `s_q` gets fewer.
    #[error(
        "prompt {larger} (s = {s_larger}) got {g_larger} < prompt {smaller} (s = {s_smaller}) got {g_smaller}"
    )]
    NotMonotoneInStd {
        /// Index of the prompt with the larger std.
        larger: usize,
        /// Its std.
        s_larger: f64,
        /// Its grants.
        g_larger: usize,
        /// Index of the prompt with the smaller std.
        smaller: usize,
        /// Its std.
        s_smaller: f64,
        /// Its grants.
        g_smaller: usize,
    },
    /// Occurs when the allocator returned an error on valid input.
    #[error("allocator error on valid input: {0}")]
    Allocator(#[from] Error),
}

/// Stats of a prompt with `n_range` binary (0/1) rewards.
pub fn binary_stats(
    n_range: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = PromptStats> {
    prop::collection::vec(any::<bool>(), n_range).prop_map(|rs| {
        // Invariant: 0.0 and 1.0 are finite, so `from_rewards` cannot fail.
        PromptStats::from_rewards(rs.into_iter().map(u8::from)).expect("finite rewards")
    })
}

/// Stats of a prompt with `n_range` graded rewards on the grid {0, 0.25, …, 1}.
pub fn graded_stats(
    n_range: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = PromptStats> {
    prop::collection::vec(0u8..=4, n_range).prop_map(|rs| {
        // Invariant: grid values are finite.
        PromptStats::from_rewards(rs.into_iter().map(|r| f64::from(r) / 4.0))
            .expect("finite rewards")
    })
}

/// Stats of any kind a trainer can hand over: binary or graded rewards, 0 to 20 of them,
/// sometimes with unscored rollouts.
pub fn any_stats() -> impl Strategy<Value = PromptStats> {
    (
        prop_oneof![binary_stats(0..=20), graded_stats(0..=20)],
        0usize..=2,
    )
        .prop_map(|(mut s, unscored)| {
            for _ in 0..unscored {
                s.record_unscored();
            }
            s
        })
}

/// A batch of up to `max_prompts` prompts' stats (possibly empty).
pub fn stats_batch(max_prompts: usize) -> impl Strategy<Value = Vec<PromptStats>> {
    prop::collection::vec(any_stats(), 0..=max_prompts)
}

/// Checks one `allocate` call against the contract: length, total, caps, determinism, no
/// state change. Returns the grants.
///
/// # Errors
/// The first [`ContractViolation`] found.
pub fn check_allocation(
    allocator: &mut dyn RolloutAllocator,
    stats: &[PromptStats],
    budget: usize,
) -> Result<Vec<usize>, ContractViolation> {
    let n_max = allocator.plan().n_max();
    let state_before = allocator.state();
    let grants = allocator.allocate(stats, budget)?;
    if grants.len() != stats.len() {
        return Err(ContractViolation::WrongLength {
            expected: stats.len(),
            got: grants.len(),
        });
    }
    for (prompt, (s, &g)) in stats.iter().zip(&grants).enumerate() {
        if g > 0 && s.rollouts() + g > n_max {
            return Err(ContractViolation::CapExceeded {
                prompt,
                rollouts: s.rollouts() + g,
                n_max,
            });
        }
    }
    let room: usize = stats
        .iter()
        .map(|s| n_max.saturating_sub(s.rollouts()))
        .sum();
    let expected = budget.min(room);
    let got = grants.iter().sum();
    if got != expected {
        return Err(ContractViolation::WrongTotal {
            expected,
            got,
            budget,
            room,
        });
    }
    let second = allocator.allocate(stats, budget)?;
    if second != grants {
        return Err(ContractViolation::NotDeterministic {
            first: grants,
            second,
        });
    }
    if allocator.state() != state_before {
        return Err(ContractViolation::StateChanged);
    }
    Ok(grants)
}

/// Checks that `copies` prompts with identical stats get grants at most 1 apart, the
/// earlier index never fewer (ties go to the lowest index).
///
/// # Errors
/// [`ContractViolation::Asymmetric`], or any violation of [`check_allocation`].
pub fn check_symmetric(
    allocator: &mut dyn RolloutAllocator,
    stats: PromptStats,
    copies: usize,
    budget: usize,
) -> Result<(), ContractViolation> {
    let grants = check_allocation(allocator, &vec![stats; copies], budget)?;
    let ordered = grants.windows(2).all(|w| w[0] >= w[1]);
    let spread = grants
        .first()
        .zip(grants.last())
        .is_none_or(|(a, b)| a - b <= 1);
    if ordered && spread {
        Ok(())
    } else {
        Err(ContractViolation::Asymmetric { grants })
    }
}

/// Checks that of two prompts with equal `n_q` and rollouts, the one with the larger
/// sample std `s_q` never gets fewer. This is XRPO's clause (uncertainty-driven
/// allocators); a [`crate::FixedAllocator`] breaks ties by index and need not pass it.
///
/// # Errors
/// [`ContractViolation::NotMonotoneInStd`], or any violation of [`check_allocation`].
pub fn check_monotone_in_std(
    allocator: &mut dyn RolloutAllocator,
    stats: &[PromptStats],
    budget: usize,
) -> Result<(), ContractViolation> {
    let grants = check_allocation(allocator, stats, budget)?;
    for (a, sa) in stats.iter().enumerate() {
        for (b, sb) in stats.iter().enumerate() {
            let (Some(s_a), Some(s_b)) = (sa.sample_std(), sb.sample_std()) else {
                continue;
            };
            let comparable = sa.count() == sb.count() && sa.rollouts() == sb.rollouts();
            if comparable && s_a > s_b && grants[a] < grants[b] {
                return Err(ContractViolation::NotMonotoneInStd {
                    larger: a,
                    s_larger: s_a,
                    g_larger: grants[a],
                    smaller: b,
                    s_smaller: s_b,
                    g_smaller: grants[b],
                });
            }
        }
    }
    Ok(())
}

/// Runs a whole step over `num_prompts` prompts with rewards from
/// `reward(prompt, rollout_index)` and checks the step's clauses: every prompt gets at
/// least `n_base` and at most `n_max` rollouts, and every later phase hands out
/// `min(phase budget, room under the caps)`.
///
/// # Errors
/// The first [`ContractViolation`] found.
pub fn check_step(
    allocator: &mut dyn RolloutAllocator,
    num_prompts: usize,
    mut reward: impl FnMut(usize, usize) -> Option<f64>,
) -> Result<(), ContractViolation> {
    let plan = allocator.plan();
    let budgets = plan.phase_budgets(num_prompts)?;
    let mut given = vec![0usize; num_prompts];
    let outcome = run_step::<ContractViolation, _>(allocator, num_prompts, |phase| {
        if phase.number > 1 {
            let room: usize = given.iter().map(|&g| plan.n_max().saturating_sub(g)).sum();
            let budget = budgets[phase.number - 1];
            let got: usize = phase.rollouts.iter().sum();
            if got != budget.min(room) {
                return Err(ContractViolation::WrongTotal {
                    expected: budget.min(room),
                    got,
                    budget,
                    room,
                });
            }
        }
        let results = phase
            .rollouts
            .iter()
            .enumerate()
            .map(|(q, &k)| (0..k).map(|i| reward(q, given[q] + i)).collect())
            .collect();
        for (g, k) in given.iter_mut().zip(&phase.rollouts) {
            *g += k;
        }
        Ok(results)
    })?;
    for (prompt, &rollouts) in outcome.rollouts.iter().enumerate() {
        if rollouts < plan.n_base() {
            return Err(ContractViolation::BelowBase {
                prompt,
                rollouts,
                n_base: plan.n_base(),
            });
        }
        if rollouts > plan.n_max() {
            return Err(ContractViolation::CapExceeded {
                prompt,
                rollouts,
                n_max: plan.n_max(),
            });
        }
    }
    Ok(())
}

/// `cases` random cases; no regression files are written into the caller's tree.
fn runner_config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

fn fail(v: ContractViolation) -> TestCaseError {
    TestCaseError::fail(v.to_string())
}

/// The generic conformance suite: runs [`check_allocation`] (random batches, random
/// budgets, zero budget, no prompts), [`check_symmetric`] and [`check_step`] (random
/// binary rewards) on allocators made by `make`, `cases` random cases each.
///
/// # Panics
/// With the (shrunk) failing case and the violated clause, like a failed proptest.
pub fn assert_conforms<F>(make: F, cases: u32)
where
    F: Fn() -> Box<dyn RolloutAllocator>,
{
    let mut runner = TestRunner::new(runner_config(cases));
    let result = runner.run(&(stats_batch(24), 0usize..400), |(stats, budget)| {
        check_allocation(make().as_mut(), &stats, budget).map_err(fail)?;
        check_allocation(make().as_mut(), &stats, 0).map_err(fail)?;
        check_allocation(make().as_mut(), &[], budget).map_err(fail)?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("allocate contract: {e}");
    }
    let mut runner = TestRunner::new(runner_config(cases));
    let result = runner.run(
        &(any_stats(), 1usize..16, 0usize..200),
        |(stats, copies, budget)| {
            check_symmetric(make().as_mut(), stats, copies, budget).map_err(fail)
        },
    );
    if let Err(e) = result {
        panic!("symmetry contract: {e}");
    }
    let mut runner = TestRunner::new(runner_config(cases));
    let result = runner.run(
        &(
            1usize..24,
            prop::collection::vec(0.0f64..=1.0, 24),
            any::<u64>(),
        ),
        |(num_prompts, p, seed)| {
            // Each prompt q is solved with probability p[q], from a small deterministic
            // generator (splitmix64), so that cases shrink and replay.
            let mut state = seed;
            let mut rng = move || {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
            };
            check_step(make().as_mut(), num_prompts, |q, _| {
                Some(f64::from(u8::from(rng() < p[q])))
            })
            .map_err(fail)
        },
    );
    if let Err(e) = result {
        panic!("step contract: {e}");
    }
}
