//! Aggregation over seeds: per-arm [`ArmSummary`] figures, each paired by seed against
//! the reference arm (GRPO), and the whole [`Summary`] (what `summary.json` holds); the
//! mean curves the plots draw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xrpo_train::trainer::StepMetrics;

use crate::compare::{CompareResults, EvalPoint, RunResult};
use crate::curves::{first_reaching, mean_curve, normalized_area};
use crate::seed_stats::{
    BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Paired, RatioCi, Spread, bootstrap_ratio,
};

/// Per-arm figures aggregated over seeds. "Target" is, per seed, the reference arm's
/// final eval pass@1 on that seed.
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
    /// Area under the eval pass@1 curve (trapezoid over the eval steps) divided by the
    /// steps: the mean pass@1 over the run.
    pub auc_pass_at_1: Option<Spread>,
    /// Final pass@1 against the reference arm, paired by seed.
    pub vs_pass_at_1: Option<Paired>,
    /// Final cons@k against the reference arm, paired by seed.
    pub vs_cons_at_k: Option<Paired>,
    /// Area under the pass@1 curve against the reference arm, paired by seed.
    pub vs_auc_pass_at_1: Option<Paired>,
    /// Steps to the target: the first eval step whose pass@1 reaches the seed's target; a
    /// run that never does is censored at its last step (and counted in `censored`).
    pub steps_to_target: Option<Spread>,
    /// Rollouts spent up to and including that step (sum of the steps' `alloc/rollouts`).
    pub rollouts_to_target: Option<Spread>,
    /// Runs that never reached the target (counted at their last step).
    pub censored: usize,
    /// `Σ steps_to_target / Σ reference steps_to_target` over the paired seeds, with its
    /// 95 % paired bootstrap interval; `None` for the reference itself.
    pub steps_ratio: Option<RatioCi>,
    /// The same ratio for rollouts to target.
    pub rollouts_ratio: Option<RatioCi>,
    /// For a variant or ablation of XRPO (an arm named `xrpo_*`, when the comparison has
    /// an `xrpo` arm): the same figures paired by seed against full XRPO, so the report
    /// can say whether changing or removing one component helped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs_xrpo: Option<VsXrpo>,
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

/// The whole summary (what `summary.json` holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The reference arm everything is paired against (GRPO when present, else the first),
    /// and whose final pass@1 on each seed is that seed's target.
    pub reference: String,
    /// Whether, for every seed, every arm's step-0 evaluation was identical (same
    /// initial model and eval sampling), as loading the seed's one warm-up promises.
    pub identical_start: bool,
    /// Resamples of the bootstrap intervals.
    pub bootstrap_resamples: usize,
    /// The bootstrap's fixed RNG seed.
    pub bootstrap_seed: u64,
    /// Per arm, in config order.
    pub arms: Vec<ArmSummary>,
}

/// How a run reached (or failed to reach) its seed's target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reach {
    /// First eval step whose pass@1 ≥ target, or the last eval step when censored.
    pub step: u64,
    /// Rollouts spent in steps `1..=step` (sum of `alloc/rollouts`).
    pub rollouts: f64,
    /// Whether the run never reached the target (counted at its last step).
    pub censored: bool,
}

/// When `run` first reached pass@1 ≥ `target` at an evaluation, censored at its last
/// evaluation; `None` for a run without evaluations or a non-finite target.
pub fn reach(run: &RunResult, target: f64) -> Option<Reach> {
    let last = run.evals.last()?;
    if !target.is_finite() {
        return None;
    }
    let points: Vec<(f64, f64)> = run
        .evals
        .iter()
        .map(|e| (e.step as f64, e.pass_at_1))
        .collect();
    let (step, censored) = match first_reaching(&points, target) {
        // The x values are eval steps (u64 → f64 is exact below 2⁵³).
        Some(x) => (x as u64, false),
        None => (last.step, true),
    };
    let rollouts = run
        .steps
        .iter()
        .filter(|r| r.step <= step)
        .map(|r| r.metrics.alloc.rollouts)
        .sum::<f64>()
        // An empty sum is −0.0; shown as "-0" without this.
        + 0.0;
    Some(Reach {
        step,
        rollouts,
        censored,
    })
}

/// The normalised area under a run's eval pass@1 curve (see [`normalized_area`]).
pub fn auc_pass_at_1(run: &RunResult) -> f64 {
    let points: Vec<(f64, f64)> = run
        .evals
        .iter()
        .map(|e| (e.step as f64, e.pass_at_1))
        .collect();
    normalized_area(&points).unwrap_or(f64::NAN)
}

