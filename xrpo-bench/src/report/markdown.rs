//! The markdown report (`report.md`) and its SVG plots.

use std::fmt::Write as _;

use super::aggregate::{ArmSummary, Summary, VsXrpo, arm_curve, arm_step_curve};
use super::narrative::{closing_note, speed_text};
use crate::compare::CompareResults;
use crate::seed_stats::{Paired, RatioCi, Spread, display_opt};
use xrpo_train::plot::{Series, line_plot};
use xrpo_train::trainer::StepMetrics;

/// The SVG plots of a comparison: file name → SVG text.
pub fn plots(results: &CompareResults) -> Vec<(&'static str, String)> {
    let arms: Vec<&str> = results
        .config
        .arms
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    let k = results.config.base.eval.k;
    let series = |x: fn(&crate::compare::EvalPoint) -> f64,
                  y: fn(&crate::compare::EvalPoint) -> f64| {
        arms.iter()
            .map(|a| Series {
                label: a.to_string(),
                points: arm_curve(results, a, x, y),
            })
            .collect::<Vec<_>>()
    };
    let step = |e: &crate::compare::EvalPoint| e.step as f64;
    let rollouts = |e: &crate::compare::EvalPoint| e.rollouts;
    let p1 = |e: &crate::compare::EvalPoint| e.pass_at_1;
    let cons = |e: &crate::compare::EvalPoint| e.cons_at_k;
    let step_series = |f: fn(&StepMetrics) -> f64| {
        arms.iter()
            .map(|a| Series {
                label: a.to_string(),
                points: arm_step_curve(results, a, f),
            })
            .collect::<Vec<_>>()
    };
    vec![
        (
            "pass_at_1_vs_step.svg",
            line_plot(
                "eval pass@1 (mean over seeds)",
                "RL step",
                "pass@1",
                &series(step, p1),
            ),
        ),
        (
            "cons_at_k_vs_step.svg",
            line_plot(
                &format!("eval cons@{k} (mean over seeds)"),
                "RL step",
                &format!("cons@{k}"),
                &series(step, cons),
            ),
        ),
        (
            "pass_at_1_vs_rollouts.svg",
            line_plot(
                "eval pass@1 against rollouts spent",
                "rollouts",
                "pass@1",
                &series(rollouts, p1),
            ),
        ),
        (
            "cons_at_k_vs_rollouts.svg",
            line_plot(
                &format!("eval cons@{k} against rollouts spent"),
                "rollouts",
                &format!("cons@{k}"),
                &series(rollouts, cons),
            ),
        ),
        (
            "frac_reward_zero_std.svg",
            line_plot(
                "share of groups with zero reward std",
                "RL step",
                "frac_reward_zero_std",
                &step_series(|m| m.frac_reward_zero_std),
            ),
        ),
        (
            "train_reward.svg",
            line_plot(
                "training reward (mean over rollouts)",
                "RL step",
                "reward",
                &step_series(|m| m.reward),
            ),
        ),
    ]
}

