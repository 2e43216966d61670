//! Aggregation over seeds: per-arm [`ArmSummary`] figures and the whole [`Summary`]
//! (what `summary.json` holds), and the mean curves the plots draw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::compare::{CompareResults, RunResult};
use crate::seed_stats::{Spread, first_reaching, mean_curve, midpoint_target};

/// Per-arm figures aggregated over seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmSummary {
    /// Arm name.
    pub arm: String,
    /// Seeds run.
    pub seeds: usize,
    /// Eval pass@1 at step 0.
    pub initial_pass_at_1: Option<Spread>,
    /// Eval pass@1 at the last step.
    pub final_pass_at_1: Option<Spread>,
    /// Eval pass@k at the last step.
    pub final_pass_at_k: Option<Spread>,
    /// Eval cons@k at the last step.
    pub final_cons_at_k: Option<Spread>,
    /// Mean eval pass@1 over every evaluation after step 0 (area under the curve / steps).
    pub mean_pass_at_1: Option<Spread>,
    /// Final pass@1 minus the reference arm's, paired by seed.
    pub delta_pass_at_1: Option<Spread>,
    /// Final cons@k minus the reference arm's, paired by seed.
    pub delta_cons_at_k: Option<Spread>,
    /// Steps to reach the target pass@1, over the seeds that reached it.
    pub steps_to_target: Option<Spread>,
    /// Rollouts spent to reach the target pass@1, over the seeds that reached it.
    pub rollouts_to_target: Option<Spread>,
    /// Seeds that reached the target.
    pub reached_target: usize,
    /// Mean over steps of `frac_reward_zero_std`.
    pub frac_reward_zero_std: Option<Spread>,
    /// Rollouts per step (mean).
    pub rollouts_per_step: Option<Spread>,
    /// Mean over steps of the largest per-prompt rollout count.
    pub rollouts_per_prompt_max: Option<Spread>,
    /// Mean over steps of the smallest per-prompt rollout count.
    pub rollouts_per_prompt_min: Option<Spread>,
    /// Prompts seeded per run (sum over steps).
    pub seeded_prompts: Option<Spread>,
    /// Seeded prompts that then got at least one correct rollout, per run.
    pub flipped_prompts: Option<Spread>,
    /// Seed attempts (all-wrong groups looked up in the bank) per run.
    pub seed_attempts: Option<Spread>,
    /// Mean novelty bonus on bonused responses (XRPO sharpening), mean over steps.
    pub novelty_bonus_mean: Option<Spread>,
    /// Share of responses that got a bonus, mean over steps.
    pub novelty_bonus_frac: Option<Spread>,
    /// Share of bonuses clipped at κ_clip, mean over steps.
    pub novelty_clip_frac: Option<Spread>,
    /// Mean training reward over steps.
    pub train_reward: Option<Spread>,
    /// Mean `time/step` (s).
    pub step_seconds: Option<Spread>,
    /// Mean `time/generate` (s).
    pub generate_seconds: Option<Spread>,
    /// Mean `time/allocate` (s): allocation and seeding.
    pub allocate_seconds: Option<Spread>,
    /// Mean `time/update` (s).
    pub update_seconds: Option<Spread>,
    /// Mean of step − generate − verify − allocate − update (s): advantage shaping
    /// (incl. sharpening), tokenisation, metrics; an upper bound on sharpening's cost.
    pub other_seconds: Option<Spread>,
    /// (allocate + other) / step: the overhead of allocation + seeding + sharpening as a
    /// share of step time (upper bound, see `other_seconds`).
    pub overhead_share: Option<Spread>,
    /// Per difficulty level: final minus initial eval pass@1, mean over seeds.
    pub level_gain: BTreeMap<u32, f64>,
    /// Per difficulty level: initial eval pass@1, mean over seeds.
    pub level_start: BTreeMap<u32, f64>,
}

/// Mean over runs of `f(run)`'s per-level values.
pub(crate) fn level_mean(
    runs: &[&RunResult],
    f: &dyn Fn(&RunResult) -> Option<BTreeMap<u32, f64>>,
) -> BTreeMap<u32, f64> {
    let mut acc: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for m in runs.iter().filter_map(|r| f(r)) {
        for (l, v) in m {
            if v.is_finite() {
                let e = acc.entry(l).or_default();
                e.0 += v;
                e.1 += 1;
            }
        }
    }
    acc.into_iter()
        .map(|(l, (s, n))| (l, s / n as f64))
        .collect()
}

/// The whole summary (what `summary.json` holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Target for "steps to target": an absolute eval pass@1 when `target_from_config`,
    /// otherwise a gain in pass@1 over each seed's initial pass@1 (half of the best arm's
    /// mean final gain).
    pub target: f64,
    /// Whether the target came from the config (`false`: the gain default).
    pub target_from_config: bool,
    /// The reference arm deltas are taken against (GRPO when present, else the first).
    pub reference: String,
    /// Whether, for every seed, every arm's step-0 evaluation was identical (same
    /// initial model and eval sampling), as the shared warm-up promises.
    pub identical_start: bool,
    /// Per arm, in config order.
    pub arms: Vec<ArmSummary>,
}

