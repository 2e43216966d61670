//! Golden values: each expected advantage comes from a hand calculation (shown in a
//! comment) or from `reference`, a deliberately naive per-response implementation of the
//! formulas written separately from the crate (no shared code, f64 throughout).

use ndarray::{Array1, array};
use xrpo_advantage::{
    AdvantageConfig, AdvantageShaper, Batch, DrGrpo, Error, Estimator, Group, Grpo,
    NoveltySharpening, Rloo, StdScale, Xrpo,
};

/// Naive reference formulas: index loops, two-pass statistics, no early exits.
mod reference {
    pub fn present(r: &[Option<f64>]) -> Vec<f64> {
        r.iter().flatten().copied().collect()
    }
    pub fn mean(x: &[f64]) -> f64 {
        x.iter().sum::<f64>() / x.len() as f64
    }
    pub fn std_unbiased(x: &[f64]) -> f64 {
        let m = mean(x);
        (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() as f64 - 1.0)).sqrt()
    }
    fn degenerate(p: &[f64]) -> bool {
        p.len() < 2 || p.iter().all(|&v| v == p[0])
    }
    pub fn grpo(r: &[Option<f64>], eps: f64) -> Vec<f64> {
        let p = present(r);
        if degenerate(&p) {
            return vec![0.0; r.len()];
        }
        let (m, s) = (mean(&p), std_unbiased(&p));
        r.iter()
            .map(|x| x.map_or(0.0, |x| (x - m) / (s + eps)))
            .collect()
    }
    pub fn dr_grpo(r: &[Option<f64>]) -> Vec<f64> {
        let p = present(r);
        if degenerate(&p) {
            return vec![0.0; r.len()];
        }
        let m = mean(&p);
        r.iter().map(|x| x.map_or(0.0, |x| x - m)).collect()
    }
    pub fn rloo(r: &[Option<f64>]) -> Vec<f64> {
        let mut out = vec![0.0; r.len()];
        if degenerate(&present(r)) {
            return out;
        }
        for i in 0..r.len() {
            if let Some(ri) = r[i] {
                let others: Vec<f64> = (0..r.len())
                    .filter(|&j| j != i)
                    .filter_map(|j| r[j])
                    .collect();
                out[i] = ri - mean(&others);
            }
        }
        out
    }
    pub fn sharpen(a: &[f64], r: &[Option<f64>], s: &[f64], lambda: f64, kappa: f64) -> Vec<f64> {
        let s_scored: Vec<f64> = (0..r.len())
            .filter(|&i| r[i].is_some())
            .map(|i| s[i])
            .collect();
        let s_bar = mean(&s_scored);
        (0..a.len())
            .map(|i| {
                if a[i] > 0.0 {
                    let eta = (s[i] - s_bar).exp();
                    let bonus = f64::min(f64::max(lambda * (1.0 - eta), 0.0), kappa * a[i]);
                    a[i] + bonus
                } else {
                    a[i]
                }
            })
            .collect()
    }
}

fn batch(rewards: &[Option<f64>], s: Option<&[f64]>) -> Batch {
    let mut g = Group::new(rewards.iter().map(|r| r.map(|x| x as f32)).collect()).unwrap();
    if let Some(s) = s {
        g = g
            .with_seq_logprob(s.iter().map(|&x| x as f32).collect())
            .unwrap();
    }
    Batch::from_groups([&g]).unwrap()
}

/// The one helper every golden case goes through.
fn check(shaper: &dyn AdvantageShaper, b: &Batch, expected: &[f64]) {
    let got = shaper.shape(b).unwrap().advantages;
    assert_eq!(got.len(), expected.len());
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (f64::from(*g) - e).abs() <= 1e-5 * (1.0 + e.abs()),
            "response {i}: got {g}, expected {e} (all: {got:?} vs {expected:?})"
        );
    }
}

