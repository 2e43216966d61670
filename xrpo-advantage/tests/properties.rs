//! Property tests of the invariants in spec §3 and the `AdvantageShaper` contract.

use proptest::prelude::*;
use xrpo_advantage::{
    AdvantageShaper, Batch, DrGrpo, Group, Grpo, NoveltySharpening, Rloo, StdScale, Xrpo,
};

/// One group: 1..12 responses, rewards binary or continuous, ~15% missing, log-probs in
/// a realistic range.
fn group() -> impl Strategy<Value = (Vec<Option<f32>>, Vec<f32>)> {
    (1usize..12).prop_flat_map(|n| {
        let reward = prop_oneof![
            3 => prop_oneof![Just(0.0f32), Just(1.0f32)].prop_map(Some),
            2 => (-3.0f32..3.0).prop_map(Some),
            1 => Just(None),
        ];
        (
            proptest::collection::vec(reward, n),
            proptest::collection::vec(-6.0f32..0.0, n),
        )
    })
}

fn batch_of(groups: &[(Vec<Option<f32>>, Vec<f32>)]) -> Batch {
    let gs: Vec<Group> = groups
        .iter()
        .map(|(r, s)| {
            Group::new(r.clone())
                .and_then(|g| g.with_seq_logprob(s.clone()))
                .expect("strategy makes valid groups")
        })
        .collect();
    Batch::from_groups(&gs).expect("all groups carry seq_logprob")
}

fn bases() -> Vec<Box<dyn AdvantageShaper>> {
    vec![
        Box::new(Grpo::default()),
        Box::new(Grpo::new(StdScale::Batch, 1e-4).expect("valid ε")),
        Box::new(DrGrpo),
        Box::new(Rloo),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    /// Sharpening keeps each advantage's sign, never lowers a correct response's
    /// advantage, adds at most κ_clip·A, and leaves A ≤ 0 untouched.
    #[test]
    fn sharpening_bounds(
        groups in proptest::collection::vec(group(), 1..6),
        lambda in 0.0f64..10.0,
        kappa in 0.0f64..2.0,
    ) {
        let b = batch_of(&groups);
        for base in bases() {
            let plain = base.shape(&b).unwrap().advantages;
            let sharp = NoveltySharpening::new(&base, lambda, kappa).unwrap().shape(&b).unwrap();
            for (&a, &a_plus) in plain.iter().zip(sharp.advantages.iter()) {
                prop_assert!(a_plus.is_finite());
                if a > 0.0 {
                    prop_assert!(a_plus >= a, "bonus negative: {a} -> {a_plus}");
                    let cap = f64::from(a) * (1.0 + kappa);
                    prop_assert!(f64::from(a_plus) <= cap * (1.0 + 1e-6), "{a} -> {a_plus}, κ {kappa}");
                } else {
                    prop_assert_eq!(a_plus, a, "incorrect response changed");
                }
                prop_assert_eq!(a_plus.signum(), a.signum());
            }
            let nov = sharp.stats.novelty.clone().unwrap();
            prop_assert!(nov.bonus_sum >= 0.0);
            prop_assert!(nov.bonused_responses <= nov.correct_responses);
            prop_assert!(sharp.stats.mean_novelty_bonus() <= lambda + 1e-9);
        }
    }

    /// Every shaper gives finite advantages, 0 for missing rewards, and consistent counts.
    #[test]
    fn finite_and_missing_is_zero(groups in proptest::collection::vec(group(), 1..8)) {
        let b = batch_of(&groups);
        let mut shapers = bases();
        shapers.push(Box::new(Xrpo::paper()));
        for shaper in &shapers {
            let out = shaper.shape(&b).unwrap();
            prop_assert_eq!(out.advantages.len(), b.len());
            for (a, r) in out.advantages.iter().zip(b.rewards()) {
                prop_assert!(a.is_finite());
                if r.is_none() {
                    prop_assert_eq!(*a, 0.0);
                }
            }
            prop_assert_eq!(out.stats.missing_rewards, b.missing_rewards());
            prop_assert!(out.stats.undersized_groups + out.stats.zero_std_groups <= b.num_groups());
        }
    }

    /// Permuting a group's responses permutes their advantages (for every shaper).
    #[test]
    fn permutation_equivariant(g in group(), seed in any::<u64>()) {
        let n = g.0.len();
        // A permutation from the seed (Fisher–Yates with a small LCG: no rand needed).
        let mut perm: Vec<usize> = (0..n).collect();
        let mut x = seed | 1;
        for i in (1..n).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (x >> 33) as usize % (i + 1));
        }
        let permuted = (
            perm.iter().map(|&i| g.0[i]).collect::<Vec<_>>(),
            perm.iter().map(|&i| g.1[i]).collect::<Vec<_>>(),
        );
        let (b, bp) = (batch_of(&[g]), batch_of(&[permuted]));
        let mut shapers = bases();
        shapers.push(Box::new(Xrpo::paper()));
        for shaper in &shapers {
            let a = shaper.shape(&b).unwrap().advantages;
            let ap = shaper.shape(&bp).unwrap().advantages;
            for (k, &i) in perm.iter().enumerate() {
                // Sums in another order may differ in the last bits.
                prop_assert!((ap[k] - a[i]).abs() <= 1e-5 * (1.0 + a[i].abs()), "{:?} vs {:?}", ap, a);
            }
        }
    }

    /// Dr.GRPO (and GRPO, and RLOO) advantages sum to 0 over each group's scored responses.
    #[test]
    fn baseline_advantages_are_centred(groups in proptest::collection::vec(group(), 1..6)) {
        let b = batch_of(&groups);
        for shaper in bases() {
            let a = shaper.shape(&b).unwrap().advantages;
            for g in 0..b.num_groups() {
                let range = b.group_range(g);
                let sum: f64 = a.slice(ndarray::s![range.clone()]).iter().map(|&x| f64::from(x)).sum();
                let scale: f64 = a.slice(ndarray::s![range]).iter().map(|&x| f64::from(x).abs()).sum();
                prop_assert!(sum.abs() <= 1e-5 * (1.0 + scale), "group {g} sums to {sum}");
            }
        }
    }

    /// Groups in a batch are independent: shaping a batch equals shaping each group alone
    /// (except batch-std scaling, which is batch-wide by design).
    #[test]
    fn groups_are_independent(groups in proptest::collection::vec(group(), 1..6)) {
        let b = batch_of(&groups);
        let shaper = Xrpo::paper();
        let whole = shaper.shape(&b).unwrap().advantages;
        for (g, grp) in groups.iter().enumerate() {
            let alone = shaper.shape(&batch_of(std::slice::from_ref(grp))).unwrap().advantages;
            let part = whole.slice(ndarray::s![b.group_range(g)]);
            prop_assert_eq!(part, alone.view());
        }
    }
}
