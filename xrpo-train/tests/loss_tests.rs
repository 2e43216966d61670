//! Losses against values computed independently in plain f64 arithmetic.

use candle_core::{Device, Tensor, Var};
use proptest::prelude::*;
use xrpo_train::loss::{
    Aggregation, KlPenalty, LossError, LossInputs, PolicyLoss, SequenceClipLoss, TokenClipLoss,
};

const TOL: f64 = 1e-5;

/// A batch in plain numbers: log-probs as rows, advantages, masks.
#[derive(Debug)]
struct Batch {
    new: Vec<Vec<f64>>,
    old: Vec<Vec<f64>>,
    reference: Option<Vec<Vec<f64>>>,
    adv: Vec<f64>,
    mask: Vec<Vec<f64>>,
}

fn t2(rows: &[Vec<f64>]) -> Tensor {
    let flat: Vec<f32> = rows.iter().flatten().map(|&x| x as f32).collect();
    Tensor::from_vec(flat, (rows.len(), rows[0].len()), &Device::Cpu).unwrap()
}

/// Runs `loss` on `batch`; returns (loss, grad wrt new log-probs, stats).
fn run(loss: &dyn PolicyLoss, b: &Batch) -> (f64, Vec<Vec<f32>>, xrpo_train::loss::LossStats) {
    let new = Var::from_tensor(&t2(&b.new)).unwrap();
    let old = t2(&b.old);
    let reference = b.reference.as_ref().map(|r| t2(r));
    let adv = Tensor::new(
        b.adv.iter().map(|&x| x as f32).collect::<Vec<_>>(),
        &Device::Cpu,
    )
    .unwrap();
    let mask = t2(&b.mask);
    let out = loss
        .compute(&LossInputs {
            logprobs: new.as_tensor(),
            old_logprobs: &old,
            ref_logprobs: reference.as_ref(),
            advantages: &adv,
            mask: &mask,
        })
        .unwrap();
    assert_eq!(out.loss.rank(), 0, "loss must be a scalar");
    let value = out.loss.to_scalar::<f32>().unwrap() as f64;
    let grads = out.loss.backward().unwrap();
    let g = grads
        .get(new.as_tensor())
        .expect("gradient reaches new logprobs");
    (value, g.to_vec2::<f32>().unwrap(), out.stats)
}

/// The hand example: two responses, the second longer, one padded position.
///
/// Response 0, A = +1: ρ = 1.5 (clipped at 1.28: ℓ = −1.28, clip-high), ρ = 1.0 (ℓ = −1).
/// Response 1, A = −1: ρ = 0.5 (min(−0.5, −0.8) = −0.8: ℓ = 0.8, clip-low),
///                     ρ = 1.1 (ℓ = 1.1), ρ = 1.0 (ℓ = 1.0).
/// token-mean = (−1.28 − 1 + 0.8 + 1.1 + 1) / 5 = 0.62 / 5 = 0.124.
/// seq-mean-token-mean = ((−2.28 / 2) + (2.9 / 3)) / 2 = (−1.14 + 0.96667) / 2 = −0.086667.
/// seq-mean-token-sum-norm (L_norm = 3) = 0.62 / (2 · 3) = 0.103333.
fn hand_batch() -> Batch {
    let old = vec![vec![-1.0, -2.0, -0.3], vec![-0.7, -1.2, -0.4]];
    let ratios = [[1.5, 1.0, 7.0], [0.5, 1.1, 1.0]];
    let new = old
        .iter()
        .zip(ratios.iter())
        .map(|(o, r)| {
            o.iter()
                .zip(r.iter())
                .map(|(o, r)| o + f64::ln(*r))
                .collect()
        })
        .collect();
    Batch {
        new,
        old,
        reference: None,
        adv: vec![1.0, -1.0],
        mask: vec![vec![1.0, 1.0, 0.0], vec![1.0, 1.0, 1.0]],
    }
}