#[test]
fn grpo_binary_group_by_hand() {
    // r = [1, 0, 0, 0]: mean 0.25, unbiased var = (0.5625 + 3·0.0625)/3 = 0.25, std 0.5.
    // A_0 = 0.75 / 0.5001 = 1.4997, A_j = -0.25 / 0.5001 = -0.49990.
    let b = batch(&[Some(1.0), Some(0.0), Some(0.0), Some(0.0)], None);
    check(
        &Grpo::default(),
        &b,
        &[1.499_700_06, -0.499_900_02, -0.499_900_02, -0.499_900_02],
    );
}

#[test]
fn grpo_matches_reference_on_varied_groups() {
    let cases: Vec<Vec<Option<f64>>> = vec![
        vec![Some(0.3), Some(0.9), Some(-1.2), Some(2.5), Some(0.0)],
        vec![Some(1.0), None, Some(0.0), Some(1.0)],
        vec![Some(0.1), Some(0.2)],
        vec![None, Some(5.0), Some(-5.0), None],
    ];
    for r in &cases {
        let b = batch(r, None);
        check(&Grpo::default(), &b, &reference::grpo(r, 1e-4));
        check(
            &Grpo::new(StdScale::Group, 1e-6).unwrap(),
            &b,
            &reference::grpo(r, 1e-6),
        );
        check(&DrGrpo, &b, &reference::dr_grpo(r));
        check(
            &Grpo::new(StdScale::None, 1e-4).unwrap(),
            &b,
            &reference::dr_grpo(r),
        );
        check(&Rloo, &b, &reference::rloo(r));
    }
}

#[test]
fn rloo_by_hand() {
    // r = [1, 0, 0, 1, 1]: A_0 = 1 − (0+0+1+1)/4 = 0.5, A_1 = 0 − 3/4 = −0.75.
    let b = batch(
        &[Some(1.0), Some(0.0), Some(0.0), Some(1.0), Some(1.0)],
        None,
    );
    check(&Rloo, &b, &[0.5, -0.75, -0.75, 0.5, 0.5]);
}

#[test]
fn all_equal_groups_give_exact_zero() {
    for r in [
        vec![Some(1.0); 8],
        vec![Some(0.0); 3],
        vec![Some(0.1); 7], // mean of 0.1s is not exactly 0.1 in floating point
        vec![Some(0.7), None, Some(0.7)],
    ] {
        let s: Vec<f64> = (0..r.len()).map(|i| -(i as f64) - 0.5).collect();
        let b = batch(&r, Some(&s));
        let shapers: [Box<dyn AdvantageShaper>; 5] = [
            Box::new(Grpo::default()),
            Box::new(Grpo::new(StdScale::Batch, 1e-4).unwrap()),
            Box::new(DrGrpo),
            Box::new(Rloo),
            Box::new(Xrpo::paper()),
        ];
        for shaper in &shapers {
            let out = shaper.shape(&b).unwrap();
            assert!(out.advantages.iter().all(|&a| a == 0.0), "{r:?}: {out:?}");
            assert_eq!(out.stats.zero_std_groups, 1);
        }
    }
}

#[test]
fn group_of_one_gets_zero_and_is_counted() {
    // verl would return the raw score 1.0 here (mean 0, std 1); we return 0 and count it.
    for r in [
        vec![Some(1.0)],
        vec![None, Some(1.0), None],
        vec![None, None],
    ] {
        let b = batch(&r, Some(&vec![-1.0; r.len()]));
        for shaper in [
            &Grpo::default() as &dyn AdvantageShaper,
            &DrGrpo,
            &Rloo,
            &Xrpo::paper(),
        ] {
            let out = shaper.shape(&b).unwrap();
            assert!(out.advantages.iter().all(|&a| a == 0.0));
            assert_eq!(out.stats.undersized_groups, 1);
            assert_eq!(out.stats.zero_std_groups, 0);
            assert_eq!(out.stats.frac_undersized_groups(), 1.0);
        }
    }
}

