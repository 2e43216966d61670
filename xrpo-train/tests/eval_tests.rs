//! Evaluation metrics against hand values.

use proptest::prelude::*;
use xrpo_train::eval::{EvalError, SampleOutcome, majority_correct, pass_at_k, summarize};

fn s(answer: Option<&str>, correct: bool, length: usize) -> SampleOutcome {
    SampleOutcome {
        extracted: answer.map(str::to_string),
        correct,
        length,
    }
}

fn eq(a: &str, b: &str) -> bool {
    a == b
}

/// Binomial coefficient in f64 by the multiplicative formula (independent reference).
fn binom(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

#[test]
fn pass_at_k_hand_values() {
    // n = 10, c = 3, k = 1: 3/10.
    assert!((pass_at_k(10, 3, 1).unwrap() - 0.3).abs() < 1e-12);
    // n = 4, c = 1, k = 2: 1 − C(3,2)/C(4,2) = 1 − 3/6 = 0.5.
    assert!((pass_at_k(4, 1, 2).unwrap() - 0.5).abs() < 1e-12);
    // n − c < k: certain.
    assert_eq!(pass_at_k(5, 4, 2).unwrap(), 1.0);
    // c = 0: impossible.
    assert_eq!(pass_at_k(8, 0, 4).unwrap(), 0.0);
    assert!(matches!(
        pass_at_k(3, 4, 1),
        Err(EvalError::BadCounts { .. })
    ));
    assert!(matches!(
        pass_at_k(3, 1, 4),
        Err(EvalError::BadCounts { .. })
    ));
}

#[test]
fn pass_at_k_is_stable_for_large_n() {
    // C(1000, 500) overflows f64; the product form must not. Reference via log-gamma-free
    // log-sum: ln C(n−c,k) − ln C(n,k) = Σ_{i<k} ln((n−c−i)/(n−i)).
    let (n, c, k) = (1000usize, 7usize, 500usize);
    let log_ratio: f64 = (0..k)
        .map(|i| (((n - c - i) as f64) / ((n - i) as f64)).ln())
        .sum();
    let expected = 1.0 - log_ratio.exp();
    let got = pass_at_k(n, c, k).unwrap();
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    assert!(got.is_finite() && (0.0..=1.0).contains(&got));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn pass_at_k_matches_binomial_form(n in 1usize..40, c_frac in 0.0f64..=1.0, k_frac in 0.0f64..=1.0) {
        let c = ((n as f64) * c_frac).round() as usize;
        let k = 1 + ((n - 1) as f64 * k_frac).round() as usize;
        let expected = 1.0 - binom(n - c, k) / binom(n, k);
        let got = pass_at_k(n, c, k).unwrap();
        prop_assert!((got - expected).abs() < 1e-9, "n={} c={} k={}: {} vs {}", n, c, k, got, expected);
    }
}

#[test]
fn majority_vote_by_equivalence() {
    // Equivalence by numeric value: "0.5" and "1/2" agree.
    let numeric = |a: &str, b: &str| {
        let v = |x: &str| -> Option<f64> {
            match x.split_once('/') {
                Some((p, q)) => Some(p.parse::<f64>().ok()? / q.parse::<f64>().ok()?),
                None => x.parse().ok(),
            }
        };
        matches!((v(a), v(b)), (Some(x), Some(y)) if (x - y).abs() < 1e-9)
    };
    let samples = vec![
        s(Some("3"), false, 1),
        s(Some("0.5"), true, 1),
        s(Some("1/2"), true, 1),
        s(Some("3"), false, 1),
        s(None, false, 1),
        s(Some("1/2"), true, 1),
    ];
    // Clusters: {3: 2 votes}, {0.5 ≡ 1/2: 3 votes} → correct.
    assert!(majority_correct(&samples, &numeric));
    // By plain string equality "1/2" (2) ties "3" (2): the earlier cluster ("3") wins.
    assert!(!majority_correct(&samples, &eq));
    // No answers at all: not correct.
    assert!(!majority_correct(&[s(None, false, 1)], &eq));
}

#[test]
fn summarize_hand_values() {
    let prompts = vec![
        // c = 1 of 3; vote: "5" ×2 (wrong) vs "4" ×1 → wrong.
        vec![
            s(Some("5"), false, 2),
            s(Some("4"), true, 4),
            s(Some("5"), false, 6),
        ],
        // c = 3 of 3.
        vec![
            s(Some("9"), true, 1),
            s(Some("9"), true, 1),
            s(Some("9"), true, 1),
        ],
    ];
    let sum = summarize(&prompts, 2, &eq).unwrap();
    // pass@1 = (1/3 + 1) / 2.
    assert!((sum.pass_at_1 - (1.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
    // pass@2: prompt 0: 1 − C(2,2)/C(3,2) = 2/3; prompt 1: 1.
    assert!((sum.pass_at_k - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-12);
    // cons@2 uses the first 2 samples: prompt 0 "5" vs "4" tie → first ("5") wins → wrong.
    assert!((sum.cons_at_k - 0.5).abs() < 1e-12);
    // Lengths: (2 + 4 + 6 + 1 + 1 + 1) / 6 = 2.5.
    assert!((sum.mean_length - 2.5).abs() < 1e-12);
    assert_eq!(
        summarize(&prompts, 4, &eq).unwrap_err(),
        EvalError::TooFewSamples {
            prompt: 0,
            got: 3,
            k: 4
        }
    );
}
