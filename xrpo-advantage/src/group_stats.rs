//! The per-group loop every baseline estimator shares: count scored responses, detect
//! degenerate groups (documented answer: advantage 0, plus a counter), and hand the rest
//! to the estimator's formula. Works on flat slices with no allocation, in either reward
//! layout ([`RewardRepr`]), with the same arithmetic in the same order for both, so the
//! [`Batch`](crate::Batch) path and the [`FlatBatch`](crate::FlatBatch) path give the
//! same numbers.

use crate::{Error, Reward, ShapingStats};

/// One reward in one of the two layouts: [`Reward`] (`Option<f32>`, `None` = missing) in
/// a [`Batch`](crate::Batch), or `f32` with NaN = missing in a
/// [`FlatBatch`](crate::FlatBatch).
pub(crate) trait RewardRepr: Copy {
    /// `(scored, value)`; `value` is 0 when the reward is missing, so sums can add it
    /// unconditionally (adding +0.0 never changes a sum that starts at +0.0).
    fn get(self) -> (bool, f32);
}

impl RewardRepr for Reward {
    #[inline(always)]
    fn get(self) -> (bool, f32) {
        match self {
            Some(r) => (true, r),
            None => (false, 0.0),
        }
    }
}

impl RewardRepr for f32 {
    #[inline(always)]
    fn get(self) -> (bool, f32) {
        let scored = !self.is_nan();
        (scored, if scored { self } else { 0.0 })
    }
}

/// Summary of the scored (present) rewards of one group.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moments {
    /// Number of scored responses.
    pub n: usize,
    /// Sum of scored rewards.
    pub sum: f64,
    /// Mean of scored rewards (the GRPO baseline mean_g r).
    pub mean: f64,
}

/// One pass over a group: count, sum, whether all scored rewards are equal, and whether
/// any scored reward is ±∞ (a [`Batch`](crate::Batch) never holds one; a flat slice may).
#[inline]
fn scan<R: RewardRepr>(rewards: &[R]) -> (Moments, bool, bool) {
    let mut n = 0usize;
    let mut sum = 0.0f64;
    let mut min = f32::INFINITY;
    let mut max = f32::NEG_INFINITY;
    let mut infinite = false;
    for r in rewards {
        let (scored, r) = r.get();
        n += usize::from(scored);
        sum += f64::from(r);
        min = if scored { min.min(r) } else { min };
        max = if scored { max.max(r) } else { max };
        infinite |= r.is_infinite();
    }
    let mean = if n == 0 { 0.0 } else { sum / n as f64 };
    (Moments { n, sum, mean }, min == max, infinite)
}

/// Bessel-corrected sample std of the scored rewards (n ≥ 2).
#[inline]
pub(crate) fn sample_std<R: RewardRepr>(rewards: &[R], m: &Moments) -> f64 {
    debug_assert!(m.n >= 2, "sample std needs two scored rewards");
    let mut ss = 0.0f64;
    for r in rewards {
        let (scored, r) = r.get();
        let d = f64::from(r) - m.mean;
        ss += if scored { d * d } else { 0.0 };
    }
    (ss / (m.n - 1) as f64).sqrt()
}

/// Bessel-corrected std of every scored reward in the batch (for `StdScale::Batch`); 0
/// when fewer than two rewards are scored. A ±∞ reward is reported by `shape_groups`.
pub(crate) fn batch_std<R: RewardRepr>(rewards: &[R]) -> f64 {
    let (m, _, infinite) = scan(rewards);
    if m.n < 2 || infinite {
        0.0
    } else {
        sample_std(rewards, &m)
    }
}

/// Writes `(r_i − mean) · inv_denom` for scored responses, 0 for missing ones.
#[inline]
pub(crate) fn centred<R: RewardRepr>(r: &[R], a: &mut [f32], m: &Moments, inv_denom: f64) {
    for (a_i, r_i) in a.iter_mut().zip(r) {
        let (scored, r_i) = r_i.get();
        let v = ((f64::from(r_i) - m.mean) * inv_denom) as f32;
        *a_i = if scored { v } else { 0.0 };
    }
}

/// Runs `formula` on every group with ≥ 2 scored, not-all-equal rewards; writes 0 for
/// every other group and counts it. `formula` must write every slot of its output (0 for
/// a missing reward). `offsets` are valid group offsets over `rewards` (checked by the
/// batch types).
///
/// # Errors
/// [`Error::OutputLength`]; [`Error::NonFiniteReward`] for a ±∞ reward (flat layout).
#[inline]
pub(crate) fn shape_groups<R: RewardRepr>(
    rewards: &[R],
    offsets: &[usize],
    out: &mut [f32],
    mut formula: impl FnMut(&[R], &mut [f32], &Moments),
) -> Result<ShapingStats, Error> {
    if out.len() != rewards.len() {
        return Err(Error::OutputLength {
            expected: rewards.len(),
            found: out.len(),
        });
    }
    let mut stats = ShapingStats {
        groups: offsets.len().saturating_sub(1),
        responses: rewards.len(),
        ..ShapingStats::default()
    };
    for (g, w) in offsets.windows(2).enumerate() {
        let (r, a) = (&rewards[w[0]..w[1]], &mut out[w[0]..w[1]]);
        let (m, all_equal, infinite) = scan(r);
        if infinite {
            return Err(non_finite_reward(g, r));
        }
        stats.missing_rewards += r.len() - m.n;
        if m.n < 2 {
            stats.undersized_groups += 1;
            a.fill(0.0);
        } else if all_equal {
            stats.zero_std_groups += 1;
            a.fill(0.0);
        } else {
            formula(r, a, &m);
        }
    }
    Ok(stats)
}

/// The error naming the first ±∞ reward of group `g`.
#[cold]
fn non_finite_reward<R: RewardRepr>(group: usize, r: &[R]) -> Error {
    let (index, value) = r
        .iter()
        .map(|x| x.get().1)
        .enumerate()
        .find(|(_, x)| x.is_infinite())
        .unwrap_or((0, f32::NAN));
    Error::NonFiniteReward {
        group,
        index,
        value,
    }
}