#[test]
fn token_clip_hand_values_for_each_aggregation() {
    let b = hand_batch();
    let cases = [
        (Aggregation::TokenMean, 0.62 / 5.0),
        (
            Aggregation::SeqMeanTokenMean,
            (-2.28 / 2.0 + 2.9 / 3.0) / 2.0,
        ),
        (Aggregation::SeqMeanTokenSumNorm, 0.62 / 6.0),
    ];
    for (aggregation, expected) in cases {
        let loss = TokenClipLoss {
            aggregation,
            ..Default::default()
        };
        let (value, _, stats) = run(&loss, &b);
        assert!(
            (value - expected).abs() < TOL,
            "{aggregation:?}: {value} vs {expected}"
        );
        assert!((stats.clip_low - 0.2).abs() < TOL, "{stats:?}");
        assert!((stats.clip_high - 0.2).abs() < TOL, "{stats:?}");
        assert!((stats.clip_region - 0.4).abs() < TOL, "{stats:?}");
        assert_eq!(stats.kl, 0.0);
    }
}

#[test]
fn token_clip_gradient_is_zero_where_clipped_and_masked() {
    // Token-mean: ∂ℓ/∂log π_θ = −A·ρ/5 where unclipped, 0 where the clip binds or masked.
    let b = hand_batch();
    let (_, g, _) = run(&TokenClipLoss::default(), &b);
    let expected = [[0.0, -1.0 / 5.0, 0.0], [0.0, 1.1 / 5.0, 1.0 / 5.0]];
    for (i, (gi, ei)) in g.iter().zip(expected.iter()).enumerate() {
        for (t, (gt, et)) in gi.iter().zip(ei.iter()).enumerate() {
            assert!(
                (*gt as f64 - et).abs() < TOL,
                "grad[{i}][{t}] = {gt} vs {et}"
            );
        }
    }
}

#[test]
fn sum_norm_uses_the_configured_length() {
    let b = hand_batch();
    let loss = TokenClipLoss {
        aggregation: Aggregation::SeqMeanTokenSumNorm,
        norm_len: Some(10),
        ..Default::default()
    };
    let (value, _, _) = run(&loss, &b);
    assert!((value - 0.62 / 20.0).abs() < TOL, "{value}");
}

/// GSPO by hand. Response 0 (A = +1): log-ratios 0.001, 0, 0 → mean 3.33e-4,
/// s_0 = e^{3.33e-4} ≈ 1.000333, inside [1 − 3e-4, 1 + 4e-4], so ℓ_0 = −s_0. Response 1
/// (A = −1): log-ratios −2e-4, 0 (third masked, its log-ratio 5 ignored) → mean −1e-4,
/// s_1 = e^{−1e-4}, inside the range, ℓ_1 = s_1. Loss = (ℓ_0 + ℓ_1) / 2.
#[test]
fn sequence_clip_hand_values_and_gradient() {
    let old = vec![vec![-1.0, -2.0, -0.3], vec![-0.7, -1.2, -0.4]];
    let new = vec![vec![-0.999, -2.0, -0.3], vec![-0.7002, -1.2, 4.6]];
    let b = Batch {
        new,
        old,
        reference: None,
        adv: vec![1.0, -1.0],
        mask: vec![vec![1.0, 1.0, 1.0], vec![1.0, 1.0, 0.0]],
    };
    // Response 0 has 3 tokens: mean log-ratio 0.001 / 3.
    let s0 = (0.001f64 / 3.0).exp();
    let s1 = (-0.0002f64 / 2.0).exp();
    let l0 = -f64::min(s0, s0.clamp(1.0 - 3e-4, 1.0 + 4e-4));
    let l1 = -f64::min(-s1, -s1.clamp(1.0 - 3e-4, 1.0 + 4e-4));
    let expected = (l0 + l1) / 2.0;
    let (value, g, stats) = run(&SequenceClipLoss::default(), &b);
    // f32 rounding of the log-probs limits the precision of s to ~1e-7 relative.
    assert!((value - expected).abs() < 1e-5, "{value} vs {expected}");
    // s0 = e^{3.33e-4} ≈ 1.000333 is inside [0.9997, 1.0004]: no clip in response 0.
    assert!(s0 < 1.0 + 4e-4);
    assert_eq!(stats.clip_high, 0.0);
    // ∂ℓ_i/∂log π_θ,t = −A_i s_i / |y_i|, then / b.
    let e0 = -s0 / 3.0 / 2.0;
    let e1 = s1 / 2.0 / 2.0;
    for (t, gt) in g[0].iter().enumerate() {
        assert!((*gt as f64 - e0).abs() < 1e-5, "g0 {t}: {gt}");
    }
    assert!((g[1][0] as f64 - e1).abs() < 1e-5);
    assert!((g[1][1] as f64 - e1).abs() < 1e-5);
    assert_eq!(g[1][2], 0.0, "masked token gets no gradient");
}

