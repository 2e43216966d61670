//! The allocator family beyond the paper's XRPO: every one passes the testkit conformance
//! suite, and each one's own rule is pinned (Knapsack's exactness against brute force,
//! DAPO's and Reinforce-Ada's filters, the Beta-posterior spread).

use proptest::prelude::*;
use xrpo_alloc::testkit::{assert_conforms, binary_stats, check_allocation};
use xrpo_alloc::{
    AllocConfig, AllocKind, DapoFilter, GroupWeight, Knapsack, PromptStats, ReinforceAda,
    RolloutAllocator, UniformPhasedAllocator, VarianceEstimate, XrpoAllocator, XrpoConfig,
};

fn plan(n_fixed: usize) -> xrpo_alloc::PhasePlan {
    XrpoConfig {
        n_fixed,
        ..XrpoConfig::default()
    }
    .plan()
    .unwrap()
}

fn rewards(r: &[f64]) -> PromptStats {
    PromptStats::from_rewards(r.iter().copied()).unwrap()
}

#[test]
fn every_kind_conforms_through_alloc_config() {
    for kind in AllocKind::ALL {
        for n_fixed in [16, 4] {
            let cfg = AllocConfig {
                kind,
                n_fixed,
                ..AllocConfig::default()
            };
            assert_conforms(|| cfg.build().unwrap(), 24);
        }
    }
}

#[test]
fn variants_conform() {
    assert_conforms(|| Box::new(ReinforceAda::new(plan(8), 3).unwrap()), 32);
    assert_conforms(|| Box::new(Knapsack::new(plan(8), GroupWeight::Std)), 32);
    assert_conforms(
        || {
            Box::new(
                XrpoAllocator::new(XrpoConfig {
                    variance: VarianceEstimate::BetaPosterior,
                    n_fixed: 8,
                    ..XrpoConfig::default()
                })
                .unwrap(),
            )
        },
        48,
    );
}

#[test]
fn uniform_phased_is_round_robin_from_the_lowest_index() {
    // The trainer's ablation, moved here: passes over the prompts in index order.
    let mut a = UniformPhasedAllocator::new(plan(4)); // n_max = 16
    let stats = [
        rewards(&[1.0; 15]),
        rewards(&[0.0, 1.0]),
        rewards(&[0.0, 0.0]),
    ];
    // Pass 1: 1, 1, 1; pass 2: prompt 0 capped → 0, 1, 1; then 1 more to prompt 1.
    assert_eq!(a.allocate(&stats, 6).unwrap(), vec![1, 3, 2]);
    assert_eq!(a.name(), "uniform_phased");
}

#[test]
fn dapo_tops_up_uniform_groups_and_reports_them() {
    let mut dapo: Box<dyn RolloutAllocator> = Box::new(DapoFilter::new(plan(4))); // n_max 16
    let stats = [
        rewards(&[0.0; 14]),       // uniform, room 2
        rewards(&[1.0, 0.0]),      // informative
        rewards(&[1.0, 1.0]),      // uniform, room 14
        rewards(&[0.5, 0.5, 0.5]), // graded but uniform: no advantage either
    ];
    // Uniform prompts first, fewest rollouts first, ties to the lower index: prompt 2
    // (2 → 3), then 2 and 3 alternate from 3 each; 10 rollouts bring them to 8 and 7,
    // and prompt 0 (14) is not reached.
    let g = check_allocation(dapo.as_mut(), &stats, 10).unwrap();
    assert_eq!(g, vec![0, 0, 6, 4]);
    // With more budget than the uniform groups can absorb, the rest goes round-robin.
    let g = check_allocation(dapo.as_mut(), &stats, 40).unwrap();
    assert_eq!(g[0] + g[2] + g[3], 2 + 14 + 13);
    assert_eq!(g[1], 40 - 29);
    assert_eq!(dapo.groups_to_drop(&stats), vec![0, 2, 3]);
    // Other allocators drop nothing.
    let xrpo = XrpoAllocator::new(XrpoConfig::default()).unwrap();
    assert!(xrpo.groups_to_drop(&stats).is_empty());
}

#[test]
fn reinforce_ada_retires_balanced_prompts() {
    let ada = ReinforceAda::new(plan(8), 2).unwrap();
    assert!(!ada.is_retired(&rewards(&[1.0, 0.0, 0.0])));
    assert!(ada.is_retired(&rewards(&[1.0, 0.0, 1.0, 0.0])));
    assert!(!ada.is_retired(&rewards(&[0.5; 4])));
    assert!(ReinforceAda::new(plan(8), 0).is_err());
}

