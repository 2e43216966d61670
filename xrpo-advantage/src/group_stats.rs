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
    /// Σ (r_i − mean)² over scored rewards (0 until [`with_squares`] fills it).
    pub ss: f64,
}

impl Moments {
    /// Bessel-corrected sample std of the scored rewards (n ≥ 2).
    #[inline]
    pub(crate) fn sample_std(&self) -> f64 {
        debug_assert!(self.n >= 2, "sample std needs two scored rewards");
        (self.ss / (self.n - 1) as f64).sqrt()
    }
}

/// Four interleaved accumulators, so that no response waits for the previous one's
/// addition: `step(lane, reward)` for every reward, lane = index mod 4.
#[inline(always)]
fn four_lanes<R: RewardRepr>(rewards: &[R], mut step: impl FnMut(usize, R)) {
    let quads = rewards.chunks_exact(4);
    let tail = quads.remainder();
    for q in quads {
        step(0, q[0]);
        step(1, q[1]);
        step(2, q[2]);
        step(3, q[3]);
    }
    for (lane, &r) in tail.iter().enumerate() {
        step(lane, r);
    }
}

/// One pass over a group: count, sum and mean of the scored rewards, and whether any is
/// ±∞ (a [`Batch`](crate::Batch) never holds one; a flat slice may).
#[inline]
fn scan<R: RewardRepr>(rewards: &[R]) -> (Moments, bool) {
    let mut n = [0usize; 4];
    let mut sum = [0.0f64; 4];
    let mut infinite = [false; 4];
    four_lanes(rewards, |k, r| {
        let (scored, r) = r.get();
        n[k] += usize::from(scored);
        sum[k] += f64::from(r);
        infinite[k] |= r.is_infinite();
    });
    let n = n.iter().sum();
    let sum = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    let mean = if n == 0 { 0.0 } else { sum / n as f64 };
    let m = Moments {
        n,
        sum,
        mean,
        ss: 0.0,
    };
    (m, infinite.iter().any(|&x| x))
}

/// `m` with Σ (r_i − mean)² filled in. It is exactly 0 if and only if every scored reward
/// is equal: n equal f32 values sum exactly in f64, so the mean is exactly that value;
/// two different f32 values leave some |r_i − mean| ≥ half their gap, whose square
/// is far above f64's smallest number.
#[inline]
fn with_squares<R: RewardRepr>(rewards: &[R], m: Moments) -> Moments {
    let mut ss = [0.0f64; 4];
    four_lanes(rewards, |k, r| {
        let (scored, r) = r.get();
        let d = f64::from(r) - m.mean;
        ss[k] += if scored { d * d } else { 0.0 };
    });
    Moments {
        ss: (ss[0] + ss[1]) + (ss[2] + ss[3]),
        ..m
    }
}

/// Bessel-corrected std of every scored reward in the batch (for `StdScale::Batch`); 0
/// when fewer than two rewards are scored. A ±∞ reward is reported by `shape_groups`.
pub(crate) fn batch_std<R: RewardRepr>(rewards: &[R]) -> f64 {
    let (m, infinite) = scan(rewards);
    if m.n < 2 || infinite {
        0.0
    } else {
        with_squares(rewards, m).sample_std()
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

/// Runs `formula` on every group with ≥ 2 scored, not-all-equal rewards (its
/// [`Moments`] complete, `ss` included); writes 0 for
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
        let (m, infinite) = scan(r);
        if infinite {
            return Err(non_finite_reward(g, r));
        }
        stats.missing_rewards += r.len() - m.n;
        if m.n < 2 {
            stats.undersized_groups += 1;
            a.fill(0.0);
            continue;
        }
        let m = with_squares(r, m);
        if m.ss == 0.0 {
            // Every scored reward equal: zero std.
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