#[test]
fn sequence_clip_binds_outside_the_small_range() {
    // Mean log-ratio 0.001 > ln(1.0004): clipped, so ℓ = −1.0004 and no gradient.
    let b = Batch {
        new: vec![vec![-0.999, -1.999]],
        old: vec![vec![-1.0, -2.0]],
        reference: None,
        adv: vec![1.0],
        mask: vec![vec![1.0, 1.0]],
    };
    let (value, g, stats) = run(&SequenceClipLoss::default(), &b);
    assert!((value + 1.0004).abs() < 1e-5, "{value}");
    assert_eq!(stats.clip_high, 1.0);
    assert_eq!(stats.clip_region, 1.0);
    assert!(g[0].iter().all(|&x| x == 0.0), "{g:?}");
}

#[test]
fn k3_kl_penalty_by_hand() {
    // On-policy (ρ = 1) with A = 0: the surrogate is 0, only β·k3 remains.
    // d = log π_ref − log π_θ: 0.5 and −0.2. k3 = e^d − d − 1.
    let b = Batch {
        new: vec![vec![-1.0, -1.0]],
        old: vec![vec![-1.0, -1.0]],
        reference: Some(vec![vec![-0.5, -1.2]]),
        adv: vec![0.0],
        mask: vec![vec![1.0, 1.0]],
    };
    let k = |d: f64| d.exp() - d - 1.0;
    let kl_mean = (k(0.5) + k(-0.2)) / 2.0;
    let loss = TokenClipLoss {
        kl: KlPenalty { beta: 0.1 },
        ..Default::default()
    };
    let (value, g, stats) = run(&loss, &b);
    assert!((value - 0.1 * kl_mean).abs() < TOL, "{value}");
    assert!((stats.kl - kl_mean).abs() < TOL);
    // ∂k3/∂log π_θ = 1 − e^d; times β / 2 tokens.
    assert!((g[0][0] as f64 - 0.1 * (1.0 - 0.5f64.exp()) / 2.0).abs() < TOL);
    // β = 0: KL reported, not added.
    let (value0, _, stats0) = run(&TokenClipLoss::default(), &b);
    assert!(value0.abs() < TOL);
    assert!((stats0.kl - kl_mean).abs() < TOL);
}

#[test]
fn missing_reference_with_positive_beta_is_an_error() {
    let b = hand_batch();
    let new = t2(&b.new);
    let old = t2(&b.old);
    let adv = Tensor::new(&[1.0f32, -1.0], &Device::Cpu).unwrap();
    let mask = t2(&b.mask);
    let loss = SequenceClipLoss {
        kl: KlPenalty { beta: 0.04 },
        ..Default::default()
    };
    let err = loss
        .compute(&LossInputs {
            logprobs: &new,
            old_logprobs: &old,
            ref_logprobs: None,
            advantages: &adv,
            mask: &mask,
        })
        .unwrap_err();
    assert!(matches!(err, LossError::MissingReference { .. }), "{err}");
}