#[test]
fn posterior_spread_lets_agreeing_rewards_compete() {
    let zero = rewards(&[0.0; 4]);
    let split = rewards(&[1.0, 0.0, 0.0, 1.0]);
    let config = |variance| XrpoConfig {
        lambda: 0.0,
        variance,
        ..XrpoConfig::default()
    };
    // The paper's spread: s = 0, so Δ̂ = 0 and with λ = 0 the all-wrong prompt gets nothing.
    let mut paper = XrpoAllocator::new(config(VarianceEstimate::Sample)).unwrap();
    assert_eq!(paper.allocate(&[zero, split], 20).unwrap(), vec![0, 20]);
    // Beta posterior: s̃ = √(0.1 · 0.9) = 0.3 for 4 wrong answers (by hand), so it competes.
    let mut post = XrpoAllocator::new(config(VarianceEstimate::BetaPosterior)).unwrap();
    assert!((post.spread(&zero) - 0.3).abs() < 1e-15);
    assert!((post.spread(&split) - 0.5).abs() < 1e-15);
    let g = post.allocate(&[zero, split], 20).unwrap();
    assert!(g[0] > 0 && g[1] > g[0], "{g:?}");
    // Rewards that cannot be 0/1 outcomes keep the sample std.
    let graded = rewards(&[2.0, 4.0]);
    assert_eq!(post.spread(&graded), graded.sample_std().unwrap());
}

/// Every way to hand out exactly `total` rollouts under the caps (small cases only).
fn best_by_brute_force(ks: &Knapsack, stats: &[PromptStats], caps: &[usize], total: usize) -> f64 {
    fn go(
        ks: &Knapsack,
        stats: &[PromptStats],
        caps: &[usize],
        left: usize,
        grants: &mut Vec<usize>,
        best: &mut f64,
    ) {
        let q = grants.len();
        if q == stats.len() {
            if left == 0 {
                *best = best.max(ks.objective(stats, grants));
            }
            return;
        }
        for m in 0..=caps[q].min(left) {
            grants.push(m);
            go(ks, stats, caps, left - m, grants, best);
            grants.pop();
        }
    }
    let mut best = f64::NEG_INFINITY;
    go(ks, stats, caps, total, &mut Vec::new(), &mut best);
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The greedy is exact: no allocation of the same total under the caps has a larger
    /// summed value (prompts with at least one scored reward; n_max = 8).
    #[test]
    fn knapsack_greedy_equals_brute_force(
        batch in prop::collection::vec((binary_stats(1..=6), 0usize..=1), 1..=4),
        budget in 0usize..=12,
        std_weight in any::<bool>(),
    ) {
        let stats: Vec<PromptStats> = batch
            .into_iter()
            .map(|(mut s, unscored)| {
                for _ in 0..unscored {
                    s.record_unscored();
                }
                s
            })
            .collect();
        let weight = if std_weight { GroupWeight::Std } else { GroupWeight::InfoGain };
        let mut ks = Knapsack::new(plan(2), weight); // n_base 2, n_max 8
        let caps: Vec<usize> = stats.iter().map(|s| 8usize.saturating_sub(s.rollouts())).collect();
        let total = budget.min(caps.iter().sum());
        let grants = ks.allocate(&stats, budget).unwrap();
        prop_assert_eq!(grants.iter().sum::<usize>(), total);
        let got = ks.objective(&stats, &grants);
        let best = best_by_brute_force(&ks, &stats, &caps, total);
        prop_assert!(got >= best - 1e-12, "greedy {} < best {} with {:?}", got, best, grants);
    }

    /// With `retire_after = 1`, Reinforce-Ada's grants are DAPO's (both: uniform first).
    #[test]
    fn reinforce_ada_at_one_matches_dapo(
        stats in prop::collection::vec(binary_stats(0..=10), 0..=16),
        budget in 0usize..300,
    ) {
        let mut ada = ReinforceAda::new(plan(8), 1).unwrap();
        let mut dapo = DapoFilter::new(plan(8));
        prop_assert_eq!(ada.allocate(&stats, budget).unwrap(), dapo.allocate(&stats, budget).unwrap());
    }
}

#[test]
fn knapsack_prefers_prompts_likely_to_break_uniformity() {
    let mut ks = Knapsack::new(plan(8), GroupWeight::Std);
    // Two all-wrong prompts, one with 2 and one with 12 rewards: the short one is likelier
    // to produce a success (posterior predictive 0.5/3 vs 0.5/13), so it goes first.
    let stats = [rewards(&[0.0; 12]), rewards(&[0.0; 2])];
    assert_eq!(ks.allocate(&stats, 1).unwrap(), vec![0, 1]);
    // Values by hand: V(m) = w·(1 − U); after 2 wrong answers one more stays wrong with
    // P = 2.5/3, w = √(p̃(1 − p̃)) with p̃ = 0.5/3.
    let p: f64 = 0.5 / 3.0;
    let expected = (p * (1.0 - p)).sqrt() * (1.0 - 2.5 / 3.0);
    assert!((ks.value(&stats[1], 1) - expected).abs() < 1e-15);
}
