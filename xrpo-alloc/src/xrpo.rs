//! [`XrpoAllocator`]: XRPO's uncertainty-driven greedy allocation (spec §1).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::t_interval::TQuantiles;
use crate::{
    AllocatorState, Error, ExplorationClock, PhasePlan, PromptStats, RolloutAllocator,
    VarianceEstimate, XrpoConfig,
};

/// XRPO's hierarchical allocator: phase 1 gives every prompt `n_base` rollouts; each
/// later phase hands its budget out **one rollout at a time** to the prompt with the
/// highest priority
///
/// `Π_q = Δ̂_q(n_q) + φ_q(T, n_q)`, with `Δ̂_q(n) = h_q(n) − h_q(n+1)`,
/// `h_q(n) = t_{1-α/2,n-1} · s_q/√n` and `φ_q = λ √(ln(1+T)/n_q)`,
///
/// then updates that prompt's `n_q` (its `s_q` stays at the current estimate) and `T`.
///
/// Exact greedy, fast: `T` moves after every grant, which reorders prompts with different
/// `n_q`, so a single heap with stale keys would not be exact. Prompts are grouped by
/// `n_q`; within a group the order depends on `s_q` only and never changes, so each group
/// is a heap, and each grant compares the tops of the (at most `n_max`) groups at the
/// current `T`. Cost: `O(B · (G + log |Q|))` with `G` the number of distinct `n_q`.
///
/// **Ordering (deterministic).** Highest `Π_q` first; exact ties go to the larger `s_q`,
/// then to the prompt with fewer scored rollouts, then to the lowest index. (The spec's
/// rule is "lowest index"; the middle keys only decide between prompts whose `Π` is
/// bit-for-bit equal, e.g. with `λ = 0` they spread zero-variance prompts round-robin
/// instead of piling onto prompt 0.)
///
/// **Spread.** `s_q` is the sample std (the paper) or, with
/// [`VarianceEstimate::BetaPosterior`], the Jeffreys-posterior Bernoulli std
/// ([`XrpoAllocator::spread`]); everything below holds with `s_q` read as that spread.
///
/// **Degenerate prompts.** Zero variance: `s_q = 0`, so `Δ̂ = 0` and only `φ` drives it.
/// Fewer than 2 scored rewards (e.g. rewards the verifier could not score were left out):
/// `Δ̂ = +∞` **[our default]**, so such prompts are topped up to two scored rewards
/// before anything else.
///
/// ```
/// use xrpo_alloc::{PromptStats, RolloutAllocator, XrpoAllocator, XrpoConfig};
/// let mut xrpo = XrpoAllocator::new(XrpoConfig::default())?;
/// let stats = [
///     PromptStats::from_rewards([1.0, 1.0, 1.0, 1.0])?, // always solved: only φ
///     PromptStats::from_rewards([1.0, 0.0, 1.0, 0.0])?, // on the boundary
/// ];
/// let grants = xrpo.allocate(&stats, 8)?;
/// assert_eq!(grants.iter().sum::<usize>(), 8);
/// assert!(grants[1] > grants[0]);
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct XrpoAllocator {
    config: XrpoConfig,
    n_base: usize,
    n_max: usize,
    quantiles: TQuantiles,
    completed_steps: u64,
    /// Scratch: one min-heap of ranks per `n_q` level, kept between calls for its memory.
    groups: Vec<BinaryHeap<Reverse<usize>>>,
}

/// One phase's grants with the priorities behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct Allocation {
    /// Extra rollouts per prompt (same order as the stats).
    pub extra: Vec<usize>,
    /// Per prompt: `Π_q` at the moment of its last grant in this phase, or, for a prompt
    /// that got none, its `Π_q` at the end of the phase (with the final `T`). +∞ for a
    /// prompt with fewer than 2 scored rewards at that moment.
    pub priority: Vec<f64>,
}

impl XrpoAllocator {
    /// The allocator's name in [`AllocatorState`].
    pub const NAME: &'static str = "xrpo";

