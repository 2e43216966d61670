//! The Student-t confidence-interval half-width `h_q` and the expected uncertainty
//! reduction `Δ̂_q` of one more rollout (XRPO spec §1).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Degrees of freedom above which quantiles are not cached (computed on demand instead).
pub const MAX_CACHED_DOF: usize = 1 << 16;

/// Degrees of freedom above which [`t_quantile`] uses the Cornish–Fisher expansion
/// around the normal quantile instead of statrs's iterative inversion.
///
/// statrs inverts the regularized incomplete beta function by Newton iteration with no
/// bound on the number of steps; for millions of degrees of freedom it does not finish
/// (`xrpo allocate` hung for over ten minutes on a prompt with 14 million rewards), and
/// already at 65 536 it is off by 1e-7. Above this threshold the four-term expansion
/// agrees with statrs to about 1e-13 relative for every α in [[`MIN_ALPHA`], 1) (unit
/// test), and its error shrinks as `dof⁻⁵` beyond.
pub const CORNISH_FISHER_DOF: usize = 4096;

/// Smallest significance α accepted: below it `1 − α/2` is 1 in double precision for
/// α ≲ 2·10⁻¹⁶, and the quantile loses its digits well before that.
pub const MIN_ALPHA: f64 = 1e-12;

/// The Student-t quantile `t_{1-α/2, dof}` (two-sided confidence level `1 − α`).
///
/// Returns NaN when `dof == 0` or `alpha` is outside [[`MIN_ALPHA`], 1). Bounded time for
/// every `dof`: statrs's inverse CDF (an iterative inversion, a few µs) up to
/// [`CORNISH_FISHER_DOF`], the Cornish–Fisher expansion (closed form) above; use
/// [`TQuantiles`] in loops.
///
/// ```
/// use xrpo_alloc::t_interval::t_quantile;
/// // Published table value: t_{0.975, 3} = 3.182.
/// assert!((t_quantile(0.05, 3) - 3.182).abs() < 5e-4);
/// // Huge degrees of freedom: the normal quantile z_{0.975} = 1.959964, at once.
/// assert!((t_quantile(0.05, 14_000_000) - 1.959964).abs() < 1e-6);
/// assert!((t_quantile(0.05, usize::MAX) - 1.959964).abs() < 1e-6);
/// ```
pub fn t_quantile(alpha: f64, dof: usize) -> f64 {
    if dof == 0 || !(MIN_ALPHA..1.0).contains(&alpha) {
        return f64::NAN;
    }
    if dof > CORNISH_FISHER_DOF {
        return cornish_fisher(alpha, dof as f64);
    }
    match StudentsT::new(0.0, 1.0, dof as f64) {
        Ok(dist) => dist.inverse_cdf(1.0 - alpha / 2.0),
        Err(_) => f64::NAN,
    }
}

/// `t_{1-α/2, ν}` by the Cornish–Fisher expansion around `z = Φ⁻¹(1 − α/2)`:
/// `t = z + g₁/ν + g₂/ν² + g₃/ν³ + g₄/ν⁴` (Abramowitz & Stegun 26.7.5; not in the XRPO
/// paper), with `g₁ = (z³ + z)/4`, `g₂ = (5z⁵ + 16z³ + 3z)/96`,
/// `g₃ = (3z⁷ + 19z⁵ + 17z³ − 15z)/384`,
/// `g₄ = (79z⁹ + 776z⁷ + 1482z⁵ − 1920z³ − 945z)/92160`.
fn cornish_fisher(alpha: f64, nu: f64) -> f64 {
    // Invariant: mean 0 and std 1 are valid parameters.
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    let z = normal.inverse_cdf(1.0 - alpha / 2.0);
    let z2 = z * z;
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    z + (g1 + (g2 + (g3 + g4 / nu) / nu) / nu) / nu
}