#[test]
fn missing_rewards_are_excluded_from_baseline() {
    // [1, None, 0]: baseline over {1, 0} only: mean 0.5, std 0.7071.
    // A = ±0.5 / 0.70721 = ±0.707007; the missing response gets 0.
    let b = batch(&[Some(1.0), None, Some(0.0)], None);
    check(&Grpo::default(), &b, &[0.707_006_99, 0.0, -0.707_006_99]);
    let out = Grpo::default().shape(&b).unwrap();
    assert_eq!(out.stats.missing_rewards, 1);
}

#[test]
fn batch_scaling_uses_the_std_of_all_rewards() {
    // Groups [1, 0] and [1, 1, 1, 0]. All six rewards: mean 4/6, unbiased
    // var = (4·(1/3)² + 2·(2/3)²)/5 = (4/9 + 8/9)/5 = 4/15, std = 0.516398.
    // Group means 0.5 and 0.75. A = (r − mean_g) / (0.516398 + 1e-4).
    let rewards = array![
        Some(1.0f32),
        Some(0.0),
        Some(1.0),
        Some(1.0),
        Some(1.0),
        Some(0.0)
    ];
    let b = Batch::from_flat(rewards, &[2, 4]).unwrap();
    let d = (4.0f64 / 15.0).sqrt() + 1e-4;
    let e = [0.5 / d, -0.5 / d, 0.25 / d, 0.25 / d, 0.25 / d, -0.75 / d];
    check(&Grpo::new(StdScale::Batch, 1e-4).unwrap(), &b, &e);
}

#[test]
fn xrpo_sharpening_by_hand() {
    // r = [1, 0, 1, 0], s = [-0.2, -0.4, -0.9, -0.5]. GRPO: mean 0.5, std 0.57735,
    // A = ±0.5/0.57745 = ±0.865876. s̄ = -0.5.
    // Response 0: η = e^{0.3} = 1.34986 ≥ 1 → no bonus.
    // Response 2: η = e^{-0.4} = 0.670320, λ(1−η) = 2.5·0.329680 = 0.824200,
    //   cap κA = 0.432938 → bonus 0.432938, A⁺ = 1.298814.
    let r = [Some(1.0), Some(0.0), Some(1.0), Some(0.0)];
    let s = [-0.2, -0.4, -0.9, -0.5];
    let b = batch(&r, Some(&s));
    let a = 0.5 / ((1.0f64 / 3.0).sqrt() + 1e-4);
    check(&Xrpo::paper(), &b, &[a, -a, 1.5 * a, -a]);
    let out = Xrpo::paper().shape(&b).unwrap();
    let nov = out.stats.novelty.clone().unwrap();
    assert_eq!(
        (
            nov.correct_responses,
            nov.bonused_responses,
            nov.clipped_responses
        ),
        (2, 1, 1)
    );
    assert!((out.stats.mean_novelty_bonus() - 0.5 * a / 2.0).abs() < 1e-6);
    assert_eq!(out.stats.frac_bonused(), 0.5);
}

#[test]
fn xrpo_unclipped_bonus_by_hand() {
    // r = [1, 0, 0, 0] → A_0 = 1.4997 (see grpo_binary_group_by_hand), cap κA = 0.74985.
    // s = [-1.1, -1.0, -1.0, -1.0]: s̄ = -1.025, η_0 = e^{-0.075} = 0.927743,
    // bonus = 2.5 · 0.072257 = 0.180643 < cap, A⁺_0 = 1.680343.
    let r = [Some(1.0), Some(0.0), Some(0.0), Some(0.0)];
    let s = [-1.1, -1.0, -1.0, -1.0];
    let b = batch(&r, Some(&s));
    let a0 = 0.75 / 0.5001;
    let bonus = 2.5 * (1.0 - (-0.075f64).exp());
    check(
        &Xrpo::paper(),
        &b,
        &[a0 + bonus, -0.25 / 0.5001, -0.25 / 0.5001, -0.25 / 0.5001],
    );
}

