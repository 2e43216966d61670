//! [`Knapsack`]: Knapsack-RL's budget allocation, exact for a concave group value.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

use crate::posterior::{JEFFREYS_PRIOR, is_uniform};
use crate::state::{StepCount, phased_allocator_methods};
use crate::{Error, PhasePlan, PromptStats, RolloutAllocator};

/// The expected gradient weight `w(p̃)` of an informative group of a prompt with
/// estimated success rate `p̃`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupWeight {
    /// `w = p̃ (1 − p̃)²`: Knapsack-RL's `InfoGain(p)` (Li et al., arXiv 2509.25849, its
    /// task value = P(non-zero gradient) · InfoGain), which favours hard prompts. In our
    /// simulation (BENCHMARKS.md) it leaves fewer informative groups than `Std`.
    InfoGain,
    /// **[our default]** `w = √(p̃ (1 − p̃))`: the std of a 0/1 reward, the scale of a
    /// group-normalised policy gradient; symmetric in easy and hard prompts. The
    /// simulation's winner.
    #[default]
    Std,
}

impl GroupWeight {
    /// `w(p)`.
    pub fn weight(self, p: f64) -> f64 {
        match self {
            Self::InfoGain => p * (1.0 - p) * (1.0 - p),
            Self::Std => (p * (1.0 - p)).sqrt(),
        }
    }
}

/// Knapsack-RL (Li et al., "Knapsack RL: Unlocking Exploration of LLMs via Optimizing
/// Budget Allocation", arXiv 2509.25849): each prompt is an item whose value depends on
/// the rollouts it gets; a phase's budget goes where the summed value is largest.
///
/// **Objective (ours, for phases after the first).** For binary rewards, prompt `q` has
/// `n` scored rewards so far and gets `m` more. Its value is
///
/// `V_q(m) = w(p̃_q) · P(the group of n + m holds both outcomes | rewards so far)`,
///
/// with `p̃_q = (k + ½)/(n + 1)` the Jeffreys-posterior mean ([`crate::posterior`]) and
/// `w` the [`GroupWeight`]. Under the Beta–Bernoulli posterior predictive, a group whose
/// `n ≥ 1` rewards agree stays uniform through `m` more with probability
/// `U(n, m) = Π_{j<m} (n + j + ½)/(n + j + 1)` (the same for all-right and all-wrong
/// groups), so `V_q(m) = w · (1 − U(n, m))`; a group that already holds both outcomes has
/// `V_q(m) = w` whatever `m` (marginal value 0). The paper instead plans before sampling,
/// with `P = 1 − p^N − (1 − p)^N` from the previous epoch's `p`; conditioning on the phase's
/// rewards is the same quantity once some are known.
///
/// **Exact.** The marginal value `V_q(m+1) − V_q(m) = w · U(n, m) · ½/(n + m + 1)` falls
/// with `m`: each `V_q` is concave, so handing out rollouts one at a time to the largest
/// marginal (a max-heap) maximises `Σ_q V_q(m_q)` under `Σ m_q = budget` and the caps
/// (the greedy is optimal for separable concave objectives with unit costs; a proptest
/// checks it against brute force). A prompt with no scored reward takes its first rollout
/// before anything else (one reward alone cannot make a group informative, so its first
/// marginal value would be 0 and break concavity). Ties (e.g. the 0 marginals of
/// informative groups, once every uniform group is capped) go to fewer rollouts, then to
/// the lower index.
///
/// Rewards outside [0, 1] are clamped into it for `p̃`; graded rewards count as
/// fractional successes.
///
/// ```
/// use xrpo_alloc::{GroupWeight, Knapsack, PromptStats, RolloutAllocator, XrpoConfig};
/// let mut ks = Knapsack::new(XrpoConfig::default().plan()?, GroupWeight::InfoGain);
/// let stats = [
///     PromptStats::from_rewards([0.0; 4])?,             // hard: p̃ = 0.1
///     PromptStats::from_rewards([1.0, 0.0, 1.0, 0.0])?, // informative already
///     PromptStats::from_rewards([1.0; 4])?,             // easy: p̃ = 0.9
/// ];
/// let grants = ks.allocate(&stats, 10)?;
/// assert_eq!(grants.iter().sum::<usize>(), 10);
/// assert_eq!(grants[1], 0);
/// assert!(grants[0] > grants[2]); // InfoGain values the hard prompt more
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Knapsack {
    plan: PhasePlan,
    weight: GroupWeight,
    steps: StepCount,
}

/// A heap entry: the prompt's next marginal value, ordered by (gain desc, rollouts asc,
/// index asc).
#[derive(Debug, Clone, Copy)]
struct Entry {
    gain: f64,
    rollouts: usize,
    q: usize,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain
            .total_cmp(&other.gain)
            .then(Reverse(self.rollouts).cmp(&Reverse(other.rollouts)))
            .then(Reverse(self.q).cmp(&Reverse(other.q)))
    }
}

impl Knapsack {
    /// The allocator's name in [`crate::AllocatorState`].
    pub const NAME: &'static str = "knapsack";

    /// Uses `plan` (normally [`crate::XrpoConfig::plan`]) and group weight `weight`.
    pub fn new(plan: PhasePlan, weight: GroupWeight) -> Self {
        Self {
            plan,
            weight,
            steps: StepCount::default(),
        }
    }

