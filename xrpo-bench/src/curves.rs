//! Curves of one run (eval figure against step or rollouts) and their reductions: the
//! first point reaching a target, the normalised area under a curve, and the pointwise
//! mean of several seeds' curves.

/// The x of the first point whose y reaches `target` (`y ≥ target`); `None` if none does.
/// Points are taken in the given order (ascending x).
pub fn first_reaching(points: &[(f64, f64)], target: f64) -> Option<f64> {
    points
        .iter()
        .find(|(_, y)| y.is_finite() && *y >= target)
        .map(|(x, _)| *x)
}

/// The area under a curve by the trapezoid rule, divided by its x span (last x − first x):
/// the curve's mean height over the run, on the scale of y. `None` for fewer than two
/// points, a zero span or a non-finite y.
pub fn normalized_area(points: &[(f64, f64)]) -> Option<f64> {
    let (first, last) = (points.first()?, points.last()?);
    let span = last.0 - first.0;
    if points.len() < 2 || span <= 0.0 || points.iter().any(|p| !p.1.is_finite()) {
        return None;
    }
    let area: f64 = points
        .windows(2)
        .map(|w| 0.5 * (w[1].0 - w[0].0) * (w[0].1 + w[1].1))
        .sum();
    Some(area / span)
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn normalized_area_hand_values() {
        // Trapezoids: [0,5]: 5·(0.1+0.3)/2 = 1.0; [5,10]: 5·(0.3+0.2)/2 = 1.25;
        // [10,20]: 10·(0.2+0.6)/2 = 4.0; total 6.25 over a span of 20 → 0.3125.
        let curve = [(0.0, 0.1), (5.0, 0.3), (10.0, 0.2), (20.0, 0.6)];
        assert!((normalized_area(&curve).unwrap() - 0.3125).abs() < 1e-12);
        // A flat curve's normalised area is its height.
        assert!((normalized_area(&[(3.0, 0.4), (9.0, 0.4)]).unwrap() - 0.4).abs() < 1e-12);
        assert!(normalized_area(&[(0.0, 0.4)]).is_none());
        assert!(normalized_area(&[(0.0, 0.4), (0.0, 0.5)]).is_none());
        assert!(normalized_area(&[(0.0, 0.4), (1.0, f64::NAN)]).is_none());
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
}