#[test]
fn xrpo_matches_reference_on_other_bases() {
    let r = vec![Some(1.0), Some(0.0), None, Some(1.0), Some(0.5), Some(1.0)];
    let s = [-0.3, -2.0, -9.0, -1.4, -0.8, -0.35];
    let b = batch(&r, Some(&s));
    let sharp = |a: Vec<f64>, l, k| reference::sharpen(&a, &r, &s, l, k);
    check(
        &Xrpo::paper(),
        &b,
        &sharp(reference::grpo(&r, 1e-4), 2.5, 0.5),
    );
    check(
        &NoveltySharpening::new(Rloo, 2.5, 0.5).unwrap(),
        &b,
        &sharp(reference::rloo(&r), 2.5, 0.5),
    );
    check(
        &NoveltySharpening::new(DrGrpo, 0.7, 0.2).unwrap(),
        &b,
        &sharp(reference::dr_grpo(&r), 0.7, 0.2),
    );
    let boxed: Box<dyn AdvantageShaper> = Box::new(Grpo::default());
    check(
        &NoveltySharpening::new(boxed, 2.5, 0.5).unwrap(),
        &b,
        &sharp(reference::grpo(&r, 1e-4), 2.5, 0.5),
    );
}

#[test]
fn eta_at_least_one_gives_no_bonus() {
    // Correct responses are the *most* likely ones (s above s̄): η ≥ 1, no bonus, and the
    // output equals plain GRPO.
    let r = [Some(1.0), Some(1.0), Some(0.0), Some(0.0)];
    let s = [-0.1, -0.2, -3.0, -4.0];
    let b = batch(&r, Some(&s));
    let plain = Grpo::default().shape(&b).unwrap().advantages;
    let sharp = Xrpo::paper().shape(&b).unwrap();
    assert_eq!(plain, sharp.advantages);
    assert_eq!(sharp.stats.novelty.unwrap().bonused_responses, 0);
}

#[test]
fn zero_length_responses_get_no_bonus_and_leave_s_bar() {
    // r = [1, 0, 0, 1], s = [-1, -0.5, -0.5, -100], lengths [10, 12, 9, 0].
    // GRPO: A = ±0.5 / (√(1/3) + 1e-4) = ±0.865876.
    // Response 3 is empty: excluded from s̄ and never bonused, so s̄ = mean(-1, -0.5, -0.5)
    // = -2/3 and response 0 has η = e^{-1/3} = 0.716531; with λ_nov = 0.5 its bonus is
    // 0.5 · 0.283469 = 0.141734 (< cap 0.5 · A). Had response 3 counted, s̄ = -25.5 and
    // response 0 would get nothing while response 3 would get the capped bonus.
    let g = Group::new(vec![Some(1.0), Some(0.0), Some(0.0), Some(1.0)])
        .unwrap()
        .with_seq_logprob(vec![-1.0, -0.5, -0.5, -100.0])
        .unwrap()
        .with_lengths(vec![10, 12, 9, 0])
        .unwrap();
    let b = Batch::from_groups([&g]).unwrap();
    let a = 0.5 / ((1.0f64 / 3.0).sqrt() + 1e-4);
    let bonus = 0.5 * (1.0 - (-1.0f64 / 3.0).exp());
    let shaper = NoveltySharpening::new(Grpo::default(), 0.5, 0.5).unwrap();
    check(&shaper, &b, &[a + bonus, -a, -a, a]);
    let nov = shaper.shape(&b).unwrap().stats.novelty.unwrap();
    assert_eq!((nov.correct_responses, nov.bonused_responses), (2, 1));
}

