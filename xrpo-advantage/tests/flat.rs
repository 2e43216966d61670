//! The flat fast path (`FlatBatch`, `AdvantageShaper::shape_flat`) against the `Batch`
//! path: same advantages and stats for every estimator and scale, and typed errors for
//! bad flat input.

use proptest::prelude::*;
use xrpo_advantage::{
    AdvantageShaper, Batch, DrGrpo, Error, FlatBatch, Group, Grpo, NoveltySharpening, Rloo,
    ShapingStats, StdScale, Xrpo,
};

/// One group as (rewards, s(y_i), lengths).
type RawGroup = (Vec<Option<f32>>, Vec<f32>, Vec<u32>);

/// A group of 1..12 responses: binary or continuous rewards with ~15 % missing, or every
/// reward missing; a few empty responses (length 0).
fn group() -> impl Strategy<Value = RawGroup> {
    (1usize..12, 0u8..8).prop_flat_map(|(n, kind)| {
        let reward = if kind == 0 {
            Just(None).boxed()
        } else {
            prop_oneof![
                3 => prop_oneof![Just(0.0f32), Just(1.0f32)].prop_map(Some),
                2 => (-3.0f32..3.0).prop_map(Some),
                1 => Just(None),
            ]
            .boxed()
        };
        (
            proptest::collection::vec(reward, n),
            proptest::collection::vec(-6.0f32..0.0, n),
            proptest::collection::vec(prop_oneof![1 => Just(0u32), 5 => 1u32..300], n),
        )
    })
}

/// The `Batch` of the groups (with or without lengths).
fn batch_of(groups: &[RawGroup], with_lengths: bool) -> Batch {
    let gs: Vec<Group> = groups
        .iter()
        .map(|(r, s, l)| {
            let g = Group::new(r.clone()).and_then(|g| g.with_seq_logprob(s.clone()));
            if with_lengths {
                g.and_then(|g| g.with_lengths(l.clone()))
            } else {
                g
            }
            .expect("strategy makes valid groups")
        })
        .collect();
    Batch::from_groups(&gs).expect("all groups carry the same fields")
}

/// The flat arrays of the groups: rewards with NaN = missing, s(y_i) with NaN where the
/// reward is missing (never read), lengths, offsets.
fn flat_of(groups: &[RawGroup]) -> (Vec<f32>, Vec<f32>, Vec<u32>, Vec<usize>) {
    let (mut r, mut s, mut l, mut offsets) = (vec![], vec![], vec![], vec![0]);
    for (gr, gs, gl) in groups {
        for ((ri, si), li) in gr.iter().zip(gs).zip(gl) {
            r.push(ri.unwrap_or(f32::NAN));
            s.push(if ri.is_some() { *si } else { f32::NAN });
            l.push(*li);
        }
        offsets.push(r.len());
    }
    (r, s, l, offsets)
}

/// A shaper that only implements `shape_into`, so `shape_flat` is the trait's default.
struct DefaultPath<S>(S);

impl<S: AdvantageShaper> AdvantageShaper for DefaultPath<S> {
    fn shape_into(&self, batch: &Batch, out: &mut [f32]) -> Result<ShapingStats, Error> {
        self.0.shape_into(batch, out)
    }
}