/// The markdown report.
pub fn markdown(results: &CompareResults, summary: &Summary) -> String {
    let cfg = &results.config;
    let b = &cfg.base;
    let k = b.eval.k;
    let mut md = String::new();
    let title = match cfg.sweep {
        Some(s) => format!("# xrpo-bench sweep: {s:?}\n"),
        None => "# xrpo-bench compare: every arm against GRPO, paired by seed\n".to_string(),
    };
    let _ = writeln!(md, "{title}");
    let _ = writeln!(md, "Reproduce: `{}`\n", results.command);
    let m = &results.machine;
    let _ = writeln!(
        md,
        "- machine: {} ({} logical CPUs), 1-min load average {} at start, {} at end; wall {:.0} s",
        m.cpu,
        m.cores,
        m.load_start.map_or("?".into(), |l| format!("{l:.1}")),
        m.load_end.map_or("?".into(), |l| format!("{l:.1}")),
        results.total_seconds
    );
    let _ = writeln!(
        md,
        "- mode: {:?}; task: `{}`, model `{}`; {} seeds ({:?}); {} RL steps of |Q| = {} prompts, budget B = n_fixed·|Q| = {}·{} = {} rollouts per step for every arm",
        cfg.mode,
        serde_json::to_value(b.task.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{:?}", b.task.kind)),
        b.model,
        cfg.seeds.len(),
        cfg.seeds,
        b.steps,
        b.prompts_per_step,
        b.n_fixed,
        b.prompts_per_step,
        b.n_fixed * b.prompts_per_step
    );
    let _ = writeln!(
        md,
        "- evaluation: {} held-out prompts × k = {k} samples at T = {}, every {} steps; pass@1, pass@{k}, cons@{k} (majority vote)",
        if b.eval.prompts == 0 {
            "all".to_string()
        } else {
            b.eval.prompts.to_string()
        },
        b.eval.temperature,
        cfg.eval_every
    );
    let trained: Vec<&crate::compare::WarmupInfo> =
        results.warmups.iter().filter(|w| !w.cached).collect();
    let warm = if results.warmups.iter().all(|w| w.path.is_none()) {
        "no warm-up (random init of each seed, shared across arms)".to_string()
    } else {
        let shared = match cfg.warmup_seed {
            Some(s) => format!(
                "**one warm-up shared by every seed** (trained on seed {s}'s task: other seeds' eval prompts may be in its training pool)"
            ),
            None => "a warm-up per seed, trained on that seed's own task split and loaded by every arm of the seed".to_string(),
        };
        format!(
            "{shared}, {} supervised updates; {} of {} trained now ({:.0} s in all), the rest loaded from cache",
            b.warmup.steps,
            trained.len(),
            results.warmups.len(),
            // An empty f64 sum is −0.0, printed "-0" without the + 0.0.
            trained.iter().map(|w| w.seconds).sum::<f64>() + 0.0
        )
    };
    let _ = writeln!(
        md,
        "- same initial model per seed: {warm}; step-0 evaluations identical across arms for every seed: **{}**",
        if summary.identical_start { "yes" } else { "NO" }
    );
    if results.resumed_runs > 0 {
        let _ = writeln!(
            md,
            "- {} of {} runs were finished by an earlier invocation with the same settings and reused (the wall time above covers this invocation only)",
            results.resumed_runs,
            results.runs.len()
        );
    }
    let _ = writeln!(
        md,
        "- target for steps-to-target: on each seed, `{}`'s final pass@1 on that seed",
        summary.reference
    );
    let _ = writeln!(
        md,
        "- figures are mean ± sample std across seeds, (min–max) in brackets; Δ are paired by seed against `{}`",
        summary.reference
    );
    if cfg.mode == crate::compare::Mode::Quick {
        let _ = writeln!(
            md,
            "- **quick mode: few steps, few seeds, a small eval set — these numbers are noisy**; use `--mode full` for conclusions"
        );
    }

    let vs = |a: &ArmSummary, p: Option<Paired>| {
        if a.arm == summary.reference {
            "(reference)".to_string()
        } else {
            p.map_or_else(|| "–".into(), |p| p.display(3))
        }
    };
    let _ = writeln!(md, "\n## Final accuracy and area under the curve\n");
    let _ = writeln!(
        md,
        "| arm | pass@1 start | pass@1 final | vs {r} (Δ ± sd, paired t, seeds ahead) | pass@{k} final | cons@{k} final | vs {r} | AUC pass@1 | vs {r} |\n|---|---|---|---|---|---|---|---|---|",
        r = summary.reference
    );
    for a in &summary.arms {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            a.arm,
            display_opt(a.initial_pass_at_1.as_ref(), 3),
            display_opt(a.final_pass_at_1.as_ref(), 3),
            vs(a, a.vs_pass_at_1),
            display_opt(a.final_pass_at_k.as_ref(), 3),
            display_opt(a.final_cons_at_k.as_ref(), 3),
            vs(a, a.vs_cons_at_k),
            display_opt(a.auc_pass_at_1.as_ref(), 3),
            vs(a, a.vs_auc_pass_at_1),
        );
    }
    let _ = writeln!(
        md,
        "\nAUC pass@1 = area under the eval pass@1 curve (trapezoid over the eval steps) divided by the steps: the mean pass@1 over the run."
    );
    let _ = writeln!(
        md,
        "\n## Steps and rollouts to {r}'s final pass@1\n\nOn each seed the target is `{r}`'s final eval pass@1 on that seed; a run's step is the first evaluation (every {} steps) whose pass@1 reaches it, and its rollouts are those spent up to that step. Ratios are Σ arm / Σ {r} over the seeds, with a 95 % paired bootstrap interval ({} resamples of the seeds, fixed RNG seed {:#x}).\n",
        cfg.eval_every,
        summary.bootstrap_resamples,
        summary.bootstrap_seed,
        r = summary.reference
    );
    let ci = |c: Option<RatioCi>, a: &ArmSummary| match c {
        _ if a.arm == summary.reference => "(reference)".to_string(),
        Some(c) => format!("{:.2}× ({:.2}–{:.2})", c.ratio, c.low, c.high),
        None => "–".into(),
    };
    let _ = writeln!(
        md,
        "| arm | steps to target | ratio to {r} [95 % CI] | rollouts to target | ratio to {r} [95 % CI] | censored |\n|---|---|---|---|---|---|",
        r = summary.reference
    );
    for a in &summary.arms {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {}/{} |",
            a.arm,
            display_opt(a.steps_to_target.as_ref(), 1),
            ci(a.steps_ratio, a),
            display_opt(a.rollouts_to_target.as_ref(), 0),
            ci(a.rollouts_ratio, a),
            a.censored,
            a.seeds,
        );
    }
    let censored: usize = summary.arms.iter().map(|a| a.censored).sum();
    let _ = writeln!(
        md,
        "\nCensored runs never reached the target and are counted at their last step ({censored} in all). Counting them is more conservative than dropping them, but their true step count is larger than the one counted, so an arm with censored runs has its ratio understated (in its favour): a speed-up claim needs 0 censored runs. `{}` itself reaches its own final at the last evaluation at the latest, so it is never censored.",
        summary.reference
    );
    let speed: Vec<String> = summary
        .arms
        .iter()
        .filter_map(|a| speed_text(summary, a))
        .collect();
    if !speed.is_empty() {
        let _ = writeln!(md, "\n{}.", speed.join(".\n"));
    }
    let variants: Vec<(&ArmSummary, &VsXrpo)> = summary
        .arms
        .iter()
        .filter_map(|a| Some((a, a.vs_xrpo.as_ref()?)))
        .collect();
    if !variants.is_empty() {
        let _ = writeln!(
            md,
            "\n## Variants and ablations against xrpo\n\nEach `xrpo_*` arm paired by seed against full `xrpo` (arm − xrpo): a positive Δ or a steps ratio below 1 means the change helped. An ablation (`xrpo_no_*`) whose Δ is within seed noise (|t| < 2) is a component this task does not show to help. Steps are counted to `{}`'s final pass@1, as above.\n",
            summary.reference
        );
        let _ = writeln!(
            md,
            "| arm | Δ pass@1 vs xrpo | Δ cons@{k} vs xrpo | Δ AUC pass@1 vs xrpo | steps to target, ratio to xrpo [95 % CI] |\n|---|---|---|---|---|"
        );
        let paired = |p: Option<Paired>| p.map_or_else(|| "–".into(), |p| p.display(3));
        for (a, v) in variants {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                a.arm,
                paired(v.pass_at_1),
                paired(v.cons_at_k),
                paired(v.auc_pass_at_1),
                v.steps_ratio.map_or_else(
                    || "–".into(),
                    |c| format!("{:.2}× ({:.2}–{:.2})", c.ratio, c.low, c.high)
                ),
            );
        }
    }
    let levels: Vec<u32> = summary
        .arms
        .iter()
        .flat_map(|a| a.level_gain.keys().copied())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !levels.is_empty() {
        let _ = writeln!(
            md,
            "\n## pass@1 gain by difficulty level (final − start, mean over seeds)\n"
        );
        let head: Vec<String> = levels.iter().map(|l| format!("level {l}")).collect();
        let _ = writeln!(
            md,
            "| arm | {} |\n|---|{}",
            head.join(" | "),
            "---|".repeat(levels.len())
        );
        if let Some(a) = summary.arms.first() {
            let cells: Vec<String> = levels
                .iter()
                .map(|l| {
                    a.level_start
                        .get(l)
                        .map_or("–".into(), |v| format!("{v:.3}"))
                })
                .collect();
            let _ = writeln!(md, "| *start* | {} |", cells.join(" | "));
        }
        for a in &summary.arms {
            let cells: Vec<String> = levels
                .iter()
                .map(|l| {
                    a.level_gain
                        .get(l)
                        .map_or("–".into(), |v| format!("{v:+.3}"))
                })
                .collect();
            let _ = writeln!(md, "| {} | {} |", a.arm, cells.join(" | "));
        }
    }
    let _ = writeln!(md, "\n## What each component did\n");
    let _ = writeln!(
        md,
        "| arm | train reward | frac_reward_zero_std | rollouts/step | max / min rollouts per prompt | seed attempts | prompts seeded | seeded → solved (flipped) | novelty bonus (mean) | share bonused | share clipped |\n|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for a in &summary.arms {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} |",
            a.arm,
            display_opt(a.train_reward.as_ref(), 3),
            display_opt(a.frac_reward_zero_std.as_ref(), 3),
            a.rollouts_per_step
                .map_or("–".into(), |s| format!("{:.0}", s.mean)),
            a.rollouts_per_prompt_max
                .map_or("–".into(), |s| format!("{:.1}", s.mean)),
            a.rollouts_per_prompt_min
                .map_or("–".into(), |s| format!("{:.1}", s.mean)),
            a.seed_attempts
                .map_or("–".into(), |s| format!("{:.1}", s.mean)),
            a.seeded_prompts
                .map_or("–".into(), |s| format!("{:.1}", s.mean)),
            a.flipped_prompts
                .map_or("–".into(), |s| format!("{:.1}", s.mean)),
            a.novelty_bonus_mean
                .map_or("–".into(), |s| format!("{:.4}", s.mean)),
            a.novelty_bonus_frac
                .map_or("–".into(), |s| format!("{:.3}", s.mean)),
            a.novelty_clip_frac
                .map_or("–".into(), |s| format!("{:.3}", s.mean)),
        );
    }
    let _ = writeln!(
        md,
        "\nSeeding counts are totals per run over all steps (mean across seeds). A prompt is *flipped* when it was all-wrong, got seeded with solved exemplars, and a later-phase rollout solved it."
    );
    let _ = writeln!(md, "\n## Step time and XRPO's overhead\n");
    let _ = writeln!(
        md,
        "| arm | step (s) | generate (s) | allocate + seed (s) | update (s) | other incl. advantage shaping (s) | (allocate + other) / step |\n|---|---|---|---|---|---|---|"
    );
    for a in &summary.arms {
        let f = |s: &Option<Spread>| s.map_or("–".into(), |s| format!("{:.4}", s.mean));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            a.arm,
            f(&a.step_seconds),
            f(&a.generate_seconds),
            f(&a.allocate_seconds),
            f(&a.update_seconds),
            f(&a.other_seconds),
            a.overhead_share
                .map_or("–".into(), |s| format!("{:.2}%", 100.0 * s.mean)),
        );
    }
    let _ = writeln!(
        md,
        "\n`other` = step − generate − verify − allocate − update: advantage shaping (novelty sharpening included), prompt encoding and metrics, so the share is an upper bound on allocation + seeding + sharpening. XRPO also samples in {} phases instead of one batch; that cost shows in `generate`, not in the share.",
        b.alloc.config.phases
    );

    let _ = writeln!(md, "\n## Plots\n");
    for (file, _) in plots(results) {
        let _ = writeln!(md, "![{file}]({file})");
    }

    let _ = writeln!(md, "\n## Closing note\n");
    let _ = writeln!(md, "{}", closing_note(summary));
    md
}
