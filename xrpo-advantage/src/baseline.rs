//! Group-baseline estimators: GRPO (group-normalised), Dr.GRPO (no std) and RLOO
//! (leave-one-out).

use serde::{Deserialize, Serialize};

use crate::error::non_negative;
use crate::group_stats::{RewardRepr, batch_std, centred, shape_groups};
use crate::{AdvantageShaper, Batch, ConfigError, Error, FlatBatch, ShapingStats};

/// ε in GRPO's `A_i = (r_i − mean_g r) / (std r + ε)`: 1e-4.
///
/// Implementation detail, compared with peers (sources as pinned in the project style
/// guide): TRL @f2cd577 `trl/trainer/grpo_trainer.py` uses 1e-4 (we match it); verl
/// @b178a3c `verl/trainer/ppo/core_algos.py` (`compute_grpo_outcome_advantage`) uses
/// 1e-6; OpenRLHF 1e-9. With binary rewards the choice only matters for groups whose std
/// is tiny; pass another value to [`Grpo::new`] to reproduce a peer.
pub const GRPO_STD_EPSILON: f64 = 1e-4;

/// Which std divides GRPO's centred rewards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StdScale {
    /// The group's own reward std (original GRPO; TRL `scale_rewards="group"`).
    #[default]
    Group,
    /// The std of every scored reward in the batch (TRL `scale_rewards="batch"`); the
    /// mean stays per group.
    Batch,
    /// No division (TRL `scale_rewards="none"`): identical to [`DrGrpo`].
    None,
}

/// GRPO: `A_i = (r_i − mean_g r) / (std r + ε)` over the scored responses of a group
/// (XRPO spec §3, first line; Shao et al. 2024).
///
/// - std is the Bessel-corrected (unbiased, n − 1) sample std, as `torch.std` in TRL and
///   verl; which std (group, batch, none) is [`StdScale`].
/// - Missing rewards are left out of mean and std and get advantage 0.
/// - A group with fewer than two scored responses gets advantage 0 and is counted in
///   [`ShapingStats::undersized_groups`]. **Divergence from verl**, whose group of one
///   gets mean 0 and std 1, i.e. the raw score as advantage.
/// - A group whose scored rewards are all equal gets exactly 0 (no rounding residue) and
///   is counted in [`ShapingStats::zero_std_groups`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grpo {
    scale: StdScale,
    epsilon: f64,
}

impl Default for Grpo {
    fn default() -> Self {
        Self {
            scale: StdScale::Group,
            epsilon: GRPO_STD_EPSILON,
        }
    }
}

impl Grpo {
    /// GRPO with the given std scaling and ε.
    ///
    /// # Errors
    /// [`ConfigError::NotNonNegative`] when ε is negative or not finite.
    pub fn new(scale: StdScale, epsilon: f64) -> Result<Self, ConfigError> {
        Ok(Self {
            scale,
            epsilon: non_negative("epsilon", epsilon)?,
        })
    }

    /// The std scaling.
    pub fn scale(&self) -> StdScale {
        self.scale
    }

    /// ε.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }
}

impl Grpo {
    /// GRPO over either reward layout (the [`Batch`] and the [`FlatBatch`] path share it).
    fn shape_repr<R: RewardRepr>(
        &self,
        rewards: &[R],
        offsets: &[usize],
        out: &mut [f32],
    ) -> Result<ShapingStats, Error> {
        let eps = self.epsilon;
        match self.scale {
            // A_i = (r_i − mean_g r) / (std_g r + ε), std_g Bessel-corrected.
            StdScale::Group => shape_groups(rewards, offsets, out, |r, a, m| {
                centred(r, a, m, 1.0 / (m.sample_std() + eps));
            }),
            // A_i = (r_i − mean_g r) / (std_batch r + ε).
            StdScale::Batch => {
                let std_b = batch_std(rewards);
                // A group that is not degenerate makes std_b > 0, so the divisor is > 0.
                let inv = 1.0 / (std_b + eps);
                shape_groups(rewards, offsets, out, |r, a, m| centred(r, a, m, inv))
            }
            // A_i = r_i − mean_g r.
            StdScale::None => shape_groups(rewards, offsets, out, |r, a, m| centred(r, a, m, 1.0)),
        }
    }
}

impl AdvantageShaper for Grpo {
    fn shape_into(&self, batch: &Batch, out: &mut [f32]) -> Result<ShapingStats, Error> {
        self.shape_repr(batch.rewards_slice(), batch.offsets(), out)
    }

    fn shape_flat(&self, batch: &FlatBatch<'_>, out: &mut [f32]) -> Result<ShapingStats, Error> {
        self.shape_repr(batch.rewards(), batch.offsets(), out)
    }
}

/// Dr.GRPO (Liu et al. 2025, "Understanding R1-Zero-Like Training"): `A_i = r_i − mean_g r`,
/// no std division (verl `norm_adv_by_std_in_grpo=False`, TRL `scale_rewards="none"`).
/// Same handling of missing rewards and degenerate groups as [`Grpo`]. Its loss side
/// (sequence sum normalised by a constant) lives in the trainer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrGrpo;

impl AdvantageShaper for DrGrpo {
    // A_i = r_i − mean_g r.
    fn shape_into(&self, batch: &Batch, out: &mut [f32]) -> Result<ShapingStats, Error> {
        let r = batch.rewards_slice();
        shape_groups(r, batch.offsets(), out, |r, a, m| centred(r, a, m, 1.0))
    }

    fn shape_flat(&self, batch: &FlatBatch<'_>, out: &mut [f32]) -> Result<ShapingStats, Error> {
        let r = batch.rewards();
        shape_groups(r, batch.offsets(), out, |r, a, m| centred(r, a, m, 1.0))
    }
}

/// RLOO (Ahmadian et al. 2024): `A_i = r_i − (1/(n−1)) Σ_{j≠i} r_j`, the leave-one-out
/// baseline over the n ≥ 2 scored responses of a group. Equal to
/// `n/(n−1) · (r_i − mean_g r)`. Missing rewards and degenerate groups as in [`Grpo`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rloo;

impl Rloo {
    /// RLOO over either reward layout.
    fn shape_repr<R: RewardRepr>(
        rewards: &[R],
        offsets: &[usize],
        out: &mut [f32],
    ) -> Result<ShapingStats, Error> {
        shape_groups(rewards, offsets, out, |r, a, m| {
            let inv_others = 1.0 / (m.n - 1) as f64;
            for (a_i, r_i) in a.iter_mut().zip(r) {
                let (scored, r_i) = r_i.get();
                let r_i = f64::from(r_i);
                // A_i = r_i − (1/(n−1)) Σ_{j≠i} r_j.
                let baseline = (m.sum - r_i) * inv_others;
                *a_i = if scored { (r_i - baseline) as f32 } else { 0.0 };
            }
        })
    }
}

impl AdvantageShaper for Rloo {
    fn shape_into(&self, batch: &Batch, out: &mut [f32]) -> Result<ShapingStats, Error> {
        Self::shape_repr(batch.rewards_slice(), batch.offsets(), out)
    }

    fn shape_flat(&self, batch: &FlatBatch<'_>, out: &mut [f32]) -> Result<ShapingStats, Error> {
        Self::shape_repr(batch.rewards(), batch.offsets(), out)
    }
}