fn shapers(lambda: f64, kappa: f64) -> Vec<(&'static str, Box<dyn AdvantageShaper>)> {
    let grpo = |scale| Grpo::new(scale, 1e-4).expect("valid ε");
    let sharp = |base: Box<dyn AdvantageShaper>| -> Box<dyn AdvantageShaper> {
        Box::new(NoveltySharpening::new(base, lambda, kappa).expect("valid λ, κ"))
    };
    vec![
        ("grpo", Box::new(grpo(StdScale::Group))),
        ("grpo/batch", Box::new(grpo(StdScale::Batch))),
        ("grpo/none", Box::new(grpo(StdScale::None))),
        ("dr_grpo", Box::new(DrGrpo)),
        ("rloo", Box::new(Rloo)),
        ("xrpo", Box::new(Xrpo::paper())),
        ("sharp grpo", sharp(Box::new(grpo(StdScale::Group)))),
        ("sharp grpo/batch", sharp(Box::new(grpo(StdScale::Batch)))),
        ("sharp grpo/none", sharp(Box::new(grpo(StdScale::None)))),
        ("sharp dr_grpo", sharp(Box::new(DrGrpo))),
        ("sharp rloo", sharp(Box::new(Rloo))),
        ("default path", Box::new(DefaultPath(Xrpo::paper()))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `shape_flat` gives the `Batch` path's advantages (within 1e-6) and stats, for every
    /// estimator and scale, plain and sharpened, with and without lengths.
    #[test]
    fn flat_path_equals_batch_path(
        groups in proptest::collection::vec(group(), 1..10),
        lambda in 0.0f64..10.0,
        kappa in 0.0f64..2.0,
        with_lengths in any::<bool>(),
    ) {
        let b = batch_of(&groups, with_lengths);
        let (r, s, l, offsets) = flat_of(&groups);
        let mut f = FlatBatch::new(&r, &offsets).unwrap().with_seq_logprob(&s).unwrap();
        if with_lengths {
            f = f.with_lengths(&l).unwrap();
        }
        for (name, shaper) in shapers(lambda, kappa) {
            let want = shaper.shape(&b).unwrap();
            // Poisoned output: the flat path must write every slot.
            let mut got = vec![f32::NAN; f.len()];
            let stats = shaper.shape_flat(&f, &mut got).unwrap();
            for (i, (&x, &y)) in got.iter().zip(want.advantages.iter()).enumerate() {
                prop_assert!((x - y).abs() <= 1e-6, "{name}, response {i}: flat {x} vs batch {y}");
            }
            prop_assert_eq!(&stats, &want.stats, "{}", name);
        }
    }
}

#[test]
fn flat_batch_shape_errors_are_typed() {
    let r = [1.0f32, 0.0, 1.0];
    assert_eq!(
        FlatBatch::new(&r, &[]),
        Err(Error::InvalidOffsets {
            index: 0,
            reason: "offsets are empty (an empty batch is [0])"
        })
    );
    assert!(matches!(
        FlatBatch::new(&r, &[1, 3]),
        Err(Error::InvalidOffsets { index: 0, .. })
    ));
    assert_eq!(
        FlatBatch::new(&r, &[0, 2, 2, 3]),
        Err(Error::EmptyGroup { group: 1 })
    );
    assert!(matches!(
        FlatBatch::new(&r, &[0, 2, 1, 3]),
        Err(Error::InvalidOffsets { index: 2, .. })
    ));
    assert_eq!(
        FlatBatch::new(&r, &[0, 2]),
        Err(Error::GroupSizesMismatch {
            sum: 2,
            responses: 3
        })
    );
    let f = FlatBatch::new(&r, &[0, 3]).unwrap();
    assert_eq!(
        f.with_seq_logprob(&[0.0]),
        Err(Error::LengthMismatch {
            field: "seq_logprob",
            expected: 3,
            found: 1
        })
    );
    assert_eq!(
        Grpo::default().shape_flat(&f, &mut [0.0; 2]),
        Err(Error::OutputLength {
            expected: 3,
            found: 2
        })
    );
    assert_eq!(
        Xrpo::paper().shape_flat(&f, &mut [0.0; 3]),
        Err(Error::MissingSeqLogprob)
    );
    // An empty batch is one offset.
    let empty = FlatBatch::new(&[], &[0]).unwrap();
    assert_eq!(empty.num_groups(), 0);
    assert_eq!(
        Grpo::default().shape_flat(&empty, &mut []).unwrap(),
        ShapingStats::default()
    );
}

#[test]
fn flat_values_are_checked_while_shaping() {
    let r = [1.0f32, 0.0, f32::NAN, 1.0, f32::INFINITY];
    let offsets = [0, 2, 5];
    let f = FlatBatch::new(&r, &offsets).unwrap();
    // NaN is a missing reward; ∞ is an error naming group 1, response 2.
    for shaper in shapers(2.5, 0.5).iter().take(5) {
        assert_eq!(
            shaper.1.shape_flat(&f, &mut [0.0; 5]),
            Err(Error::NonFiniteReward {
                group: 1,
                index: 2,
                value: f32::INFINITY
            }),
            "{}",
            shaper.0
        );
    }
    // A NaN log-prob of a missing reward is never read; of a scored one it is an error.
    let r = [1.0f32, 0.0, f32::NAN, 1.0, 0.0];
    let f = FlatBatch::new(&r, &offsets).unwrap();
    let s = [-0.5f32, -0.2, f32::NAN, -0.9, -0.1];
    let mut out = [0.0f32; 5];
    let stats = Xrpo::paper()
        .shape_flat(&f.with_seq_logprob(&s).unwrap(), &mut out)
        .unwrap();
    assert_eq!(stats.missing_rewards, 1);
    assert_eq!(out[2], 0.0);
    let s = [-0.5f32, -0.2, -0.3, f32::NEG_INFINITY, -0.1];
    assert!(matches!(
        Xrpo::paper().shape_flat(&f.with_seq_logprob(&s).unwrap(), &mut out),
        Err(Error::NonFiniteLogprob {
            group: 1,
            index: 1,
            ..
        })
    ));
    // The default path reports the same errors (through `Batch`).
    let s = [-0.5f32, -0.2, -0.3, f32::NAN, -0.1];
    assert!(matches!(
        DefaultPath(Xrpo::paper()).shape_flat(&f.with_seq_logprob(&s).unwrap(), &mut out),
        Err(Error::NonFiniteLogprob { .. })
    ));
}

#[test]
fn flat_golden_grpo_and_xrpo_by_hand() {
    // Group 0: rewards 1, 0, 1, 0 → mean 0.5, Bessel std 0.57735, A = ±0.5/(0.57735 + 1e-4).
    // Group 1: 1, NaN, 1 → one value scored twice: zero std, A = 0 (and 0 for the NaN).
    let r = [1.0f32, 0.0, 1.0, 0.0, 1.0, f32::NAN, 1.0];
    let offsets = [0, 4, 7];
    let f = FlatBatch::new(&r, &offsets).unwrap();
    let mut out = [f32::NAN; 7];
    let stats = Grpo::default().shape_flat(&f, &mut out).unwrap();
    let a = 0.5 / (1.0f64 / 3.0f64.sqrt() + 1e-4);
    let want = [a, -a, a, -a, 0.0, 0.0, 0.0];
    for (x, y) in out.iter().zip(want) {
        assert!((f64::from(*x) - y).abs() < 1e-6, "{out:?}");
    }
    assert_eq!((stats.zero_std_groups, stats.missing_rewards), (1, 1));
    // XRPO: s = -0.2, -0.4, -0.9, -0.5 → s̄ = -0.5; response 2 (correct, s − s̄ = −0.4)
    // gets min(2.5 · (1 − e^−0.4), 0.5 · a) = min(0.824, 0.433) = 0.5 · a (clipped);
    // response 0 (s − s̄ = +0.3) gets nothing.
    let s = [-0.2f32, -0.4, -0.9, -0.5, -0.1, f32::NAN, -0.3];
    let stats = Xrpo::paper()
        .shape_flat(&f.with_seq_logprob(&s).unwrap(), &mut out)
        .unwrap();
    assert!((f64::from(out[2]) - 1.5 * a).abs() < 1e-6, "{out:?}");
    assert!((f64::from(out[0]) - a).abs() < 1e-6, "{out:?}");
    let nov = stats.novelty.unwrap();
    assert_eq!(
        (
            nov.correct_responses,
            nov.bonused_responses,
            nov.clipped_responses
        ),
        (2, 1, 1)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A group counts as zero-std exactly when its ≥ 2 scored rewards are all equal, also
    /// for rewards one ulp apart or tiny (the test of Σ (r − mean)² = 0).
    #[test]
    fn zero_std_is_exactly_all_equal(
        groups in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![
                    Just(1.0f32),
                    Just(1.0f32 + f32::EPSILON),
                    Just(f32::from_bits(1)),
                    Just(0.0f32),
                    Just(-3.5f32),
                    Just(f32::NAN),
                ],
                1..20,
            ),
            1..8,
        ),
    ) {
        let mut r = vec![];
        let mut offsets = vec![0];
        let mut want = 0;
        for g in &groups {
            r.extend_from_slice(g);
            offsets.push(r.len());
            let scored: Vec<f32> = g.iter().copied().filter(|x| !x.is_nan()).collect();
            want += usize::from(scored.len() >= 2 && scored.iter().all(|&x| x == scored[0]));
        }
        let f = FlatBatch::new(&r, &offsets).unwrap();
        let mut out = vec![0.0; r.len()];
        for shaper in [&Grpo::default() as &dyn AdvantageShaper, &DrGrpo, &Rloo] {
            let stats = shaper.shape_flat(&f, &mut out).unwrap();
            prop_assert_eq!(stats.zero_std_groups, want);
            prop_assert!(out.iter().all(|a| a.is_finite()));
        }
    }
}

#[test]
fn huge_lambda_and_kappa_stay_finite() {
    // λ, κ beyond f32's range (valid: finite, ≥ 0): every advantage stays finite, the
    // incorrect responses keep A_i, and the Batch path agrees.
    let r = [1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0];
    let s = [-0.2f32, -0.4, -0.9, -0.5, -0.1, -3.0];
    let offsets = [0, 4, 6];
    let f = FlatBatch::new(&r, &offsets)
        .unwrap()
        .with_seq_logprob(&s)
        .unwrap();
    let mut plain = [0.0f32; 6];
    Grpo::default().shape_flat(&f, &mut plain).unwrap();
    for (lambda, kappa) in [(1e300, 0.5), (2.5, 1e300), (1e300, 1e300)] {
        let shaper = NoveltySharpening::new(Grpo::default(), lambda, kappa).unwrap();
        let mut out = [0.0f32; 6];
        shaper.shape_flat(&f, &mut out).unwrap();
        for (i, (&a, &p)) in out.iter().zip(&plain).enumerate() {
            assert!(a.is_finite(), "λ {lambda}, κ {kappa}: {out:?}");
            if p <= 0.0 {
                assert_eq!(a, p, "response {i} is incorrect");
            }
        }
        assert_eq!(
            shaper
                .shape(&f.to_batch().unwrap())
                .unwrap()
                .advantages
                .to_vec(),
            out.to_vec()
        );
    }
}
