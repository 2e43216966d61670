//! XRPO's novelty-aware advantage sharpening (spec §3): correct responses that the
//! sampling policy found unlikely get a bounded bonus.

use std::ops::Range;

use crate::error::non_negative;
use crate::group_stats::RewardRepr;
use crate::{AdvantageShaper, Batch, ConfigError, Error, FlatBatch, NoveltyStats, ShapingStats};

/// λ_nov, the novelty bonus scale (paper value 2.5).
pub const LAMBDA_NOVELTY: f64 = 2.5;

/// κ_clip, the bonus cap as a fraction of A_i (paper value 0.5: a correct response's
/// advantage grows by at most 1.5×).
pub const KAPPA_CLIP: f64 = 0.5;

/// Novelty η_i = exp(s(y_i) − s̄) (XRPO, arXiv 2510.06672, §3, Eq. TBD). η < 1 marks a
/// response less likely than its siblings.
#[inline]
pub fn novelty_eta(s_i: f64, s_bar: f64) -> f64 {
    (s_i - s_bar).exp()
}

/// The bonus `min(max(λ_nov · (1 − η_i), 0), κ_clip · A_i)` added to a correct
/// response's advantage (XRPO, arXiv 2510.06672, §3, Eq. TBD). Returns 0 for `a <= 0`
/// (incorrect responses keep A_i). Never negative, never above `κ_clip · A_i`.
#[inline]
pub fn novelty_bonus(a: f64, eta: f64, lambda_novelty: f64, kappa_clip: f64) -> f64 {
    if a > 0.0 {
        let raw = (lambda_novelty * (1.0 - eta)).max(0.0);
        raw.min(kappa_clip * a)
    } else {
        0.0
    }
}

/// Applies XRPO's sharpening on top of any base shaper `S`:
/// `A⁺_i = A_i + min(max(λ_nov · (1 − η_i), 0), κ_clip · A_i)` for correct responses
/// (`A_i > 0`), `A⁺_i = A_i` otherwise.
///
/// Definitions we fixed where the paper is silent:
/// - "correct" is `A_i > 0` from the base shaper (spec §3), so in a group where every
///   response is correct (A = 0) nothing is sharpened.
/// - s̄ is the mean of s(y_i) over the group's responses **with a scored reward** (a
///   response with a missing reward is excluded from the baseline, so from s̄ too), and
///   with length > 0 when lengths are given (an empty response has no likelihood and gets
///   no bonus).
/// - s(y_i) is the mean token log-prob under the policy that sampled the response (the
///   old policy), supplied by the caller in [`Batch::with_seq_logprob`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoveltySharpening<S> {
    base: S,
    lambda_novelty: f64,
    kappa_clip: f64,
}

/// XRPO's advantage: GRPO plus novelty sharpening with the paper's constants by
/// [`Xrpo::paper`].
pub type Xrpo = NoveltySharpening<crate::Grpo>;

impl Xrpo {
    /// GRPO (group std, ε = 1e-4) sharpened with λ_nov = 2.5, κ_clip = 0.5.
    pub fn paper() -> Self {
        NoveltySharpening {
            base: crate::Grpo::default(),
            lambda_novelty: LAMBDA_NOVELTY,
            kappa_clip: KAPPA_CLIP,
        }
    }
}

impl<S> NoveltySharpening<S> {
    /// Sharpening over `base` with λ_nov and κ_clip.
    ///
    /// # Errors
    /// [`ConfigError::NotNonNegative`] when either is negative or not finite.
    pub fn new(base: S, lambda_novelty: f64, kappa_clip: f64) -> Result<Self, ConfigError> {
        Ok(Self {
            base,
            lambda_novelty: non_negative("lambda_novelty", lambda_novelty)?,
            kappa_clip: non_negative("kappa_clip", kappa_clip)?,
        })
    }

    /// The base shaper.
    pub fn base(&self) -> &S {
        &self.base
    }

    /// λ_nov.
    pub fn lambda_novelty(&self) -> f64 {
        self.lambda_novelty
    }

    /// κ_clip.
    pub fn kappa_clip(&self) -> f64 {
        self.kappa_clip
    }
}

impl<S: AdvantageShaper> AdvantageShaper for NoveltySharpening<S> {
    fn shape_into(&self, batch: &Batch, out: &mut [f32]) -> Result<ShapingStats, Error> {
        let seq_logprob = batch.seq_logprob_slice().ok_or(Error::MissingSeqLogprob)?;
        let mut stats = self.base.shape_into(batch, out)?;
        let fields = Fields {
            r: batch.rewards_slice(),
            s: seq_logprob,
            len: batch.lengths_slice(),
        };
        stats.novelty = Some(self.sharpen(&fields, batch.offsets(), out)?);
        Ok(stats)
    }

