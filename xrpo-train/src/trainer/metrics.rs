//! [`StepMetrics`]: what one step measured, as typed fields. Serialised, a value is one
//! `metrics.jsonl` line with TRL's metric names (`reward`, `frac_reward_zero_std`,
//! `clip_ratio/*`, `completions/*`, …) plus `alloc/*`, `seed/*`, `advantage/*` and
//! `time/*`; reading a line back (e.g. in xrpo-bench) deserialises it.
//!
//! ```
//! use xrpo_train::trainer::StepRecord;
//!
//! let line = r#"{"step":3,"reward":0.5,"alloc/rollouts":128.0,"seed/flipped":2.0}"#;
//! let r: StepRecord = serde_json::from_str(line)?;
//! assert_eq!((r.step, r.metrics.reward, r.metrics.alloc.rollouts), (3, 0.5, 128.0));
//! assert_eq!(r.metrics.seed.flipped, 2.0);
//! assert!(r.metrics.loss.is_nan()); // absent from the line: unknown, not 0
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// A metric written as JSON `null` (a NaN, which JSON cannot hold) reads back as NaN.
fn nan_if_null<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One `metrics.jsonl` line: the step number and its metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based step number (training steps done after this one).
    pub step: u64,
    /// The step's metrics (flattened into the line).
    #[serde(flatten)]
    pub metrics: StepMetrics,
}

/// Every metric of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StepMetrics {
    /// Mean reward over the step's scored rollouts (TRL `reward`).
    #[serde(deserialize_with = "nan_if_null")]
    pub reward: f64,
    /// Mean over prompts of the group reward's sample std.
    #[serde(deserialize_with = "nan_if_null")]
    pub reward_std: f64,
    /// Share of the trained groups whose rewards all agree (no learning signal); groups
    /// the allocator dropped are counted in `alloc/dropped_groups` instead.
    #[serde(deserialize_with = "nan_if_null")]
    pub frac_reward_zero_std: f64,
    /// Mean completion length in tokens.
    #[serde(rename = "completions/mean_length", deserialize_with = "nan_if_null")]
    pub mean_length: f64,
    /// Share of completions cut at `max_new_tokens`.
    #[serde(rename = "completions/clipped_ratio", deserialize_with = "nan_if_null")]
    pub clipped_ratio: f64,
    /// Share of tokens (sequences for GSPO) whose ratio is clipped below, mean over the step's updates.
    #[serde(rename = "clip_ratio/low_mean", deserialize_with = "nan_if_null")]
    pub clip_low: f64,
    /// Share clipped above, mean over the step's updates.
    #[serde(rename = "clip_ratio/high_mean", deserialize_with = "nan_if_null")]
    pub clip_high: f64,
    /// Share clipped either way, mean over the step's updates.
    #[serde(rename = "clip_ratio/region_mean", deserialize_with = "nan_if_null")]
    pub clip_region: f64,
    /// KL to the reference policy (0 without one), mean over the step's updates.
    #[serde(deserialize_with = "nan_if_null")]
    pub kl: f64,
    /// Monte-Carlo entropy estimate: mean −log π of the sampled tokens.
    #[serde(deserialize_with = "nan_if_null")]
    pub entropy: f64,
    /// Completion tokens sampled this step.
    #[serde(deserialize_with = "nan_if_null")]
    pub num_tokens: f64,
    /// Policy loss, mean over the step's updates.
    #[serde(deserialize_with = "nan_if_null")]
    pub loss: f64,
    /// Mean |training-forward − sampler| log-prob over tokens scored on the context they were sampled from (verl's `rollout_probs_diff`).
    #[serde(deserialize_with = "nan_if_null")]
    pub logprob_diff: f64,
    /// Gradient norm before clipping, mean over the step's updates.
    #[serde(deserialize_with = "nan_if_null")]
    pub grad_norm: f64,
    /// Learning rate of the step's updates.
    #[serde(deserialize_with = "nan_if_null")]
    pub learning_rate: f64,
    /// Optimizer updates made this step: `num_iterations × steps_per_generation` (empty mini-batches skipped).
    #[serde(deserialize_with = "nan_if_null")]
    pub updates: f64,
    /// Allocation (`alloc/*`).
    #[serde(flatten)]
    pub alloc: AllocMetrics,
    /// Seeding (`seed/*`).
    #[serde(flatten)]
    pub seed: SeedMetrics,
    /// Wall-clock seconds (`time/*`).
    #[serde(flatten)]
    pub time: TimeMetrics,
    /// The advantage shaper's own counters (`advantage/*`), and any key this version
    /// does not know when reading a line written by another (`None`: written as
    /// `null`, i.e. NaN).
    #[serde(flatten)]
    pub other: BTreeMap<String, Option<f64>>,
}

