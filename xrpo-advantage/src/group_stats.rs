//! The per-group loop every baseline estimator shares: count scored responses, detect
//! degenerate groups (documented answer: advantage 0, plus a counter), and hand the rest
//! to the estimator's formula. Works on flat slices with no allocation.

use crate::{Batch, Error, Reward, ShapingStats};

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

/// One pass over a group: count, sum, and whether all scored rewards are equal.
#[inline]
fn scan(rewards: &[Reward]) -> (Moments, bool) {
    let mut n = 0usize;
    let mut sum = 0.0f64;
    let mut min = f32::INFINITY;
    let mut max = f32::NEG_INFINITY;
    for r in rewards.iter().flatten() {
        n += 1;
        sum += f64::from(*r);
        min = min.min(*r);
        max = max.max(*r);
    }
    let mean = if n == 0 { 0.0 } else { sum / n as f64 };
    (Moments { n, sum, mean }, min == max)
}

/// Bessel-corrected sample std of the scored rewards (n ≥ 2).
#[inline]
pub(crate) fn sample_std(rewards: &[Reward], m: &Moments) -> f64 {
    debug_assert!(m.n >= 2, "sample std needs two scored rewards");
    let ss: f64 = rewards
        .iter()
        .flatten()
        .map(|&r| {
            let d = f64::from(r) - m.mean;
            d * d
        })
        .sum();
    (ss / (m.n - 1) as f64).sqrt()
}

/// Bessel-corrected std of every scored reward in the batch (for `StdScale::Batch`); 0
/// when fewer than two rewards are scored.
pub(crate) fn batch_std(rewards: &[Reward]) -> f64 {
    let (m, _) = scan(rewards);
    if m.n < 2 {
        0.0
    } else {
        sample_std(rewards, &m)
    }
}

/// Runs `formula` on every group with ≥ 2 scored, not-all-equal rewards; writes 0 for
/// every other group and counts it. `formula` must write every slot of its output (0 for
/// a missing reward).
#[inline]
pub(crate) fn shape_groups(
    batch: &Batch,
    out: &mut [f32],
    mut formula: impl FnMut(&[Reward], &mut [f32], &Moments),
) -> Result<ShapingStats, Error> {
    if out.len() != batch.len() {
        return Err(Error::OutputLength {
            expected: batch.len(),
            found: out.len(),
        });
    }
    let rewards = batch.rewards_slice();
    let mut stats = ShapingStats {
        groups: batch.num_groups(),
        responses: batch.len(),
        ..ShapingStats::default()
    };
    for w in batch.offsets().windows(2) {
        let (r, a) = (&rewards[w[0]..w[1]], &mut out[w[0]..w[1]]);
        let (m, all_equal) = scan(r);
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