    /// Builds the allocator; validates `config` and caches the t quantiles up to `n_max`
    /// degrees of freedom.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] from [`XrpoConfig::validate`].
    pub fn new(config: XrpoConfig) -> Result<Self, Error> {
        config.validate()?;
        let (n_base, n_max) = (config.n_base(), config.n_max());
        Ok(Self {
            quantiles: TQuantiles::new(config.alpha, n_max),
            config,
            n_base,
            n_max,
            completed_steps: 0,
            groups: Vec::new(),
        })
    }

    /// The validated configuration.
    pub fn config(&self) -> &XrpoConfig {
        &self.config
    }

    /// The cached t quantiles (α of the config).
    pub fn quantiles(&self) -> &TQuantiles {
        &self.quantiles
    }

    /// The exploration clock `T` at the start of a phase over `stats`.
    pub fn clock_start(&self, stats: &[PromptStats]) -> f64 {
        match self.config.clock {
            ExplorationClock::StepRollouts => stats.iter().map(|s| s.rollouts() as f64).sum(),
            ExplorationClock::TrainingSteps => (self.completed_steps + 1) as f64,
        }
    }

    /// `λ · √ln(1+T)`: the part of `φ_q` shared by all prompts at clock `T`.
    #[inline]
    fn phi_scale(&self, t: f64) -> f64 {
        self.config.lambda * (1.0 + t).ln().sqrt()
    }

    /// `Π_q = Δ̂_q(n) + φ_q` with `φ_q = phi_scale / √n` (XRPO, arXiv 2510.06672,
    /// §/Eq. TBD); +∞ for `n < 2`.
    #[inline]
    fn pi(&self, s_q: f64, n: usize, phi_scale: f64) -> f64 {
        if n < 2 {
            return f64::INFINITY;
        }
        let delta_hat = self.quantiles.delta_hat(s_q, n);
        let phi = phi_scale * self.quantiles.inv_sqrt(n);
        crate::priority::priority(delta_hat, phi)
    }

    /// The spread `s_q` this allocator uses for a prompt: the sample std (0 below two
    /// rewards), or the Jeffreys-posterior Bernoulli std under
    /// [`VarianceEstimate::BetaPosterior`] (the sample std when the mean reward lies
    /// outside [0, 1]).
    pub fn spread(&self, stats: &PromptStats) -> f64 {
        let sample = || stats.sample_std().unwrap_or(0.0);
        match self.config.variance {
            VarianceEstimate::Sample => sample(),
            VarianceEstimate::BetaPosterior => {
                crate::posterior::bernoulli_std(stats).unwrap_or_else(sample)
            }
        }
    }

    /// `Π_q` of a prompt with statistics `stats` at clock `t`.
    pub fn priority(&self, stats: &PromptStats, t: f64) -> f64 {
        self.pi(self.spread(stats), stats.count(), self.phi_scale(t))
    }

    /// Like [`RolloutAllocator::allocate`], and also reports each prompt's priority (see
    /// [`Allocation::priority`]).
    ///
    /// # Errors
    /// None at present; the `Result` leaves room for input checks.
    pub fn allocate_detailed(
        &mut self,
        stats: &[PromptStats],
        budget: usize,
    ) -> Result<Allocation, Error> {
        let m = stats.len();
        let n_max = self.n_max;
        let std: Vec<f64> = stats.iter().map(|s| self.spread(s)).collect();
        let mut level: Vec<usize> = stats.iter().map(PromptStats::count).collect();
        let mut cap_left: Vec<usize> = stats
            .iter()
            .map(|s| n_max.saturating_sub(s.rollouts()))
            .collect();
        // Rank prompts by (s_q desc, index asc): the order within every n_q group.
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| std[b].total_cmp(&std[a]).then(a.cmp(&b)));