#[test]
fn shape_mismatch_names_the_input() {
    let new = Tensor::zeros((2, 3), candle_core::DType::F32, &Device::Cpu).unwrap();
    let adv = Tensor::zeros(3, candle_core::DType::F32, &Device::Cpu).unwrap();
    let err = TokenClipLoss::default()
        .compute(&LossInputs {
            logprobs: &new,
            old_logprobs: &new,
            ref_logprobs: None,
            advantages: &adv,
            mask: &new,
        })
        .unwrap_err();
    assert!(err.to_string().contains("advantages"), "{err}");
}

#[test]
fn negative_eps_is_rejected() {
    let b = hand_batch();
    let loss = TokenClipLoss {
        eps_low: -0.1,
        ..Default::default()
    };
    let new = t2(&b.new);
    let adv = Tensor::new(&[1.0f32, -1.0], &Device::Cpu).unwrap();
    let err = loss
        .compute(&LossInputs {
            logprobs: &new,
            old_logprobs: &new,
            ref_logprobs: None,
            advantages: &adv,
            mask: &new,
        })
        .unwrap_err();
    assert!(err.to_string().contains("eps_low"), "{err}");
}

/// Independent f64 reference of the token-clip loss.
fn reference_token_clip(b: &Batch, el: f64, eh: f64, agg: Aggregation) -> f64 {
    let rows = b.new.len();
    let cols = b.new[0].len();
    let mut total = 0.0;
    let mut count = 0.0;
    let mut seq_means = 0.0;
    for i in 0..rows {
        let mut s = 0.0;
        let mut n = 0.0;
        for t in 0..cols {
            let m = b.mask[i][t];
            let rho = (b.new[i][t] - b.old[i][t]).exp();
            let a = b.adv[i];
            let l = -f64::min(rho * a, rho.clamp(1.0 - el, 1.0 + eh) * a);
            s += m * l;
            n += m;
        }
        total += s;
        count += n;
        seq_means += s / n.max(1.0);
    }
    match agg {
        Aggregation::TokenMean => total / count.max(1.0),
        Aggregation::SeqMeanTokenMean => seq_means / rows as f64,
        Aggregation::SeqMeanTokenSumNorm => total / (rows * cols) as f64,
    }
}

fn batch_strategy() -> impl Strategy<Value = Batch> {
    (1usize..5, 1usize..6).prop_flat_map(|(b, l)| {
        (
            prop::collection::vec(prop::collection::vec(-3.0f64..-0.01, l), b),
            prop::collection::vec(prop::collection::vec(-0.6f64..0.6, l), b),
            prop::collection::vec(-2.0f64..2.0, b),
            prop::collection::vec(prop::collection::vec(prop::bool::ANY, l), b),
        )
            .prop_map(|(old, delta, adv, mask)| Batch {
                new: old
                    .iter()
                    .zip(&delta)
                    .map(|(o, d)| o.iter().zip(d).map(|(o, d)| o + d).collect())
                    .collect(),
                old,
                reference: None,
                adv,
                mask: mask
                    .iter()
                    .map(|r| r.iter().map(|&m| if m { 1.0 } else { 0.0 }).collect())
                    .collect(),
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn token_clip_matches_reference(b in batch_strategy(), agg_i in 0usize..3) {
        let agg = [Aggregation::TokenMean, Aggregation::SeqMeanTokenMean, Aggregation::SeqMeanTokenSumNorm][agg_i];
        let loss = TokenClipLoss { aggregation: agg, ..Default::default() };
        let (value, g, _) = run(&loss, &b);
        let expected = reference_token_clip(&b, 0.2, 0.28, agg);
        prop_assert!((value - expected).abs() < 1e-4 * (1.0 + expected.abs()), "{} vs {}", value, expected);
        // Masked positions never receive gradient.
        for (gi, mi) in g.iter().zip(&b.mask) {
            for (gt, mt) in gi.iter().zip(mi) {
                if *mt == 0.0 { prop_assert_eq!(*gt, 0.0); }
            }
        }
    }
}