/// Half-width of the t confidence interval of the mean reward:
/// `h_q(n) = t_{1-α/2, n-1} · s_q / √n` (XRPO, arXiv 2510.06672, §/Eq. TBD).
///
/// `t` is `t_{1-α/2, n-1}`. Requires `n ≥ 2`.
pub fn half_width(t: f64, s_q: f64, n: usize) -> f64 {
    half_width_f(t, s_q, n as f64)
}

/// [`half_width`] with `n` as a float, so `n + 1` cannot overflow.
fn half_width_f(t: f64, s_q: f64, n: f64) -> f64 {
    t * s_q / n.sqrt()
}

/// Per-unit-std expected reduction `c(n) = t_{1-α/2,n-1}/√n − t_{1-α/2,n}/√(n+1)`, so that
/// `Δ̂_q(n) = h_q(n) − h_q(n+1) = s_q · c(n)` with `s_q` held at its current estimate
/// (XRPO, arXiv 2510.06672, §/Eq. TBD). Requires `n ≥ 2`.
fn reduction_coefficient(t_n_minus_1: f64, t_n: f64, n: usize) -> f64 {
    let n = n as f64;
    let h_now = half_width_f(t_n_minus_1, 1.0, n);
    let h_next = half_width_f(t_n, 1.0, n + 1.0);
    h_now - h_next
}

/// Cached Student-t quantiles `t_{1-α/2, dof}` for `dof = 1..=max_dof`, and the
/// per-unit-std reductions `c(n)` built from them, so the allocator's inner loop does a
/// table lookup instead of statrs's slow inverse CDF. Degrees of freedom past the table
/// fall back to the direct computation.
#[derive(Debug, Clone)]
pub struct TQuantiles {
    alpha: f64,
    /// `t[dof]`; `t[0]` is NaN.
    t: Vec<f64>,
    /// `c[n]` for `n ≥ 2` (`c[0]`, `c[1]` are +∞: see [`TQuantiles::delta_hat`]).
    c: Vec<f64>,
    /// `1/√n` (`inv_sqrt[0]` is +∞).
    inv_sqrt: Vec<f64>,
}

impl TQuantiles {
    /// Caches quantiles for degrees of freedom `1..=max_dof` (at most
    /// [`MAX_CACHED_DOF`]) at significance `alpha`.
    pub fn new(alpha: f64, max_dof: usize) -> Self {
        let max_dof = max_dof.clamp(1, MAX_CACHED_DOF);
        let t: Vec<f64> = (0..=max_dof).map(|dof| t_quantile(alpha, dof)).collect();
        // c(n) needs t at n-1 and n, so it is cached for n ≤ max_dof.
        let c = (0..=max_dof)
            .map(|n| {
                if n < 2 {
                    f64::INFINITY
                } else {
                    reduction_coefficient(t[n - 1], t[n], n)
                }
            })
            .collect();
        let inv_sqrt = (0..=max_dof).map(|n| 1.0 / (n as f64).sqrt()).collect();
        Self {
            alpha,
            t,
            c,
            inv_sqrt,
        }
    }

    /// The significance level α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// `t_{1-α/2, dof}` (cached when `dof` is in the table).
    pub fn t(&self, dof: usize) -> f64 {
        match self.t.get(dof) {
            Some(&t) => t,
            None => t_quantile(self.alpha, dof),
        }
    }

    /// `h_q(n) = t_{1-α/2, n-1} · s_q / √n`; `n` must be ≥ 2.
    pub fn half_width(&self, s_q: f64, n: usize) -> f64 {
        half_width(self.t(n.saturating_sub(1)), s_q, n)
    }

    /// `c(n)`: `Δ̂_q(n) / s_q`. +∞ for `n < 2`.
    #[inline]
    pub fn reduction_coefficient(&self, n: usize) -> f64 {
        match self.c.get(n) {
            Some(&c) => c,
            None => reduction_coefficient(self.t(n - 1), self.t(n), n),
        }
    }

    /// The cached `c(n)`, indexed by `n` (`c[0]`, `c[1]` are +∞).
    pub(crate) fn reduction_coefficients(&self) -> &[f64] {
        &self.c
    }

