//! Hostile and huge input ends in a value or a typed error (issue: `xrpo allocate` hung for
//! over ten minutes in the Student-t quantile on a prompt with ~14 million rewards).
//! These tests assert on results; `cargo bench -p xrpo-alloc --bench allocate` prints the
//! time of the 14-million-reward case.

use xrpo_alloc::{Error, PromptStats, RolloutAllocator, XrpoAllocator, XrpoConfig};

#[test]
fn fourteen_million_rewards_get_a_verdict() {
    let mut huge = PromptStats::new();
    for i in 0..14_000_000u64 {
        huge.push((i % 2) as f64).unwrap();
    }
    let small = PromptStats::from_rewards([1.0, 0.0, 1.0, 0.0]).unwrap();
    let mut xrpo = XrpoAllocator::new(XrpoConfig::default()).unwrap();
    let out = xrpo.allocate_detailed(&[huge, small], 10).unwrap();
    // The huge prompt is far past n_max = 64: no grant; the other takes the budget.
    assert_eq!(out.extra, vec![0, 10]);
    // Its priority is Δ̂ + φ with Δ̂ ≈ z·s/(2 n^{3/2}) ≈ 1.96·0.5/(2·5.2e10) ≈ 9e-12 > 0.
    let p = out.priority[0];
    assert!(p.is_finite() && p > 0.0, "priority {p}");
    let delta_hat = xrpo.quantiles().delta_hat(0.5, 14_000_000);
    assert!((delta_hat - 9.4e-12).abs() < 0.2e-12, "Δ̂ = {delta_hat:e}");
}

#[test]
fn counts_up_to_the_integer_range_get_a_verdict() {
    let mut xrpo = XrpoAllocator::new(XrpoConfig::default()).unwrap();
    for count in [1usize << 32, 1 << 53, usize::MAX] {
        let stats = [PromptStats::from_moments(count, 0.5, 0.5).unwrap()];
        let out = xrpo.allocate_detailed(&stats, 3).unwrap();
        assert_eq!(out.extra, vec![0]);
        assert!(out.priority[0].is_finite() && out.priority[0] >= 0.0);
        assert!(xrpo.priority(&stats[0], 1e30).is_finite());
    }
}

#[test]
fn huge_budgets_are_clamped_to_the_caps() {
    let mut xrpo = XrpoAllocator::new(XrpoConfig::default()).unwrap();
    let stats = vec![PromptStats::from_rewards([1.0, 0.0]).unwrap(); 3];
    assert_eq!(xrpo.allocate(&stats, usize::MAX).unwrap(), vec![62, 62, 62]);
    assert!(xrpo.allocate(&[], usize::MAX).unwrap().is_empty());
}

#[test]
fn non_finite_rewards_are_typed_errors() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = PromptStats::from_rewards([1.0, bad]).unwrap_err();
        assert!(
            matches!(err, Error::NonFiniteReward { position: 1, .. }),
            "{err}"
        );
        assert!(PromptStats::from_moments(4, bad, 0.5).is_err());
        assert!(PromptStats::from_moments(4, 0.5, bad).is_err());
    }
}