#[test]
fn from_matrix_and_from_flat_agree() {
    let m = array![[1.0f32, 0.0, 1.0], [0.0, 0.0, 1.0]];
    let a = Batch::from_matrix(m.view()).unwrap();
    let f = Batch::from_flat(m.iter().map(|&x| Some(x)).collect::<Array1<_>>(), &[3, 3]).unwrap();
    assert_eq!(a, f);
    assert_eq!(a.offsets(), &[0, 3, 6]);
}

#[test]
fn bad_batches_are_typed_errors() {
    assert_eq!(Group::new(vec![]), Err(Error::EmptyGroup { group: 0 }));
    assert!(matches!(
        Group::new(vec![Some(1.0), Some(f32::NAN)]),
        Err(Error::NonFiniteReward {
            group: 0,
            index: 1,
            ..
        })
    ));
    let g = Group::new(vec![Some(1.0), Some(0.0)]).unwrap();
    assert_eq!(
        g.clone().with_seq_logprob(vec![-1.0]),
        Err(Error::LengthMismatch {
            field: "seq_logprob",
            expected: 2,
            found: 1
        })
    );
    assert!(matches!(
        g.clone().with_seq_logprob(vec![-1.0, f32::NEG_INFINITY]),
        Err(Error::NonFiniteLogprob { index: 1, .. })
    ));
    let with_s = g.clone().with_seq_logprob(vec![-1.0, -2.0]).unwrap();
    assert!(matches!(
        Batch::from_groups([&with_s, &g]),
        Err(Error::InconsistentField {
            field: "seq_logprob",
            group: 1,
            ..
        })
    ));
    assert_eq!(
        Batch::from_flat(array![Some(1.0), Some(0.0)], &[1, 0, 1]),
        Err(Error::EmptyGroup { group: 1 })
    );
    assert_eq!(
        Batch::from_flat(array![Some(1.0), Some(0.0)], &[3]),
        Err(Error::GroupSizesMismatch {
            sum: 3,
            responses: 2
        })
    );
    let b = Batch::from_groups([&g]).unwrap();
    assert_eq!(Xrpo::paper().shape(&b), Err(Error::MissingSeqLogprob));
    assert_eq!(
        Grpo::default().shape_into(&b, &mut [0.0; 3]),
        Err(Error::OutputLength {
            expected: 2,
            found: 3
        })
    );
}