    /// The cached `1/√n`, indexed by `n`.
    pub(crate) fn inv_sqrts(&self) -> &[f64] {
        &self.inv_sqrt
    }

    /// `1/√n` (cached for small `n`).
    #[inline]
    pub fn inv_sqrt(&self, n: usize) -> f64 {
        match self.inv_sqrt.get(n) {
            Some(&v) => v,
            None => 1.0 / (n as f64).sqrt(),
        }
    }

    /// Expected uncertainty reduction of one more rollout,
    /// `Δ̂_q(n) = h_q(n) − h_q(n+1)` with `s_q` held fixed (XRPO, arXiv 2510.06672,
    /// §/Eq. TBD).
    ///
    /// **[our default] for `n < 2`:** `s_q` and `t_{·, n-1}` do not exist, so `Δ̂` is
    /// +∞: a prompt with fewer than two scored rewards outranks every other prompt until
    /// it has two (see [`crate::XrpoAllocator`]).
    #[inline]
    pub fn delta_hat(&self, s_q: f64, n: usize) -> f64 {
        if n < 2 {
            return f64::INFINITY;
        }
        s_q * self.reduction_coefficient(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published two-sided 95% Student-t table values (any statistics textbook table).
    const TABLE: [(usize, f64); 6] = [
        (1, 12.706),
        (2, 4.303),
        (3, 3.182),
        (10, 2.228),
        (30, 2.042),
        (120, 1.980),
    ];

    #[test]
    fn quantiles_match_published_table() {
        for (dof, expected) in TABLE {
            let t = t_quantile(0.05, dof);
            assert!((t - expected).abs() < 5e-4, "dof {dof}: {t} vs {expected}");
        }
        // 99%: t_{0.995, 5} = 4.032.
        assert!((t_quantile(0.01, 5) - 4.032).abs() < 5e-4);
    }

    #[test]
    fn cache_equals_direct_and_extends_past_table() {
        let q = TQuantiles::new(0.05, 8);
        for dof in 1..20 {
            assert_eq!(q.t(dof), t_quantile(0.05, dof));
        }
        assert_eq!(q.reduction_coefficient(15), {
            let t14 = t_quantile(0.05, 14);
            let t15 = t_quantile(0.05, 15);
            t14 / 15f64.sqrt() - t15 / 16f64.sqrt()
        });
    }

    #[test]
    fn delta_hat_by_hand() {
        let q = TQuantiles::new(0.05, 64);
        // Rewards [1, 0, 1, 0]: s = sqrt(1/3) = 0.57735.
        // h(4) = t_{.975,3} · s / 2      = 3.182446 · 0.577350 / 2        = 0.918693
        // h(5) = t_{.975,4} · s / √5     = 2.776445 · 0.577350 / 2.236068 = 0.716875
        // Δ̂(4) = 0.918693 − 0.716875 = 0.201818
        let s = (1.0f64 / 3.0).sqrt();
        assert!((q.half_width(s, 4) - 0.918693).abs() < 2e-6);
        assert!((q.delta_hat(s, 4) - 0.201818).abs() < 2e-6);
        // n = 2, s = 0.70711 (rewards [1, 0]):
        // h(2) = 12.706205 · 0.707107 / 1.414214 = 6.353102
        // h(3) =  4.302653 · 0.707107 / 1.732051 = 1.756551;  Δ̂(2) = 4.596552
        assert!((q.delta_hat(0.5f64.sqrt(), 2) - 4.596552).abs() < 2e-6);
        // Zero variance: h = 0, so Δ̂ = 0.
        assert_eq!(q.delta_hat(0.0, 7), 0.0);
        // n < 2: +∞ by our documented convention.
        assert_eq!(q.delta_hat(0.3, 1), f64::INFINITY);
        assert_eq!(q.delta_hat(0.0, 0), f64::INFINITY);
    }

    #[test]
    fn bad_arguments_give_nan() {
        assert!(t_quantile(0.05, 0).is_nan());
        assert!(t_quantile(0.0, 3).is_nan());
        assert!(t_quantile(1.0, 3).is_nan());
        assert!(t_quantile(1e-13, 3).is_nan());
        assert!(t_quantile(f64::NAN, 3).is_nan());
    }

    /// z_{0.975} to 16 digits (any normal table; e.g. R's `qnorm(0.975)`).
    const Z_975: f64 = 1.959_963_984_540_054;

    #[test]
    fn huge_dof_is_the_normal_quantile_plus_its_first_correction() {
        // Independent of the code: t_{ν} = z + (z³ + z)/(4ν) + O(ν⁻²).
        for dof in [14_000_000usize, 1 << 40, usize::MAX] {
            let nu = dof as f64;
            let expected = Z_975 + (Z_975.powi(3) + Z_975) / (4.0 * nu);
            let t = t_quantile(0.05, dof);
            assert!((t - expected).abs() < 1e-12, "dof {dof}: {t} vs {expected}");
        }
        let q = TQuantiles::new(0.05, 64);
        let c = q.reduction_coefficient(14_000_000);
        assert!(c > 0.0 && c.is_finite(), "c = {c}");
        assert!(q.reduction_coefficient(usize::MAX).is_finite());
        assert!(q.delta_hat(0.5, usize::MAX) >= 0.0);
    }

    #[test]
    fn expansion_truncation_error_is_negligible_past_the_threshold() {
        // The first omitted term of A&S 26.7.5, g₅/ν⁵ with
        // g₅ = (27z¹¹ + 339z⁹ + 930z⁷ − 1782z⁵ − 765z³ + 17955z)/368640, bounds the error
        // of the four-term expansion; it is largest at the smallest α and ν.
        for alpha in [MIN_ALPHA, 1e-6, 0.05, 0.5, 0.999] {
            let z = Normal::new(0.0, 1.0)
                .unwrap()
                .inverse_cdf(1.0 - alpha / 2.0);
            let g5 = (27.0 * z.powi(11) + 339.0 * z.powi(9) + 930.0 * z.powi(7)
                - 1782.0 * z.powi(5)
                - 765.0 * z.powi(3)
                + 17955.0 * z)
                / 368_640.0;
            let nu = (CORNISH_FISHER_DOF + 1) as f64;
            let t = cornish_fisher(alpha, nu);
            let rel = (g5 / nu.powi(5)).abs() / t;
            assert!(rel < 1e-12, "α {alpha}: next term {rel:e} of t = {t}");
        }
        // And it agrees with statrs's iterative inversion to statrs's own precision there
        // (statrs drifts with ν: 1e-8 at 4096 for α = 0.5, 1e-7 at 65 536).
        for alpha in [MIN_ALPHA, 1e-6, 0.01, 0.05, 0.5, 0.9] {
            for dof in [CORNISH_FISHER_DOF + 1, 6000, 10_000, 20_000] {
                let statrs = StudentsT::new(0.0, 1.0, dof as f64)
                    .unwrap()
                    .inverse_cdf(1.0 - alpha / 2.0);
                let cf = cornish_fisher(alpha, dof as f64);
                let rel = (cf - statrs).abs() / statrs;
                assert!(
                    rel < 1e-7,
                    "α {alpha} dof {dof}: {cf} vs {statrs} ({rel:e})"
                );
            }
        }
    }

    #[test]
    fn quantile_is_finite_and_decreasing_in_dof_everywhere() {
        for alpha in [MIN_ALPHA, 1e-3, 0.05, 0.5] {
            let mut prev = f64::INFINITY;
            let dofs = (1..=5000).chain([10_000, 1 << 20, 1 << 32, usize::MAX]);
            for dof in dofs {
                let t = t_quantile(alpha, dof);
                assert!(t.is_finite() && t > 0.0, "α {alpha} dof {dof}: {t}");
                // Non-increasing, up to statrs's own error (≤ 1e-8 relative) at the switch
                // between the two methods.
                assert!(
                    t <= prev * (1.0 + 1e-7),
                    "α {alpha} dof {dof}: {t} > {prev}"
                );
                prev = t;
            }
        }
    }
}
