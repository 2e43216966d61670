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
        // Four partial sums: no chain of dependent additions per response.
        let (mut s_sum, mut s_n, mut bad) = ([0.0f64; 4], 0usize, false);
        for i in 0..self.s.len() {
            let w = self.eligible(i);
            let s_i = self.s[i];
            s_sum[i % 4] += if w { f64::from(s_i) } else { 0.0 };
            s_n += usize::from(w);
            bad |= self.r[i].get().0 & !s_i.is_finite();
        }
        let s_sum = (s_sum[0] + s_sum[1]) + (s_sum[2] + s_sum[3]);
        let s_bar = if s_n == 0 { 0.0 } else { s_sum / s_n as f64 };
        (s_bar, bad)
    }
}

impl<S> NoveltySharpening<S> {
    /// Sharpens the base advantages in `out`. Works on runs of whole groups of about
    /// [`CHUNK`] responses: s̄ per group, then every per-response step over the whole run
    /// in branch-free loops that vectorise (short per-group loops would not).
    fn sharpen<R: RewardRepr>(
        &self,
        fields: &Fields<'_, R>,
        offsets: &[usize],
        out: &mut [f32],
    ) -> Result<NoveltyStats, Error> {
        let mut nov = NoveltyStats::default();
        let groups = offsets.len().saturating_sub(1);
        let mut one_minus_eta: Vec<f32> = Vec::with_capacity(CHUNK);
        let mut g = 0;
        while g < groups {
            // Groups g..h, rows start..end: at most CHUNK rows unless one group is larger.
            let start = offsets[g];
            let mut h = g + 1;
            while h < groups && offsets[h + 1] - start <= CHUNK {
                h += 1;
            }
            let end = offsets[h];
            one_minus_eta.clear();
            for gg in g..h {
                let group = fields.group(offsets[gg]..offsets[gg + 1]);
                let (s_bar, bad) = group.s_bar();
                if bad {
                    return Err(non_finite_logprob(gg, &group));
                }
                // log η_i = s(y_i) − s̄; η_i ≥ 1 (log η_i ≥ 0) gives no bonus, so it is
                // clamped to 0 (1 − η_i = 0). A NaN s(y_i) (missing reward, flat batch)
                // clamps to 0 too and is never used.
                one_minus_eta.extend(
                    group
                        .s
                        .iter()
                        .map(|&s_i| ((f64::from(s_i) - s_bar) as f32).min(0.0)),
                );
            }
            for o in &mut one_minus_eta {
                // 1 − η_i = −expm1(log η_i), accurate for η_i near 1; f32 precision
                // suffices (advantages are f32).
                *o = -expm1_nonpos(*o);
            }
            self.bonus_run(
                &fields.group(start..end),
                &one_minus_eta,
                &mut out[start..end],
                &mut nov,
            );
            g = h;
        }
        Ok(nov)
    }

    /// Adds the bonus to the correct responses of a run of groups, given 1 − η_i ≥ 0.
    #[inline]
    fn bonus_run<R: RewardRepr>(
        &self,
        run: &Fields<'_, R>,
        one_minus_eta: &[f32],
        a: &mut [f32],
        nov: &mut NoveltyStats,
    ) {
        debug_assert!(run.r.len() == a.len() && one_minus_eta.len() == a.len());
        // In f32, capped at f32::MAX (a finite λ or κ above it would become ∞, and ∞ · 0 is
        // NaN).
        let lambda = (self.lambda_novelty as f32).min(f32::MAX);
        let kappa = (self.kappa_clip as f32).min(f32::MAX);
        // Scratch, fully rewritten for each block before it is read.
        let (mut weight, mut bonus) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
        for (start, a) in (0..).step_by(BLOCK).zip(a.chunks_mut(BLOCK)) {
            // Equal-length slices and index loops: what the vectoriser handles best.
            let m = a.len();
            let (w, b) = (&mut weight[..m], &mut bonus[..m]);
            let r = &run.r[start..start + m];
            let ome = &one_minus_eta[start..start + m];
            // Candidates: correct (scored with A_i > 0; incorrect or unscored responses
            // keep A_i) and, when lengths are known, non-empty; as a 0/1 weight.
            let mut correct_n = 0u32;
            for k in 0..m {
                let correct = (a[k] > 0.0) & r[k].get().0;
                correct_n += u32::from(correct);
                w[k] = f32::from(u8::from(correct));
            }
            if let Some(len) = run.len {
                let len = &len[start..start + m];
                for k in 0..m {
                    w[k] *= f32::from(u8::from(len[k] > 0));
                }
            }
            // bonus = min(max(λ_nov · (1 − η_i), 0), κ_clip · A_i) for a candidate, 0 for
            // others; A⁺_i = A_i + bonus. In f32 like the advantages, with a multiply by
            // the weight and counts of comparisons instead of branches (which mispredict on
            // random correctness), so that the loop vectorises.
            let (mut bonused, mut clipped) = (0u32, 0u32);
            for k in 0..m {
                // raw is finite (0 ≤ 1 − η_i ≤ 1); cap is in [0, ∞] (0 for A_i ≤ 0, which is
                // never a candidate), so min(raw, cap) is finite and the weight can zero it.
                let raw = lambda * ome[k];
                let cap = kappa * a[k].max(0.0);
                b[k] = raw.min(cap) * w[k];
                let took = b[k] > 0.0;
                bonused += u32::from(took);
                clipped += u32::from(took & (raw >= cap));
                a[k] += b[k];
            }
            nov.correct_responses += correct_n as usize;
            nov.bonused_responses += bonused as usize;
            nov.clipped_responses += clipped as usize;
            // Four partial sums: no chain of dependent additions per response.
            let mut sums = [0.0f64; 4];
            let quads = b.chunks_exact(4);
            let tail = quads.remainder();
            for q in quads {
                for j in 0..4 {
                    sums[j] += f64::from(q[j]);
                }
            }
            for (s, &x) in sums.iter_mut().zip(tail) {
                *s += f64::from(x);
            }
            nov.bonus_sum += (sums[0] + sums[1]) + (sums[2] + sums[3]);
        }
    }
}

