//! [`ShapingStats`]: what a shaper did to a batch, for the trainer's metrics.

use serde::{Deserialize, Serialize};

/// A report of one call to a shaper: degenerate groups are counted here instead of being
/// silently given a raw score.
///
/// Counts add up across micro-batches with [`ShapingStats::merge`]; ratios are derived on
/// demand so merging stays exact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapingStats {
    /// Groups in the batch.
    pub groups: usize,
    /// Responses in the batch.
    pub responses: usize,
    /// Responses whose reward was missing (`None`); each got advantage 0.
    pub missing_rewards: usize,
    /// Groups with fewer than 2 scored responses (a group of one, or all but one missing):
    /// no baseline exists, so every advantage in them is 0.
    pub undersized_groups: usize,
    /// Groups with ≥ 2 scored responses that are all equal (std 0, no learning signal);
    /// every advantage in them is exactly 0.
    pub zero_std_groups: usize,
    /// What novelty sharpening did; `None` when no sharpening ran.
    pub novelty: Option<NoveltyStats>,
}

/// What [`NoveltySharpening`](crate::NoveltySharpening) did to a batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoveltyStats {
    /// Responses treated as correct: scored and with base advantage A_i > 0.
    pub correct_responses: usize,
    /// Correct responses that received a bonus > 0 (η_i < 1).
    pub bonused_responses: usize,
    /// Bonuses that hit the cap κ_clip · A_i.
    pub clipped_responses: usize,
    /// Sum of all bonuses (A⁺_i − A_i) over correct responses.
    pub bonus_sum: f64,
}

impl ShapingStats {
    /// Share of groups with zero reward std (TRL's `frac_reward_zero_std`); groups with
    /// fewer than two scored responses are counted in [`Self::frac_undersized_groups`]
    /// instead. 0 for an empty batch.
    pub fn frac_reward_zero_std(&self) -> f64 {
        ratio(self.zero_std_groups, self.groups)
    }

    /// Share of groups with fewer than two scored responses. 0 for an empty batch.
    pub fn frac_undersized_groups(&self) -> f64 {
        ratio(self.undersized_groups, self.groups)
    }

    /// Mean novelty bonus over correct responses (zeros included); 0 without sharpening.
    pub fn mean_novelty_bonus(&self) -> f64 {
        self.novelty.as_ref().map_or(0.0, |n| {
            if n.correct_responses == 0 {
                0.0
            } else {
                n.bonus_sum / n.correct_responses as f64
            }
        })
    }

    /// Share of correct responses that got a bonus; 0 without sharpening.
    pub fn frac_bonused(&self) -> f64 {
        self.novelty
            .as_ref()
            .map_or(0.0, |n| ratio(n.bonused_responses, n.correct_responses))
    }

    /// Adds the counts of `other` (another micro-batch of the same step) to `self`.
    pub fn merge(&mut self, other: &ShapingStats) {
        self.groups += other.groups;
        self.responses += other.responses;
        self.missing_rewards += other.missing_rewards;
        self.undersized_groups += other.undersized_groups;
        self.zero_std_groups += other.zero_std_groups;
        if let Some(o) = &other.novelty {
            let n = self.novelty.get_or_insert_with(NoveltyStats::default);
            n.correct_responses += o.correct_responses;
            n.bonused_responses += o.bonused_responses;
            n.clipped_responses += o.clipped_responses;
            n.bonus_sum += o.bonus_sum;
        }
    }

    /// Metrics under namespaced keys (TRL's name where one exists), ready to log.
    ///
    /// Keys: `frac_reward_zero_std`, `advantage/frac_undersized_groups`,
    /// `advantage/missing_rewards`, and with sharpening `advantage/novelty_bonus_mean`,
    /// `advantage/novelty_bonus_frac`, `advantage/novelty_clip_frac`.
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        let mut m = vec![
            ("frac_reward_zero_std", self.frac_reward_zero_std()),
            (
                "advantage/frac_undersized_groups",
                self.frac_undersized_groups(),
            ),
            ("advantage/missing_rewards", self.missing_rewards as f64),
        ];
        if let Some(n) = &self.novelty {
            m.push(("advantage/novelty_bonus_mean", self.mean_novelty_bonus()));
            m.push(("advantage/novelty_bonus_frac", self.frac_bonused()));
            m.push((
                "advantage/novelty_clip_frac",
                ratio(n.clipped_responses, n.correct_responses),
            ));
        }
        m
    }
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}