pub(crate) fn metric_mean(run: &RunResult, key: &str) -> f64 {
    let v: Vec<f64> = run
        .steps
        .iter()
        .filter_map(|m| m.get(key).copied())
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

pub(crate) fn metric_sum(run: &RunResult, key: &str) -> f64 {
    let v: Vec<f64> = run
        .steps
        .iter()
        .filter_map(|m| m.get(key).copied())
        .collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum()
    }
}

pub(crate) fn other_seconds(m: &BTreeMap<String, f64>) -> Option<f64> {
    let g = |k: &str| m.get(k).copied();
    Some(
        g("time/step")?
            - g("time/generate")?
            - g("time/verify").unwrap_or(0.0)
            - g("time/allocate")?
            - g("time/update")?,
    )
}

pub(crate) fn spread_by<F: Fn(&RunResult) -> f64>(runs: &[&RunResult], f: F) -> Option<Spread> {
    Spread::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
}

/// Aggregates the runs of a comparison over seeds.
pub fn summarize(results: &CompareResults) -> Summary {
    let arms: Vec<&str> = results
        .config
        .arms
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    let by_arm =
        |name: &str| -> Vec<&RunResult> { results.runs.iter().filter(|r| r.arm == name).collect() };
    let last = |r: &RunResult| r.evals.last().map_or(f64::NAN, |e| e.pass_at_1);
    let last_cons = |r: &RunResult| r.evals.last().map_or(f64::NAN, |e| e.cons_at_k);
    // Per-seed initial pass@1 (every arm of a seed starts from the same model).
    let initial_of = |seed: u64| -> f64 {
        results
            .runs
            .iter()
            .find(|r| r.seed == seed)
            .and_then(|r| r.evals.first())
            .map_or(f64::NAN, |e| e.pass_at_1)
    };
    let gain = |r: &RunResult| last(r) - initial_of(r.seed);
    let best_gain = arms
        .iter()
        .filter_map(|a| spread_by(&by_arm(a), gain).map(|s| s.mean))
        .fold(f64::NEG_INFINITY, f64::max);
    let (target, target_from_config) = match results.config.target {
        Some(t) => (t, true),
        None => (midpoint_target(0.0, best_gain.max(0.0)), false),
    };
    // The threshold a run must reach: absolute, or its seed's start plus the gain target.
    let threshold = |r: &RunResult| {
        if target_from_config {
            target
        } else {
            initial_of(r.seed) + target
        }
    };
    let reference = if arms.contains(&"grpo") {
        "grpo".to_string()
    } else {
        arms.first().map_or_else(String::new, |a| a.to_string())
    };
    let ref_runs = by_arm(&reference);
    let paired = |runs: &[&RunResult], f: &dyn Fn(&RunResult) -> f64| -> Option<Spread> {
        let diffs: Vec<f64> = runs
            .iter()
            .filter_map(|r| {
                ref_runs
                    .iter()
                    .find(|x| x.seed == r.seed)
                    .map(|x| f(r) - f(x))
            })
            .collect();
        Spread::of(&diffs)
    };
    // Same start: every arm's step-0 eval equals the first arm's for the same seed.
    let identical_start = results.config.seeds.iter().all(|&seed| {
        let firsts: Vec<&crate::compare::EvalPoint> = results
            .runs
            .iter()
            .filter(|r| r.seed == seed)
            .filter_map(|r| r.evals.first())
            .collect();
        firsts.windows(2).all(|w| {
            w[0].pass_at_1 == w[1].pass_at_1
                && w[0].cons_at_k == w[1].cons_at_k
                && w[0].mean_length == w[1].mean_length
        })
    });
    let arm_summaries = arms
        .iter()
        .map(|&name| {
            let runs = by_arm(name);
            let reach_steps: Vec<f64> = runs
                .iter()
                .filter_map(|r| {
                    let pts: Vec<(f64, f64)> = r
                        .evals
                        .iter()
                        .map(|e| (e.step as f64, e.pass_at_1))
                        .collect();
                    first_reaching(&pts, threshold(r))
                })
                .collect();
            let reach_rollouts: Vec<f64> = runs
                .iter()
                .filter_map(|r| {
                    let pts: Vec<(f64, f64)> =
                        r.evals.iter().map(|e| (e.rollouts, e.pass_at_1)).collect();
                    first_reaching(&pts, threshold(r))
                })
                .collect();
            ArmSummary {
                arm: name.to_string(),
                seeds: runs.len(),
                initial_pass_at_1: spread_by(&runs, |r| {
                    r.evals.first().map_or(f64::NAN, |e| e.pass_at_1)
                }),
                final_pass_at_1: spread_by(&runs, last),
                final_pass_at_k: spread_by(&runs, |r| {
                    r.evals.last().map_or(f64::NAN, |e| e.pass_at_k)
                }),
                final_cons_at_k: spread_by(&runs, last_cons),
                mean_pass_at_1: spread_by(&runs, |r| {
                    let v: Vec<f64> = r.evals.iter().skip(1).map(|e| e.pass_at_1).collect();
                    Spread::of(&v).map_or(f64::NAN, |s| s.mean)
                }),
                delta_pass_at_1: paired(&runs, &last),
                delta_cons_at_k: paired(&runs, &last_cons),
                steps_to_target: Spread::of(&reach_steps),
                rollouts_to_target: Spread::of(&reach_rollouts),
                reached_target: reach_steps.len(),
                frac_reward_zero_std: spread_by(&runs, |r| metric_mean(r, "frac_reward_zero_std")),
                rollouts_per_step: spread_by(&runs, |r| metric_mean(r, "alloc/rollouts")),
                rollouts_per_prompt_max: spread_by(&runs, |r| {
                    metric_mean(r, "alloc/rollouts_per_prompt_max")
                }),
                rollouts_per_prompt_min: spread_by(&runs, |r| {
                    metric_mean(r, "alloc/rollouts_per_prompt_min")
                }),
                seeded_prompts: spread_by(&runs, |r| metric_sum(r, "seed/seeded_prompts")),
                flipped_prompts: spread_by(&runs, |r| metric_sum(r, "seed/flipped")),
                seed_attempts: spread_by(&runs, |r| metric_sum(r, "seed/attempts")),
                novelty_bonus_mean: spread_by(&runs, |r| {
                    metric_mean(r, "advantage/novelty_bonus_mean")
                }),
                novelty_bonus_frac: spread_by(&runs, |r| {
                    metric_mean(r, "advantage/novelty_bonus_frac")
                }),
                novelty_clip_frac: spread_by(&runs, |r| {
                    metric_mean(r, "advantage/novelty_clip_frac")
                }),
                train_reward: spread_by(&runs, |r| metric_mean(r, "reward")),
                step_seconds: spread_by(&runs, |r| metric_mean(r, "time/step")),
                generate_seconds: spread_by(&runs, |r| metric_mean(r, "time/generate")),
                allocate_seconds: spread_by(&runs, |r| metric_mean(r, "time/allocate")),
                update_seconds: spread_by(&runs, |r| metric_mean(r, "time/update")),
                other_seconds: spread_by(&runs, |r| {
                    let v: Vec<f64> = r.steps.iter().filter_map(other_seconds).collect();
                    Spread::of(&v).map_or(f64::NAN, |s| s.mean)
                }),
                level_gain: level_mean(&runs, &|r| {
                    let (first, last) = (r.evals.first()?, r.evals.last()?);
                    Some(
                        last.pass_at_1_by_level
                            .iter()
                            .filter_map(|(l, v)| Some((*l, v - first.pass_at_1_by_level.get(l)?)))
                            .collect(),
                    )
                }),
                level_start: level_mean(&runs, &|r| {
                    Some(r.evals.first()?.pass_at_1_by_level.clone())
                }),
                overhead_share: spread_by(&runs, |r| {
                    let (mut over, mut total) = (0.0, 0.0);
                    for m in &r.steps {
                        if let (Some(o), Some(a), Some(s)) =
                            (other_seconds(m), m.get("time/allocate"), m.get("time/step"))
                        {
                            over += o + a;
                            total += s;
                        }
                    }
                    if total > 0.0 { over / total } else { f64::NAN }
                }),
            }
        })
        .collect();
    Summary {
        target,
        target_from_config,
        reference,
        identical_start,
        arms: arm_summaries,
    }
}

/// The mean curve of `f(eval)` against `x(eval)` of one arm over its seeds.
pub(crate) fn arm_curve(
    results: &CompareResults,
    arm: &str,
    x: fn(&crate::compare::EvalPoint) -> f64,
    y: fn(&crate::compare::EvalPoint) -> f64,
) -> Vec<(f64, f64)> {
    let curves: Vec<Vec<(f64, f64)>> = results
        .runs
        .iter()
        .filter(|r| r.arm == arm)
        .map(|r| r.evals.iter().map(|e| (x(e), y(e))).collect())
        .collect();
    mean_curve(&curves)
}

/// The mean per-step curve of a training metric of one arm over its seeds.
pub(crate) fn arm_step_curve(results: &CompareResults, arm: &str, key: &str) -> Vec<(f64, f64)> {
    let curves: Vec<Vec<(f64, f64)>> = results
        .runs
        .iter()
        .filter(|r| r.arm == arm)
        .map(|r| {
            r.steps
                .iter()
                .enumerate()
                .map(|(i, m)| ((i + 1) as f64, m.get(key).copied().unwrap_or(f64::NAN)))
                .collect()
        })
        .collect();
    mean_curve(&curves)
}