/// Mean over steps of the finite values of `f(metrics)`.
pub(crate) fn metric_mean(run: &RunResult, f: impl Fn(&StepMetrics) -> f64) -> f64 {
    let v: Vec<f64> = run
        .steps
        .iter()
        .map(|r| f(&r.metrics))
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Sum over steps of `f(metrics)` (NaN when a step lacks it or there is no step).
pub(crate) fn metric_sum(run: &RunResult, f: impl Fn(&StepMetrics) -> f64) -> f64 {
    if run.steps.is_empty() {
        return f64::NAN;
    }
    run.steps.iter().map(|r| f(&r.metrics)).sum()
}

/// One of the advantage shaper's own counters (`advantage/*`), NaN when absent.
pub(crate) fn advantage_metric(m: &StepMetrics, key: &str) -> f64 {
    m.other.get(key).copied().flatten().unwrap_or(f64::NAN)
}

/// step − generate − verify − allocate − update (s), NaN when a part is unknown.
pub(crate) fn other_seconds(m: &StepMetrics) -> f64 {
    let t = &m.time;
    let verify = if t.verify.is_finite() { t.verify } else { 0.0 };
    t.step - t.generate - verify - t.allocate - t.update
}

pub(crate) fn spread_by<F: Fn(&RunResult) -> f64>(runs: &[&RunResult], f: F) -> Option<Spread> {
    Spread::of(&runs.iter().map(|r| f(r)).collect::<Vec<_>>())
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

fn final_of(r: &RunResult, f: fn(&EvalPoint) -> f64) -> f64 {
    r.evals.last().map_or(f64::NAN, f)
}

/// A variant's figures paired by seed against the `xrpo` arm (arm − xrpo).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VsXrpo {
    /// Final pass@1, arm − xrpo.
    pub pass_at_1: Option<Paired>,
    /// Final cons@k, arm − xrpo.
    pub cons_at_k: Option<Paired>,
    /// Area under the pass@1 curve, arm − xrpo.
    pub auc_pass_at_1: Option<Paired>,
    /// Σ arm's steps / Σ xrpo's steps to the reference's final pass@1 (both counted
    /// against the same per-seed target, censored runs at their last step), with the
    /// paired bootstrap interval: below 1 means the variant got there sooner.
    pub steps_ratio: Option<RatioCi>,
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
    let reference = if arms.contains(&"grpo") {
        "grpo".to_string()
    } else {
        arms.first().map_or_else(String::new, |a| a.to_string())
    };
    let ref_runs = by_arm(&reference);
    let ref_of = |seed: u64| ref_runs.iter().find(|x| x.seed == seed).copied();
    // The seed's target: the reference arm's final pass@1 on it.
    let target_of = |seed: u64| ref_of(seed).map_or(f64::NAN, |r| final_of(r, |e| e.pass_at_1));
    // (arm value, reference value) per seed the reference also ran.
    let pairs = |runs: &[&RunResult], f: &dyn Fn(&RunResult) -> f64| -> Vec<(f64, f64)> {
        runs.iter()
            .filter_map(|r| ref_of(r.seed).map(|x| (f(r), f(x))))
            .collect()
    };
    let reach_of = |r: &RunResult| reach(r, target_of(r.seed));
    let xrpo_runs = if reference != "xrpo" && arms.contains(&"xrpo") {
        by_arm("xrpo")
    } else {
        Vec::new()
    };
    let xrpo_of = |seed: u64| xrpo_runs.iter().find(|x| x.seed == seed).copied();
    // A variant's (arm value, xrpo value) per seed both ran.
    let xrpo_pairs = |runs: &[&RunResult], f: &dyn Fn(&RunResult) -> f64| -> Vec<(f64, f64)> {
        runs.iter()
            .filter_map(|r| xrpo_of(r.seed).map(|x| (f(r), f(x))))
            .collect()
    };
    // Same start: every arm's step-0 eval equals the first arm's for the same seed.
    let identical_start = results.config.seeds.iter().all(|&seed| {
        let firsts: Vec<&EvalPoint> = results
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
            let is_ref = name == reference;
            let reaches: Vec<Reach> = runs.iter().filter_map(|r| reach_of(r)).collect();
            let ratio = |f: fn(&Reach) -> f64| -> Option<RatioCi> {
                if is_ref {
                    return None;
                }
                let p: Vec<(f64, f64)> = runs
                    .iter()
                    .filter_map(|r| Some((f(&reach_of(r)?), f(&reach_of(ref_of(r.seed)?)?))))
                    .collect();
                bootstrap_ratio(&p, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED)
            };
            let p1 = |r: &RunResult| final_of(r, |e| e.pass_at_1);
            let cons = |r: &RunResult| final_of(r, |e| e.cons_at_k);
            let vs_xrpo = (name.starts_with("xrpo_") && !xrpo_runs.is_empty()).then(|| {
                let steps: Vec<(f64, f64)> = runs
                    .iter()
                    .filter_map(|r| {
                        let x = xrpo_of(r.seed)?;
                        Some((reach_of(r)?.step as f64, reach_of(x)?.step as f64))
                    })
                    .collect();
                VsXrpo {
                    pass_at_1: Paired::of(&xrpo_pairs(&runs, &p1)),
                    cons_at_k: Paired::of(&xrpo_pairs(&runs, &cons)),
                    auc_pass_at_1: Paired::of(&xrpo_pairs(&runs, &auc_pass_at_1)),
                    steps_ratio: bootstrap_ratio(&steps, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED),
                }
            });
            ArmSummary {
                arm: name.to_string(),
                seeds: runs.len(),
                initial_pass_at_1: spread_by(&runs, |r| {
                    r.evals.first().map_or(f64::NAN, |e| e.pass_at_1)
                }),
                final_pass_at_1: spread_by(&runs, p1),
                final_pass_at_k: spread_by(&runs, |r| final_of(r, |e| e.pass_at_k)),
                final_cons_at_k: spread_by(&runs, cons),
                auc_pass_at_1: spread_by(&runs, auc_pass_at_1),
                vs_pass_at_1: Paired::of(&pairs(&runs, &p1)),
                vs_cons_at_k: Paired::of(&pairs(&runs, &cons)),
                vs_auc_pass_at_1: Paired::of(&pairs(&runs, &auc_pass_at_1)),
                steps_to_target: Spread::of(
                    &reaches.iter().map(|r| r.step as f64).collect::<Vec<_>>(),
                ),
                rollouts_to_target: Spread::of(
                    &reaches.iter().map(|r| r.rollouts).collect::<Vec<_>>(),
                ),
                censored: reaches.iter().filter(|r| r.censored).count(),
                steps_ratio: ratio(|r| r.step as f64),
                rollouts_ratio: ratio(|r| r.rollouts),
                vs_xrpo,
                frac_reward_zero_std: spread_by(&runs, |r| {
                    metric_mean(r, |m| m.frac_reward_zero_std)
                }),
                rollouts_per_step: spread_by(&runs, |r| metric_mean(r, |m| m.alloc.rollouts)),
                rollouts_per_prompt_max: spread_by(&runs, |r| {
                    metric_mean(r, |m| m.alloc.rollouts_per_prompt_max)
                }),
                rollouts_per_prompt_min: spread_by(&runs, |r| {
                    metric_mean(r, |m| m.alloc.rollouts_per_prompt_min)
                }),
                seeded_prompts: spread_by(&runs, |r| metric_sum(r, |m| m.seed.seeded_prompts)),
                flipped_prompts: spread_by(&runs, |r| metric_sum(r, |m| m.seed.flipped)),
                seed_attempts: spread_by(&runs, |r| metric_sum(r, |m| m.seed.attempts)),
                novelty_bonus_mean: spread_by(&runs, |r| {
                    metric_mean(r, |m| advantage_metric(m, "advantage/novelty_bonus_mean"))
                }),
                novelty_bonus_frac: spread_by(&runs, |r| {
                    metric_mean(r, |m| advantage_metric(m, "advantage/novelty_bonus_frac"))
                }),
                novelty_clip_frac: spread_by(&runs, |r| {
                    metric_mean(r, |m| advantage_metric(m, "advantage/novelty_clip_frac"))
                }),
                train_reward: spread_by(&runs, |r| metric_mean(r, |m| m.reward)),
                step_seconds: spread_by(&runs, |r| metric_mean(r, |m| m.time.step)),
                generate_seconds: spread_by(&runs, |r| metric_mean(r, |m| m.time.generate)),
                allocate_seconds: spread_by(&runs, |r| metric_mean(r, |m| m.time.allocate)),
                update_seconds: spread_by(&runs, |r| metric_mean(r, |m| m.time.update)),
                other_seconds: spread_by(&runs, |r| metric_mean(r, other_seconds)),
                overhead_share: spread_by(&runs, |r| {
                    let (mut over, mut total) = (0.0, 0.0);
                    for m in r.steps.iter().map(|s| &s.metrics) {
                        let o = other_seconds(m);
                        if o.is_finite() && m.time.allocate.is_finite() {
                            over += o + m.time.allocate;
                            total += m.time.step;
                        }
                    }
                    if total > 0.0 { over / total } else { f64::NAN }
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
            }
        })
        .collect();
    Summary {
        reference,
        identical_start,
        bootstrap_resamples: BOOTSTRAP_RESAMPLES,
        bootstrap_seed: BOOTSTRAP_SEED,
        arms: arm_summaries,
    }
}

/// The mean curve of `y(eval)` against `x(eval)` of one arm over its seeds.
pub(crate) fn arm_curve(
    results: &CompareResults,
    arm: &str,
    x: fn(&EvalPoint) -> f64,
    y: fn(&EvalPoint) -> f64,
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
pub(crate) fn arm_step_curve(
    results: &CompareResults,
    arm: &str,
    f: fn(&StepMetrics) -> f64,
) -> Vec<(f64, f64)> {
    let curves: Vec<Vec<(f64, f64)>> = results
        .runs
        .iter()
        .filter(|r| r.arm == arm)
        .map(|r| {
            r.steps
                .iter()
                .map(|s| (s.step as f64, f(&s.metrics)))
                .collect()
        })
        .collect();
    mean_curve(&curves)
}