impl Default for StepMetrics {
    /// Every metric unknown (NaN) except the counters, which start at 0.
    fn default() -> Self {
        let nan = f64::NAN;
        Self {
            reward: nan,
            reward_std: nan,
            frac_reward_zero_std: nan,
            mean_length: nan,
            clipped_ratio: nan,
            clip_low: nan,
            clip_high: nan,
            clip_region: nan,
            kl: nan,
            entropy: nan,
            num_tokens: nan,
            loss: nan,
            logprob_diff: nan,
            grad_norm: nan,
            learning_rate: nan,
            updates: nan,
            alloc: AllocMetrics::default(),
            seed: SeedMetrics::default(),
            time: TimeMetrics::default(),
            other: BTreeMap::new(),
        }
    }
}

impl StepMetrics {
    /// The metrics as `key → value`, with the `metrics.jsonl` keys.
    pub fn to_map(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(self) {
            for (k, v) in m {
                out.insert(k, v.as_f64().unwrap_or(f64::NAN));
            }
        }
        out
    }

    /// One metric by its `metrics.jsonl` key (`"reward"`, `"alloc/rollouts"`), if known.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.to_map().get(key).copied()
    }
}

/// Allocation metrics (`alloc/*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AllocMetrics {
    /// Rollouts sampled this step (the budget used).
    #[serde(rename = "alloc/rollouts", deserialize_with = "nan_if_null")]
    pub rollouts: f64,
    /// Mean rollouts per prompt.
    #[serde(
        rename = "alloc/rollouts_per_prompt_mean",
        deserialize_with = "nan_if_null"
    )]
    pub rollouts_per_prompt_mean: f64,
    /// Most rollouts given to one prompt.
    #[serde(
        rename = "alloc/rollouts_per_prompt_max",
        deserialize_with = "nan_if_null"
    )]
    pub rollouts_per_prompt_max: f64,
    /// Fewest rollouts given to one prompt.
    #[serde(
        rename = "alloc/rollouts_per_prompt_min",
        deserialize_with = "nan_if_null"
    )]
    pub rollouts_per_prompt_min: f64,
    /// Rollouts of the first phase.
    #[serde(rename = "alloc/phase1_rollouts", deserialize_with = "nan_if_null")]
    pub phase1_rollouts: f64,
    /// Groups the allocator dropped from the update
    /// ([`groups_to_drop`](xrpo_alloc::RolloutAllocator::groups_to_drop): DAPO's filter
    /// drops the groups whose rewards all agree); their rollouts still count in
    /// `alloc/rollouts` and the rollout metrics. When every group is dropped the step
    /// makes no update (`updates` = 0). 0 for allocators that drop nothing.
    #[serde(rename = "alloc/dropped_groups", deserialize_with = "nan_if_null")]
    pub dropped_groups: f64,
}