#[test]
fn config_default_is_paper_xrpo_and_rejects_unknown_fields() {
    let cfg = AdvantageConfig::default();
    assert_eq!(cfg.estimator, Estimator::Grpo);
    assert_eq!(cfg.epsilon, 1e-4);
    assert_eq!(
        (cfg.novelty.lambda_novelty, cfg.novelty.kappa_clip),
        (2.5, 0.5)
    );
    assert!(cfg.novelty.enabled);
    let json = serde_json::to_string(&cfg).unwrap();
    let back: AdvantageConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, cfg);
    let partial: AdvantageConfig =
        serde_json::from_str(r#"{"estimator": "rloo", "novelty": {"enabled": false}}"#).unwrap();
    assert_eq!(partial.estimator, Estimator::Rloo);
    assert_eq!(partial.novelty.kappa_clip, 0.5);
    let err = serde_json::from_str::<AdvantageConfig>(r#"{"epsilom": 1e-6}"#).unwrap_err();
    assert!(err.to_string().contains("epsilom"), "{err}");
    let err = serde_json::from_str::<AdvantageConfig>(r#"{"novelty": {"kappa": 1}}"#).unwrap_err();
    assert!(err.to_string().contains("kappa"), "{err}");
}

#[test]
fn config_validation_and_build() {
    for (cfg, field) in [
        (
            AdvantageConfig {
                epsilon: -1e-4,
                ..Default::default()
            },
            "epsilon",
        ),
        (
            AdvantageConfig {
                epsilon: f64::NAN,
                ..Default::default()
            },
            "epsilon",
        ),
        (
            AdvantageConfig {
                novelty: xrpo_advantage::NoveltyConfig {
                    lambda_novelty: -2.5,
                    ..Default::default()
                },
                ..Default::default()
            },
            "novelty.lambda_novelty",
        ),
        (
            AdvantageConfig {
                novelty: xrpo_advantage::NoveltyConfig {
                    kappa_clip: f64::INFINITY,
                    ..Default::default()
                },
                ..Default::default()
            },
            "novelty.kappa_clip",
        ),
    ] {
        let err = cfg.validate().unwrap_err();
        assert!(err.to_string().starts_with(field), "{err}");
        assert!(cfg.build().is_err());
    }
    assert!(Grpo::new(StdScale::Group, -1.0).is_err());
    assert!(NoveltySharpening::new(DrGrpo, 1.0, -0.5).is_err());

    // The default config builds the paper's XRPO.
    let r = [Some(1.0), Some(0.0), Some(1.0), Some(0.0)];
    let s = [-0.2, -0.4, -0.9, -0.5];
    let b = batch(&r, Some(&s));
    let built = AdvantageConfig::default().build().unwrap();
    assert_eq!(built.shape(&b).unwrap(), Xrpo::paper().shape(&b).unwrap());
    let rloo = AdvantageConfig {
        estimator: Estimator::Rloo,
        novelty: xrpo_advantage::NoveltyConfig {
            enabled: false,
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        rloo.build().unwrap().shape(&b).unwrap(),
        Rloo.shape(&b).unwrap()
    );
}

#[test]
fn stats_merge_and_metrics() {
    let b1 = batch(&[Some(1.0), Some(0.0)], Some(&[-1.0, -1.0]));
    let b2 = batch(&[Some(1.0), Some(1.0)], Some(&[-1.0, -1.0]));
    let mut s = Xrpo::paper().shape(&b1).unwrap().stats;
    s.merge(&Xrpo::paper().shape(&b2).unwrap().stats);
    assert_eq!((s.groups, s.responses, s.zero_std_groups), (2, 4, 1));
    assert_eq!(s.frac_reward_zero_std(), 0.5);
    let m = s.metrics();
    assert!(m.contains(&("frac_reward_zero_std", 0.5)));
    assert!(m.iter().any(|(k, _)| *k == "advantage/novelty_bonus_mean"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

    /// The optimised flat-slice code agrees with the naive reference on random groups
    /// (binary or continuous rewards, some missing) for every estimator, sharpened or not.
    #[test]
    fn optimised_matches_reference(
        r in proptest::collection::vec(
            proptest::option::weighted(0.9, proptest::prop_oneof![
                proptest::sample::select(vec![0.0f64, 1.0]),
                -2.0f64..2.0,
            ]),
            1..20,
        ),
        s_seed in proptest::collection::vec(-4.0f64..0.0, 20),
        lambda in 0.0f64..5.0,
        kappa in 0.0f64..1.5,
    ) {
        // Round through f32 first so both sides see the same inputs.
        let r: Vec<Option<f64>> = r.iter().map(|x| x.map(|v| f64::from(v as f32))).collect();
        let s: Vec<f64> = s_seed[..r.len()].iter().map(|&v| f64::from(v as f32)).collect();
        let b = batch(&r, Some(&s));
        let sharp = |a: Vec<f64>| reference::sharpen(&a, &r, &s, lambda, kappa);
        let has_scored = r.iter().any(Option::is_some);
        check(&Grpo::default(), &b, &reference::grpo(&r, 1e-4));
        check(&DrGrpo, &b, &reference::dr_grpo(&r));
        check(&Rloo, &b, &reference::rloo(&r));
        if has_scored {
            check(&NoveltySharpening::new(Grpo::default(), lambda, kappa).unwrap(), &b, &sharp(reference::grpo(&r, 1e-4)));
            check(&NoveltySharpening::new(Rloo, lambda, kappa).unwrap(), &b, &sharp(reference::rloo(&r)));
        }
    }
}