    /// `w(p̃_q)` of a prompt.
    fn group_weight(&self, stats: &PromptStats) -> f64 {
        let n = stats.count() as f64;
        let k = n * stats.mean().clamp(0.0, 1.0);
        self.weight
            .weight((k + JEFFREYS_PRIOR) / (n + 2.0 * JEFFREYS_PRIOR))
    }

    /// `V_q(m)`: the value of prompt `stats` with `m` more rollouts (see the type docs).
    pub fn value(&self, stats: &PromptStats, m: usize) -> f64 {
        let w = self.group_weight(stats);
        if !is_uniform(stats) {
            return w;
        }
        w * (1.0 - stays_uniform(stats.count(), m))
    }

    /// `Σ_q V_q(grants[q])`: the objective the allocation maximises.
    pub fn objective(&self, stats: &[PromptStats], grants: &[usize]) -> f64 {
        stats
            .iter()
            .zip(grants)
            .map(|(s, &m)| self.value(s, m))
            .sum()
    }

    /// The marginal value of prompt `q`'s `(m+1)`-th extra rollout, given its weight
    /// `w` and `U(n, m)` = `uniform`.
    fn gain(informative: bool, w: f64, n: usize, m: usize, uniform: f64) -> f64 {
        if informative {
            0.0
        } else if n + m == 0 {
            f64::INFINITY
        } else {
            w * uniform * JEFFREYS_PRIOR / ((n + m) as f64 + 1.0)
        }
    }
}

/// `U(n, m)`: probability that a group whose `n` rewards agree stays uniform through `m`
/// more, under the Jeffreys Beta–Bernoulli posterior predictive:
/// `Π_{i=n}^{n+m−1} f(i)` with `f(0) = 1` (the first reward cannot disagree with
/// anything) and `f(i) = (i + ½)/(i + 1)`.
fn stays_uniform(n: usize, m: usize) -> f64 {
    (n..n.saturating_add(m))
        .map(|i| {
            if i == 0 {
                1.0
            } else {
                (i as f64 + JEFFREYS_PRIOR) / (i as f64 + 1.0)
            }
        })
        .product()
}

impl RolloutAllocator for Knapsack {
    phased_allocator_methods!();

    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, Error> {
        let n_max = self.plan.n_max();
        let mut grants = vec![0; stats.len()];
        let weights: Vec<f64> = stats.iter().map(|s| self.group_weight(s)).collect();
        let informative: Vec<bool> = stats.iter().map(|s| !is_uniform(s)).collect();
        // U(n_q, m_q) per prompt, updated as grants are made.
        let mut uniform = vec![1.0; stats.len()];
        let mut heap: BinaryHeap<Entry> = stats
            .iter()
            .enumerate()
            .filter(|(_, s)| s.rollouts() < n_max)
            .map(|(q, s)| Entry {
                gain: Self::gain(informative[q], weights[q], s.count(), 0, 1.0),
                rollouts: s.rollouts(),
                q,
            })
            .collect();
        let mut given = 0;
        while given < budget {
            let Some(Entry { q, rollouts, .. }) = heap.pop() else {
                break;
            };
            let n = stats[q].count();
            let m = grants[q];
            if n + m > 0 {
                uniform[q] *= (((n + m) as f64) + JEFFREYS_PRIOR) / ((n + m) as f64 + 1.0);
            }
            grants[q] += 1;
            given += 1;
            if rollouts + 1 < n_max {
                heap.push(Entry {
                    gain: Self::gain(informative[q], weights[q], n, m + 1, uniform[q]),
                    rollouts: rollouts + 1,
                    q,
                });
            }
        }
        Ok(grants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_uniform_by_hand() {
        // Beta(4.5, 0.5) after 4 agreeing rewards: P(next agrees) = 4.5/5 = 0.9; two more:
        // 0.9 · 5.5/6 = 0.825.
        assert!((stays_uniform(4, 1) - 0.9).abs() < 1e-15);
        assert!((stays_uniform(4, 2) - 0.825).abs() < 1e-15);
        // No reward yet: the first is free, then 1.5/2 = 0.75.
        assert_eq!(stays_uniform(0, 1), 1.0);
        assert!((stays_uniform(0, 2) - 0.75).abs() < 1e-15);
        assert_eq!(stays_uniform(7, 0), 1.0);
    }

    #[test]
    fn marginal_gains_match_value_differences_and_fall() {
        let ks = Knapsack::new(
            crate::XrpoConfig::default().plan().unwrap(),
            GroupWeight::Std,
        );
        for rewards in [vec![0.0; 4], vec![1.0; 2], vec![1.0]] {
            let s = PromptStats::from_rewards(rewards).unwrap();
            let w = ks.group_weight(&s);
            let mut prev = f64::INFINITY;
            for m in 0..30 {
                let diff = ks.value(&s, m + 1) - ks.value(&s, m);
                let gain = Knapsack::gain(false, w, s.count(), m, stays_uniform(s.count(), m));
                assert!((diff - gain).abs() < 1e-15, "m {m}: {diff} vs {gain}");
                assert!(gain > 0.0 && gain < prev);
                prev = gain;
            }
        }
    }

    #[test]
    fn weights_by_hand() {
        assert!((GroupWeight::InfoGain.weight(0.1) - 0.081).abs() < 1e-15);
        assert!((GroupWeight::Std.weight(0.5) - 0.5).abs() < 1e-15);
    }
}