    fn shape_flat(&self, batch: &FlatBatch<'_>, out: &mut [f32]) -> Result<ShapingStats, Error> {
        let seq_logprob = batch.seq_logprob().ok_or(Error::MissingSeqLogprob)?;
        let mut stats = self.base.shape_flat(batch, out)?;
        let fields = Fields {
            r: batch.rewards(),
            s: seq_logprob,
            len: batch.lengths(),
        };
        stats.novelty = Some(self.sharpen(&fields, batch.offsets(), out)?);
        Ok(stats)
    }
}

/// The per-response inputs to sharpening (a whole batch, or one group), in either reward
/// layout.
struct Fields<'a, R> {
    r: &'a [R],
    s: &'a [f32],
    len: Option<&'a [u32]>,
}

impl<R: RewardRepr> Fields<'_, R> {
    fn group(&self, range: Range<usize>) -> Fields<'_, R> {
        Fields {
            r: &self.r[range.clone()],
            s: &self.s[range.clone()],
            len: self.len.map(|l| &l[range]),
        }
    }

    /// In s̄ and eligible for a bonus: scored, and non-empty when lengths are known.
    /// Evaluated without short-circuit branches (`&` on bools): this runs per response.
    #[inline]
    fn eligible(&self, i: usize) -> bool {
        self.r[i].get().0 & self.len.is_none_or(|l| l[i] > 0)
    }

    /// s̄, the mean s(y_i) over eligible responses (spec §3, [our default] made precise),
    /// and whether a scored response has a NaN/∞ s(y_i) (only a flat batch can hold one).
    #[inline]
    fn s_bar(&self) -> (f64, bool) {
        let (mut s_sum, mut s_n, mut bad) = (0.0f64, 0usize, false);
        for i in 0..self.s.len() {
            let w = self.eligible(i);
            let s_i = self.s[i];
            s_sum += if w { f64::from(s_i) } else { 0.0 };
            s_n += usize::from(w);
            bad |= self.r[i].get().0 & !s_i.is_finite();
        }
        let s_bar = if s_n == 0 { 0.0 } else { s_sum / s_n as f64 };
        (s_bar, bad)
    }
}

impl<S> NoveltySharpening<S> {
    /// Sharpens the base advantages in `out`, group by group.
    fn sharpen<R: RewardRepr>(
        &self,
        fields: &Fields<'_, R>,
        offsets: &[usize],
        out: &mut [f32],
    ) -> Result<NoveltyStats, Error> {
        let mut nov = NoveltyStats::default();
        for (g, w) in offsets.windows(2).enumerate() {
            let group = fields.group(w[0]..w[1]);
            let (s_bar, bad) = group.s_bar();
            if bad {
                return Err(non_finite_logprob(g, &group));
            }
            let a = &mut out[w[0]..w[1]];
            if a.iter().any(|&a_i| a_i > 0.0) {
                self.sharpen_group(&group, s_bar, a, &mut nov);
            }
        }
        Ok(nov)
    }

    #[inline]
    fn sharpen_group<R: RewardRepr>(
        &self,
        g: &Fields<'_, R>,
        s_bar: f64,
        a: &mut [f32],
        nov: &mut NoveltyStats,
    ) {
        debug_assert!(g.r.len() == a.len() && g.s.len() == a.len());
        for (i, a_i) in a.iter_mut().enumerate() {
            // Correct: scored with A_i > 0. Incorrect or unscored responses keep A_i.
            let correct = (*a_i > 0.0) & g.r[i].get().0;
            nov.correct_responses += usize::from(correct);
            // log η_i = s(y_i) − s̄.
            let log_eta = f64::from(g.s[i]) - s_bar;
            // η_i ≥ 1 gives λ_nov · (1 − η_i) ≤ 0: no bonus, and no exp needed. One
            // combined branch keeps mispredictions down on random correctness patterns.
            if !(correct & g.eligible(i) & (log_eta < 0.0)) {
                continue;
            }
            let a_base = f64::from(*a_i);
            // 1 − η_i = −expm1(log η_i), accurate for η_i near 1. f32 precision suffices
            // (advantages are f32) and expm1f is about twice as fast as expm1.
            let one_minus_eta = f64::from(-(log_eta as f32).exp_m1());
            // bonus = min(max(λ_nov · (1 − η_i), 0), κ_clip · A_i); here 1 − η_i > 0.
            let raw = self.lambda_novelty * one_minus_eta;
            let cap = self.kappa_clip * a_base;
            let bonus = raw.min(cap);
            if bonus > 0.0 {
                nov.bonused_responses += 1;
                nov.bonus_sum += bonus;
                nov.clipped_responses += usize::from(raw >= cap);
                // A⁺_i = A_i + bonus.
                *a_i = (a_base + bonus) as f32;
            }
        }
    }
}

/// The error naming the first scored response of group `g` with a NaN/∞ s(y_i).
#[cold]
fn non_finite_logprob<R: RewardRepr>(group: usize, g: &Fields<'_, R>) -> Error {
    let index = (0..g.s.len())
        .find(|&i| g.r[i].get().0 && !g.s[i].is_finite())
        .unwrap_or(0);
    Error::NonFiniteLogprob {
        group,
        index,
        value: g.s.get(index).copied().unwrap_or(f32::NAN),
    }
}