/// Responses per run of groups in [`NoveltySharpening::sharpen`].
const CHUNK: usize = 2048;

/// Responses per block of [`NoveltySharpening::bonus_run`]'s vectorised loops.
const BLOCK: usize = 256;

/// e^x − 1 for x ≤ 0 in f32, without branches or calls so that a loop over it
/// vectorises (libm's `expm1f` is a call per response). Relative error ≤ 2 · 2⁻²³
/// (tested against f64 `exp_m1`); −1 below x = −88.
///
/// Range reduction x = k·ln 2 + r, |r| ≤ ln 2 / 2 (Cody–Waite, ln 2 split in two so that
/// k·ln2_hi is exact); expm1(r) by its Taylor series to r⁷ (the next term is < 2⁻²⁶
/// relative); then e^x − 1 = 2^k · expm1(r) + (2^k − 1), exact for k = 0 (no
/// cancellation near x = 0).
#[inline(always)]
pub(crate) fn expm1_nonpos(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4; // 355/512, 9 significant bits
    const LN2_LO: f32 = -2.121_944_4e-4; // ln 2 − LN2_HI
    // 1.5 · 2²³: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.max(-88.0);
    let shifted = x * LOG2_E + ROUND; // round(x / ln 2) in the low mantissa bits
    let k = shifted - ROUND; // in [−127, 0]
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = r + r
        * r
        * (1.0 / 2.0
            + r * (1.0 / 6.0
                + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r / 5040.0)))));
    // 2^k from its exponent bits; k = −127 gives 0.0 (e^x − 1 = −1 in f32 there). k as
    // an integer is the difference of the mantissa bits (no float → int conversion).
    let k_int = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let two_k = f32::from_bits(k_int.wrapping_add(127) << 23);
    two_k * p + (two_k - 1.0)
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

#[cfg(test)]
mod tests {
    use super::expm1_nonpos;

    /// Against f64 `exp_m1` on a dense grid of [−100, 0] and near 0: relative error ≤ 2 · 2⁻²³.
    #[test]
    fn expm1_nonpos_is_within_two_ulp() {
        let mut xs: Vec<f32> = (0..=200_000).map(|i| -(i as f32) * 5e-4).collect();
        xs.extend(
            (0..2000)
                .map(|i| -1e-30f32 * 1.05f32.powi(i))
                .filter(|x| x.is_finite()),
        );
        xs.extend([-0.0, -1e-45, -87.9, -88.0, -90.0, -1e6, f32::NEG_INFINITY]);
        for x in xs {
            let got = expm1_nonpos(x);
            let want = f64::from(x).exp_m1();
            let ulp = f64::from(f32::EPSILON) * want.abs().max(f64::from(f32::MIN_POSITIVE));
            assert!(
                (f64::from(got) - want).abs() <= 2.0 * ulp,
                "x = {x}: got {got}, want {want}"
            );
        }
    }
}
