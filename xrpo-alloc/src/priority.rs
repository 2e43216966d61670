//! The exploration bonus `φ_q` and the priority `Π_q` (XRPO spec §1).

/// UCB-style exploration bonus `φ_q(T, n_q) = λ · √( ln(1 + T) / n_q )`
/// (XRPO, arXiv 2510.06672, §/Eq. TBD).
///
/// We read the bonus *with* the square root over the whole ratio (UCB1's form); a unit
/// test pins it. `n_q = 0` gives +∞.
///
/// ```
/// let phi = xrpo_alloc::priority::phi(0.05, 15.0, 4);
/// // 0.05 * sqrt(ln 16 / 4) = 0.05 * sqrt(0.693147) = 0.0416277
/// assert!((phi - 0.0416277).abs() < 1e-6);
/// ```
pub fn phi(lambda: f64, t: f64, n_q: usize) -> f64 {
    lambda * ((1.0 + t).ln() / n_q as f64).sqrt()
}

/// Priority `Π_q = Δ̂_q(n_q) + φ_q(T, n_q)` (XRPO, arXiv 2510.06672, §/Eq. TBD).
#[inline]
pub fn priority(delta_hat: f64, phi: f64) -> f64 {
    delta_hat + phi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phi_has_square_root_over_ratio() {
        // λ = 1, T = e² − 1 → ln(1+T) = 2; n = 8 → √(2/8) = 0.5 (not 2/8 and not √2/8).
        let t = std::f64::consts::E.powi(2) - 1.0;
        assert!((phi(1.0, t, 8) - 0.5).abs() < 1e-12);
        assert_eq!(phi(0.0, 100.0, 3), 0.0);
        assert_eq!(phi(0.05, 10.0, 0), f64::INFINITY);
    }

    #[test]
    fn phi_grows_with_t_and_shrinks_with_n() {
        assert!(phi(0.05, 100.0, 4) > phi(0.05, 10.0, 4));
        assert!(phi(0.05, 100.0, 4) > phi(0.05, 100.0, 5));
    }
}
