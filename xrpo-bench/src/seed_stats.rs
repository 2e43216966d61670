//! Statistics over seeds: the spread of one figure ([`Spread`]: mean ± sample std,
//! min–max), a paired comparison against a reference arm ([`Paired`]: Δ ± std, paired t,
//! seeds ahead), Welch's t for unpaired spreads, and a paired bootstrap interval for a
//! ratio of means ([`bootstrap_ratio`]).

use serde::{Deserialize, Serialize};
use xrpo_train::rng::SplitMix64;

/// Spread of one figure across seeds (non-finite values are left out).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Number of finite values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor `n − 1`); 0 for a single value.
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl Spread {
    /// The spread of the finite values in `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let std = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Spread {
            n,
            mean,
            std,
            min,
            max,
        })
    }

    /// Standard error of the mean, `std / √n`.
    pub fn sem(&self) -> f64 {
        self.std / (self.n as f64).sqrt()
    }

    /// `"0.412 ± 0.031 (0.380–0.441)"` with `digits` decimals.
    pub fn display(&self, digits: usize) -> String {
        format!(
            "{:.d$} ± {:.d$} ({:.d$}–{:.d$})",
            self.mean,
            self.std,
            self.min,
            self.max,
            d = digits
        )
    }
}

/// Formats an optional spread, `"–"` when absent.
pub fn display_opt(s: Option<&Spread>, digits: usize) -> String {
    s.map_or_else(|| "–".to_string(), |s| s.display(digits))
}

/// An arm against the reference arm, paired by seed: the per-seed differences
/// `arm − reference`, their one-sample t and how many seeds the arm is ahead on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// Spread of the per-seed differences `arm − reference`.
    pub diff: Spread,
    /// Paired t statistic `mean / (std / √n)`; `None` below two seeds or for a zero std
    /// (see [`spread_is_zero`]).
    pub t: Option<f64>,
    /// Seeds where the arm is strictly ahead (difference > 0).
    pub ahead: usize,
}

impl Paired {
    /// The paired comparison of `(arm, reference)` values, one pair per seed (pairs with
    /// a non-finite side are left out); `None` when no pair is left.
    pub fn of(pairs: &[(f64, f64)]) -> Option<Paired> {
        let diffs: Vec<f64> = pairs
            .iter()
            .map(|(a, r)| a - r)
            .filter(|d| d.is_finite())
            .collect();
        let diff = Spread::of(&diffs)?;
        let t =
            (diff.n >= 2 && !spread_is_zero(diff.std, diff.mean)).then(|| diff.mean / diff.sem());
        Some(Paired {
            diff,
            t,
            ahead: diffs.iter().filter(|d| **d > 0.0).count(),
        })
    }

    /// `"+0.012 ± 0.020, t = 2.68, ahead 15/20"` with `digits` decimals.
    pub fn display(&self, digits: usize) -> String {
        format!(
            "{:+.d$} ± {:.d$}, t = {}, ahead {}/{}",
            self.diff.mean,
            self.diff.std,
            self.t
                .map_or_else(|| "–".to_string(), |t| format!("{t:.2}")),
            self.ahead,
            self.diff.n,
            d = digits
        )
    }
}

/// Welch's t statistic of `a.mean − b.mean`; `None` when either has fewer than two values
/// or both have zero variance.
pub fn welch_t(a: &Spread, b: &Spread) -> Option<f64> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let se = (a.std.powi(2) / a.n as f64 + b.std.powi(2) / b.n as f64).sqrt();
    let diff = a.mean - b.mean;
    (!spread_is_zero(se, diff)).then(|| diff / se)
}

/// Whether `std` is zero up to the rounding of the values it came from. Eval metrics are
/// fractions like 41/82, so equal per-seed differences come out of f64 subtraction a few
/// ulps apart and their sample std is ~1e-17 instead of 0; dividing by that printed
/// t = 3.5e15 in a report. A spread below 1e-9 of the mean's size is rounding, not data.
pub fn spread_is_zero(std: f64, mean: f64) -> bool {
    std.is_nan() || std <= 1e-9 * mean.abs()
}

/// A ratio of means with its percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatioCi {
    /// `Σ arm / Σ reference` over the seeds (the ratio of the means).
    pub ratio: f64,
    /// Lower end of the interval (2.5th percentile of the resampled ratios).
    pub low: f64,
    /// Upper end of the interval (97.5th percentile).
    pub high: f64,
    /// Resamples whose ratio was defined (reference sum > 0).
    pub resamples: usize,
}