        // Within a group, rank order = (s_q desc, index asc); `s_by_rank` makes a group's
        // top s_q one lookup away.
        let s_by_rank: Vec<f64> = order.iter().map(|&q| std[q]).collect();
        let mut groups = std::mem::take(&mut self.groups);
        groups.iter_mut().for_each(BinaryHeap::clear);
        if groups.len() < n_max {
            groups.resize_with(n_max, BinaryHeap::new);
        }
        let (mut lo, mut hi) = (usize::MAX, 0);
        for (rank, &q) in order.iter().enumerate() {
            if cap_left[q] > 0 {
                // cap_left > 0 means rollouts < n_max, and count ≤ rollouts: in range.
                groups[level[q]].push(Reverse(rank));
                lo = lo.min(level[q]);
                hi = hi.max(level[q]);
            }
        }
        // `top_s[n]`: s_q of group n's top, NaN when the group is empty (structure of
        // arrays, so the per-grant scan over groups reads three contiguous slices).
        let top = |g: &BinaryHeap<Reverse<usize>>| g.peek().map_or(f64::NAN, |r| s_by_rank[r.0]);
        let mut top_s: Vec<f64> = groups[..n_max].iter().map(top).collect();
        let coeff = self.quantiles.reduction_coefficients();
        let inv_sqrt = self.quantiles.inv_sqrts();
        // Invariant: the tables cover every level below n_max (TQuantiles::new(α, n_max)).
        debug_assert!(coeff.len() >= n_max && inv_sqrt.len() >= n_max);

        let mut extra = vec![0; m];
        let mut priority = vec![f64::NAN; m];
        let mut t = self.clock_start(stats);
        let grows = self.config.clock == ExplorationClock::StepRollouts;
        let mut phi_scale = self.phi_scale(t);
        for _ in 0..budget {
            if lo > hi {
                break; // every prompt is at its cap
            }
            // `lo` is the lowest non-empty level. Below 2 scored rewards Π = +∞ (and s_q
            // is taken as 0), so the lowest such level wins outright.
            let (n, pi) = if lo < 2 {
                (lo, f64::INFINITY)
            } else {
                // Best group top by (Π desc, s desc, n asc): scanning n upwards and
                // replacing only on strictly better keeps the smaller n on full ties.
                let (mut best_n, mut best_pi, mut best_s) =
                    (lo, f64::NEG_INFINITY, f64::NEG_INFINITY);
                let levels = top_s[lo..=hi]
                    .iter()
                    .zip(&coeff[lo..=hi])
                    .zip(&inv_sqrt[lo..=hi]);
                for (i, ((&s_q, &c), &inv)) in levels.enumerate() {
                    if s_q.is_nan() {
                        continue;
                    }
                    // Π = Δ̂ + φ = s_q·c(n) + λ√ln(1+T)·(1/√n), the same operations as `pi`.
                    let pi = s_q * c + phi_scale * inv;
                    if pi > best_pi || (pi == best_pi && s_q > best_s) {
                        (best_n, best_pi, best_s) = (lo + i, pi, s_q);
                    }
                }
                (best_n, best_pi)
            };
            // Invariant: level `n` is non-empty (lo is non-empty; the scan skips empties).
            let Reverse(rank) = groups[n].pop().expect("chosen level is non-empty");
            top_s[n] = top(&groups[n]);
            let q = order[rank];
            extra[q] += 1;
            priority[q] = pi;
            cap_left[q] -= 1;
            level[q] += 1;
            if cap_left[q] > 0 {
                groups[n + 1].push(Reverse(rank));
                top_s[n + 1] = top(&groups[n + 1]);
                hi = hi.max(n + 1);
            }
            while lo <= hi && groups[lo].is_empty() {
                lo += 1;
            }
            if grows {
                t += 1.0;
                phi_scale = self.phi_scale(t);
            }
        }
        for q in 0..m {
            if extra[q] == 0 {
                priority[q] = self.pi(std[q], level[q], phi_scale);
            }
        }
        self.groups = groups;
        Ok(Allocation { extra, priority })
    }
}

impl RolloutAllocator for XrpoAllocator {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn plan(&self) -> PhasePlan {
        // Invariant: the config was validated in `new`, so the plan's arguments are valid.
        self.config
            .plan()
            .expect("config validated in XrpoAllocator::new")
    }

    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, Error> {
        Ok(self.allocate_detailed(stats, budget)?.extra)
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

impl XrpoAllocator {
    /// `n_base`, resolved from the config.
    pub fn n_base(&self) -> usize {
        self.n_base
    }

    /// `n_max`, resolved from the config.
    pub fn n_max(&self) -> usize {
        self.n_max
    }
}
