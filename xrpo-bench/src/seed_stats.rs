//! Statistics over seeds: mean ± std and min–max, mean curves, steps to a target.

use serde::{Deserialize, Serialize};

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

/// Welch's t statistic of `a.mean − b.mean`; `None` when either has fewer than two values
/// or both have zero variance.
pub fn welch_t(a: &Spread, b: &Spread) -> Option<f64> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let se = (a.std.powi(2) / a.n as f64 + b.std.powi(2) / b.n as f64).sqrt();
    (se > 0.0).then(|| (a.mean - b.mean) / se)
}

/// The x of the first point whose y reaches `target` (`y ≥ target`); `None` if none does.
/// Points are taken in the given order (ascending x).
pub fn first_reaching(points: &[(f64, f64)], target: f64) -> Option<f64> {
    points
        .iter()
        .find(|(_, y)| y.is_finite() && *y >= target)
        .map(|(x, _)| *x)
}

/// The pointwise mean of several curves sampled at the same x values (x from the first
/// curve; a curve shorter than the first contributes only where it has points).
pub fn mean_curve(curves: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let Some(first) = curves.first() else {
        return Vec::new();
    };
    first
        .iter()
        .enumerate()
        .map(|(i, (x, _))| {
            let ys: Vec<f64> = curves
                .iter()
                .filter_map(|c| c.get(i).map(|p| p.1))
                .filter(|y| y.is_finite())
                .collect();
            let y = if ys.is_empty() {
                f64::NAN
            } else {
                ys.iter().sum::<f64>() / ys.len() as f64
            };
            (*x, y)
        })
        .collect()
}

/// The default accuracy target: the midpoint between the initial accuracy and the best
/// final accuracy, `initial + (best_final − initial) / 2`.
pub fn midpoint_target(initial: f64, best_final: f64) -> f64 {
    initial + 0.5 * (best_final - initial)
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
    fn first_reaching_takes_first_crossing() {
        let curve = [(0.0, 0.1), (5.0, 0.3), (10.0, 0.2), (15.0, 0.5)];
        assert_eq!(first_reaching(&curve, 0.3), Some(5.0)); // equality counts
        assert_eq!(first_reaching(&curve, 0.4), Some(15.0));
        assert_eq!(first_reaching(&curve, 0.6), None);
        assert_eq!(
            first_reaching(&[(0.0, f64::NAN), (1.0, 0.9)], 0.5),
            Some(1.0)
        );
    }

    #[test]
    fn mean_curve_averages_pointwise() {
        let a = vec![(0.0, 0.0), (5.0, 0.4)];
        let b = vec![(0.0, 0.2), (5.0, 0.6)];
        let c = vec![(0.0, 0.1)];
        let m = mean_curve(&[a, b, c]);
        assert_eq!(m.len(), 2);
        assert!((m[0].1 - 0.1).abs() < 1e-12); // (0 + 0.2 + 0.1) / 3
        assert!((m[1].1 - 0.5).abs() < 1e-12); // (0.4 + 0.6) / 2
        assert!(mean_curve(&[]).is_empty());
    }

    #[test]
    fn midpoint_target_hand_value() {
        assert!((midpoint_target(0.2, 0.6) - 0.4).abs() < 1e-12);
        assert!((midpoint_target(0.5, 0.5) - 0.5).abs() < 1e-12);
    }
}