/// Seeding metrics (`seed/*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedMetrics {
    /// Prompts the seed trigger fired for (seeding tried).
    #[serde(rename = "seed/attempts", deserialize_with = "nan_if_null")]
    pub attempts: f64,
    /// Prompts that got exemplars.
    #[serde(rename = "seed/seeded_prompts", deserialize_with = "nan_if_null")]
    pub seeded_prompts: f64,
    /// Share of the step's prompts that got exemplars.
    #[serde(rename = "seed/seeded_share", deserialize_with = "nan_if_null")]
    pub seeded_share: f64,
    /// Seeded prompts with at least one correct seeded rollout.
    #[serde(rename = "seed/flipped", deserialize_with = "nan_if_null")]
    pub flipped: f64,
    /// Rollouts sampled from a seeded context.
    #[serde(rename = "seed/seeded_rollouts", deserialize_with = "nan_if_null")]
    pub seeded_rollouts: f64,
    /// Exemplars stored in the seeder after the step.
    #[serde(rename = "seed/bank_size", deserialize_with = "nan_if_null")]
    pub bank_size: f64,
}

/// Wall-clock seconds per stage (`time/*`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TimeMetrics {
    /// Seconds sampling.
    #[serde(rename = "time/generate", deserialize_with = "nan_if_null")]
    pub generate: f64,
    /// Seconds verifying.
    #[serde(rename = "time/verify", deserialize_with = "nan_if_null")]
    pub verify: f64,
    /// Seconds in the allocator and the seeder.
    #[serde(rename = "time/allocate", deserialize_with = "nan_if_null")]
    pub allocate: f64,
    /// Seconds in the policy update (all inner epochs).
    #[serde(rename = "time/update", deserialize_with = "nan_if_null")]
    pub update: f64,
    /// Seconds of the whole step.
    #[serde(rename = "time/step", deserialize_with = "nan_if_null")]
    pub step: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keys of a serialised record are exactly the metric names of `metrics.jsonl`
    /// (listed here by hand from the format's documentation, not from the code).
    #[test]
    fn a_record_serialises_to_the_documented_keys() {
        let mut m = StepMetrics::default();
        m.other
            .insert("advantage/missing_rewards".into(), Some(0.0));
        let line = serde_json::to_value(StepRecord {
            step: 1,
            metrics: m,
        })
        .unwrap();
        let mut keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        let mut want = vec![
            "step",
            "reward",
            "reward_std",
            "frac_reward_zero_std",
            "completions/mean_length",
            "completions/clipped_ratio",
            "clip_ratio/low_mean",
            "clip_ratio/high_mean",
            "clip_ratio/region_mean",
            "kl",
            "entropy",
            "num_tokens",
            "loss",
            "logprob_diff",
            "grad_norm",
            "learning_rate",
            "updates",
            "alloc/rollouts",
            "alloc/rollouts_per_prompt_mean",
            "alloc/rollouts_per_prompt_max",
            "alloc/rollouts_per_prompt_min",
            "alloc/phase1_rollouts",
            "alloc/dropped_groups",
            "seed/attempts",
            "seed/seeded_prompts",
            "seed/seeded_share",
            "seed/flipped",
            "seed/seeded_rollouts",
            "seed/bank_size",
            "time/generate",
            "time/verify",
            "time/allocate",
            "time/update",
            "time/step",
            "advantage/missing_rewards",
        ];
        want.sort_unstable();
        assert_eq!(keys, want);
    }

    /// A line round-trips, NaN included (written as `null`, read back as NaN).
    #[test]
    fn a_line_round_trips_with_nan() {
        let mut m = StepMetrics {
            reward: 0.25,
            ..StepMetrics::default()
        };
        m.alloc.rollouts = 128.0;
        let r = StepRecord {
            step: 7,
            metrics: m,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"loss\":null"), "{text}");
        let back: StepRecord = serde_json::from_str(&text).unwrap();
        assert_eq!(back.step, 7);
        assert_eq!(back.metrics.reward, 0.25);
        assert_eq!(back.metrics.alloc.rollouts, 128.0);
        assert!(back.metrics.loss.is_nan());
        assert_eq!(back.metrics.get("alloc/rollouts"), Some(128.0));
    }
}
