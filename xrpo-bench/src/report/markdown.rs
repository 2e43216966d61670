//! The markdown report (`report.md`) and its SVG plots.

use std::fmt::Write as _;

use super::aggregate::{ArmSummary, Summary, arm_curve, arm_step_curve};
use super::narrative::{closing_note, target_text};
use crate::compare::CompareResults;
use crate::seed_stats::{Spread, display_opt};
use xrpo_train::plot::{Series, line_plot};

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
    let step_series = |key: &str| {
        arms.iter()
            .map(|a| Series {
                label: a.to_string(),
                points: arm_step_curve(results, a, key),
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
                &step_series("frac_reward_zero_std"),
            ),
        ),
        (
            "train_reward.svg",
            line_plot(
                "training reward (mean over rollouts)",
                "RL step",
                "reward",
                &step_series("reward"),
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
        None => "# xrpo-bench compare: GRPO vs GSPO vs XRPO (and ablations)\n".to_string(),
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
        "- mode: {:?}; task: built-in arithmetic ladder, model `{}`; {} seeds ({:?}); {} RL steps of |Q| = {} prompts, budget B = n_fixed·|Q| = {}·{} = {} rollouts per step for every arm",
        cfg.mode,
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
    let w = &results.warmup;
    let _ = writeln!(
        md,
        "- same initial model: {}; step-0 evaluations identical across arms for every seed: **{}**",
        match &w.path {
            Some(p) => format!(
                "one shared supervised warm-up of {} updates (seed {}, {}), `{}`",
                b.warmup.steps,
                cfg.warmup_seed,
                if w.cached {
                    "loaded from cache".to_string()
                } else {
                    format!(
                        "trained now in {:.0} s, final NLL {}",
                        w.seconds,
                        w.final_nll.map_or("?".into(), |n| format!("{n:.3}"))
                    )
                },
                p.file_name().map_or_else(
                    || p.display().to_string(),
                    |f| f.to_string_lossy().into_owned()
                )
            ),
            None => "no warm-up (random init of each seed, shared across arms)".into(),
        },
        if summary.identical_start { "yes" } else { "NO" }
    );
    let _ = writeln!(md, "- target for steps-to-target: {}", target_text(summary));
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

    let delta = |a: &ArmSummary, d: Option<&Spread>| {
        if a.arm == summary.reference {
            "(reference)".to_string()
        } else {
            d.map_or_else(
                || "–".into(),
                |d| {
                    format!(
                        "{:+.3} ± {:.3} ({:+.3}–{:+.3})",
                        d.mean, d.std, d.min, d.max
                    )
                },
            )
        }
    };
    let _ = writeln!(md, "\n## Final accuracy\n");
    let _ = writeln!(
        md,
        "| arm | pass@1 start | pass@1 final | Δ pass@1 | pass@{k} final | cons@{k} final | Δ cons@{k} | mean pass@1 over run |\n|---|---|---|---|---|---|---|---|"
    );
    for a in &summary.arms {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            a.arm,
            display_opt(a.initial_pass_at_1.as_ref(), 3),
            display_opt(a.final_pass_at_1.as_ref(), 3),
            delta(a, a.delta_pass_at_1.as_ref()),
            display_opt(a.final_pass_at_k.as_ref(), 3),
            display_opt(a.final_cons_at_k.as_ref(), 3),
            delta(a, a.delta_cons_at_k.as_ref()),
            display_opt(a.mean_pass_at_1.as_ref(), 3),
        );
    }
    let _ = writeln!(
        md,
        "\n## Speed to target\n\nTarget: {}.\n",
        target_text(summary)
    );
    let _ = writeln!(
        md,
        "| arm | seeds reaching | steps to target | rollouts to target |\n|---|---|---|---|"
    );
    for a in &summary.arms {
        let _ = writeln!(
            md,
            "| {} | {}/{} | {} | {} |",
            a.arm,
            a.reached_target,
            a.seeds,
            display_opt(a.steps_to_target.as_ref(), 1),
            display_opt(a.rollouts_to_target.as_ref(), 0),
        );
    }
    let _ = writeln!(
        md,
        "\nSteps are counted at evaluation points (every {} steps), so they are rounded up to that grid.",
        cfg.eval_every
    );
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
        b.alloc.phases
    );

    let _ = writeln!(md, "\n## Plots\n");
    for (file, _) in plots(results) {
        let _ = writeln!(md, "![{file}]({file})");
    }

    let _ = writeln!(md, "\n## Closing note\n");
    let _ = writeln!(md, "{}", closing_note(summary));
    md
}