/// Resamples drawn by [`bootstrap_ratio`] in the report.
pub const BOOTSTRAP_RESAMPLES: usize = 4000;
/// The bootstrap's fixed RNG seed: the report is reproducible from `results.json`.
pub const BOOTSTRAP_SEED: u64 = 0x5eed_b007;

/// The ratio of means `Σ arm / Σ reference` of `(arm, reference)` pairs (one per seed)
/// and its 95 % paired percentile bootstrap interval: `resamples` draws of n seeds with
/// replacement, each keeping its pair together, from a SplitMix64 stream seeded with
/// `seed`. A resample whose reference sum is 0 has no ratio and is skipped. `None` when
/// there is no pair with finite values or the point ratio is undefined.
pub fn bootstrap_ratio(pairs: &[(f64, f64)], resamples: usize, seed: u64) -> Option<RatioCi> {
    let pairs: Vec<(f64, f64)> = pairs
        .iter()
        .copied()
        .filter(|(a, r)| a.is_finite() && r.is_finite())
        .collect();
    let ratio_of = |idx: &mut dyn Iterator<Item = usize>| {
        let (mut a, mut r) = (0.0, 0.0);
        for i in idx {
            a += pairs[i].0;
            r += pairs[i].1;
        }
        (r > 0.0).then(|| a / r)
    };
    let n = pairs.len();
    let ratio = ratio_of(&mut (0..n))?;
    let mut rng = SplitMix64::new(seed);
    let mut draws: Vec<f64> = (0..resamples)
        .filter_map(|_| {
            // Modulo bias is below 2⁻⁵⁰ for any realistic seed count.
            ratio_of(&mut (0..n).map(|_| (rng.next_u64() % n as u64) as usize))
        })
        .collect();
    if draws.is_empty() {
        return None;
    }
    draws.sort_by(f64::total_cmp);
    let at = |q: f64| draws[((q * (draws.len() - 1) as f64).round() as usize).min(draws.len() - 1)];
    Some(RatioCi {
        ratio,
        low: at(0.025),
        high: at(0.975),
        resamples: draws.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_matches_hand_values() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
        // sample variance 32/7, std = √(32/7) ≈ 2.138090.
        let s = Spread::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert!((s.mean - 5.0).abs() < 1e-12);
        assert!((s.std - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 9.0));
        // sem = std / √8.
        assert!((s.sem() - (32.0f64 / 7.0).sqrt() / 8.0f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn spread_skips_non_finite_and_handles_single_and_empty() {
        let s = Spread::of(&[f64::NAN, 0.25, f64::INFINITY]).unwrap();
        assert_eq!(
            (s.n, s.mean, s.std, s.min, s.max),
            (1, 0.25, 0.0, 0.25, 0.25)
        );
        assert!(Spread::of(&[]).is_none());
        assert!(Spread::of(&[f64::NAN]).is_none());
        assert_eq!(display_opt(None, 3), "–");
        assert_eq!(s.display(2), "0.25 ± 0.00 (0.25–0.25)");
    }

    #[test]
    fn paired_hand_values() {
        // Differences 0.3 − 0.1 = 0.2, 0.2 − 0.3 = −0.1, 0.5 − 0.2 = 0.3: mean 0.4/3;
        // deviations 0.2 − 0.1333 = 0.0667, −0.2333, 0.1667; squares sum
        // 0.004444 + 0.054444 + 0.027778 = 0.086667; var 0.043333, std 0.208167;
        // t = 0.133333 / (0.208167 / √3) = 1.109400; ahead on 2 of 3 seeds.
        let p = Paired::of(&[(0.3, 0.1), (0.2, 0.3), (0.5, 0.2)]).unwrap();
        assert!((p.diff.mean - 0.4 / 3.0).abs() < 1e-12);
        assert!((p.diff.std - 0.043_333_333_333f64.sqrt()).abs() < 1e-9);
        assert!((p.t.unwrap() - 1.109_400_392).abs() < 1e-6);
        assert_eq!((p.ahead, p.diff.n), (2, 3));
        assert_eq!(p.display(2), "+0.13 ± 0.21, t = 1.11, ahead 2/3");
        // Equal differences have no t; a tie is not ahead; NaN pairs are left out.
        let flat = Paired::of(&[(0.5, 0.4), (0.6, 0.5), (0.4, 0.4), (f64::NAN, 0.1)]);
        let flat = flat.unwrap();
        assert_eq!((flat.diff.n, flat.ahead), (3, 2));
        assert!(Paired::of(&[(0.5, 0.25), (0.75, 0.5)]).unwrap().t.is_none());
        assert!(Paired::of(&[]).is_none());
    }

    #[test]
    fn equal_differences_up_to_rounding_have_no_t() {
        // Every seed one eval prompt (1/82) ahead: in f64 the three differences are
        // 0.012195121951219516, …523, …523, a sample std of ~4e-18, which made
        // t ≈ 5.3e15 before (computed independently with Python's statistics module).
        let p = Paired::of(&[
            (4.0 / 82.0, 3.0 / 82.0),
            (41.0 / 82.0, 40.0 / 82.0),
            (70.0 / 82.0, 69.0 / 82.0),
        ])
        .unwrap();
        assert!(p.diff.std > 0.0, "the rounding spread this test is about");
        assert_eq!(p.t, None);
        assert_eq!(p.ahead, 3);
        // A real spread around a zero mean still has t = 0, not None.
        let z = Paired::of(&[(0.6, 0.5), (0.4, 0.5)]).unwrap();
        assert_eq!(z.t, Some(0.0));
        let a = Spread::of(&[4.0 / 82.0 - 3.0 / 82.0, 41.0 / 82.0 - 40.0 / 82.0]).unwrap();
        let b = Spread::of(&[0.0, 0.0]).unwrap();
        assert!(welch_t(&a, &b).is_none());
    }

    #[test]
    fn welch_t_hand_value() {
        // a = {1, 2, 3}: mean 2, var 1; b = {4, 5, 6}: mean 5, var 1.
        // se = √(1/3 + 1/3) = √(2/3); t = (2 − 5)/√(2/3) ≈ −3.674235.
        let a = Spread::of(&[1.0, 2.0, 3.0]).unwrap();
        let b = Spread::of(&[4.0, 5.0, 6.0]).unwrap();
        let t = welch_t(&a, &b).unwrap();
        assert!((t - (-3.0 / (2.0f64 / 3.0).sqrt())).abs() < 1e-12);
        let one = Spread::of(&[1.0]).unwrap();
        assert!(welch_t(&a, &one).is_none());
        let flat = Spread::of(&[1.0, 1.0]).unwrap();
        assert!(welch_t(&flat, &flat).is_none());
    }

    #[test]
    fn bootstrap_of_two_seeds_spans_the_three_possible_ratios() {
        // Seeds (arm, reference) = (10, 20) and (30, 20). A resample of two seeds is
        // {1,1} → 10/20 = 0.5 (probability 1/4), {2,2} → 30/20 = 1.5 (1/4) or mixed →
        // 40/40 = 1.0 (1/2). The 2.5th and 97.5th percentiles are therefore 0.5 and 1.5;
        // the point ratio is 40/40 = 1.
        let ci = bootstrap_ratio(&[(10.0, 20.0), (30.0, 20.0)], 2000, 7).unwrap();
        assert_eq!(ci.ratio, 1.0);
        assert_eq!((ci.low, ci.high), (0.5, 1.5));
        assert_eq!(ci.resamples, 2000);
        // Same seed, same interval.
        assert_eq!(
            bootstrap_ratio(&[(10.0, 20.0), (30.0, 20.0)], 2000, 7),
            Some(ci)
        );
    }

    #[test]
    fn bootstrap_of_proportional_pairs_is_degenerate() {
        // Every seed's arm value is half the reference's: every resample's ratio is 0.5.
        let ci = bootstrap_ratio(&[(5.0, 10.0), (10.0, 20.0), (15.0, 30.0)], 500, 1).unwrap();
        assert_eq!((ci.ratio, ci.low, ci.high), (0.5, 0.5, 0.5));
    }

    #[test]
    fn bootstrap_skips_undefined_ratios() {
        // A zero reference sum has no ratio: the all-zero pair set has none at all.
        assert!(bootstrap_ratio(&[(0.0, 0.0), (0.0, 0.0)], 100, 1).is_none());
        assert!(bootstrap_ratio(&[], 100, 1).is_none());
        // One zero-reference seed of two: resamples of only that seed are skipped
        // (about a quarter of them), the rest keep their ratio.
        let ci = bootstrap_ratio(&[(5.0, 0.0), (10.0, 10.0)], 1000, 3).unwrap();
        assert!(
            ci.resamples < 1000 && ci.resamples > 600,
            "{}",
            ci.resamples
        );
        assert_eq!(ci.ratio, 1.5); // 15 / 10
        assert_eq!(ci.low, 1.0); // {2,2}: 20/20
        assert_eq!(ci.high, 1.5); // mixed: 15/10
    }
}
