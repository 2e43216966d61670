//! The report's prose drawn from the data: the verdict line, the speed sentence and the
//! closing note.

use std::fmt::Write as _;

use super::aggregate::{ArmSummary, Summary};
use crate::seed_stats::{Spread, display_opt};

/// Start pass@1 below which a level counts as hard in the closing note.
const HARD_LEVEL: f64 = 0.25;

pub(crate) fn verdict(summary: &Summary) -> (Option<&ArmSummary>, String) {
    let best = summary
        .arms
        .iter()
        .filter(|a| a.final_pass_at_1.is_some())
        .max_by(|a, b| {
            let m = |x: &ArmSummary| x.final_pass_at_1.map_or(f64::NEG_INFINITY, |s| s.mean);
            m(a).total_cmp(&m(b))
        });
    let Some(best) = best else {
        return (None, "no arm produced an evaluation".into());
    };
    let mut s = format!("Highest final eval pass@1: **{}**", best.arm);
    match best.vs_pass_at_1 {
        Some(p) if best.arm != summary.reference => {
            let noise = match p.t {
                Some(t) if t.abs() < 2.0 => format!(
                    "; paired over {} seeds that is t = {t:.2}, **within seed noise** (|t| < 2)",
                    p.diff.n
                ),
                Some(t) => format!("; paired over {} seeds t = {t:.2}", p.diff.n),
                None => String::new(),
            };
            let _ = write!(
                s,
                ", {:+.3} pass@1 over {} (per-seed differences {:+.3} ± {:.3}, range {:+.3} to {:+.3}, ahead on {} of {} seeds){noise}.",
                p.diff.mean,
                summary.reference,
                p.diff.mean,
                p.diff.std,
                p.diff.min,
                p.diff.max,
                p.ahead,
                p.diff.n
            );
        }
        _ => s.push('.'),
    }
    (Some(best), s)
}

/// The speed sentence of one arm: its steps and rollouts to the reference's final
/// pass@1 as a ratio of the reference's, with the bootstrap interval and the censoring.
pub(crate) fn speed_text(summary: &Summary, a: &ArmSummary) -> Option<String> {
    let (st, ro) = (a.steps_ratio?, a.rollouts_ratio?);
    let censored = if a.censored > 0 {
        format!(
            "; {} of {} runs never reached it and count at their last step, so the true ratio is larger",
            a.censored, a.seeds
        )
    } else {
        String::new()
    };
    Some(format!(
        "{} reached {}'s final pass@1 in {:.2}× its steps (95 % CI {:.2}–{:.2}) and {:.2}× its rollouts ({:.2}–{:.2}){censored}",
        a.arm, summary.reference, st.ratio, st.low, st.high, ro.ratio, ro.low, ro.high
    ))
}

/// The data-driven closing note: who won, by how much against the seed spread, and what
/// allocation, seeding and sharpening did.
pub fn closing_note(summary: &Summary) -> String {
    let mut s = String::new();
    let (best, line) = verdict(summary);
    let _ = writeln!(s, "{line}\n");
    let find = |n: &str| summary.arms.iter().find(|a| a.arm == n);
    let (Some(xrpo), Some(reference)) = (find("xrpo"), find(&summary.reference)) else {
        return s;
    };
    let xrpo_won = best.is_some_and(|b| b.arm == "xrpo");
    let significant = xrpo
        .vs_pass_at_1
        .and_then(|p| p.t)
        .is_some_and(|t| t >= 2.0);
    if xrpo_won && significant {
        let _ = writeln!(
            s,
            "XRPO won here, and the paired difference against {} exceeds two standard errors.",
            summary.reference
        );
    } else if xrpo_won {
        let _ = writeln!(
            s,
            "XRPO has the highest mean, but the margin is not larger than the seed-to-seed spread: this run does **not** show that XRPO beats {}.",
            summary.reference
        );
    } else {
        let paired = xrpo.vs_pass_at_1.map_or_else(String::new, |p| {
            let t = p.t.map_or_else(String::new, |t| {
                format!(", t = {t:.2} over {} seeds", p.diff.n)
            });
            format!(
                " (paired difference {:+.3} ± {:.3}{t})",
                p.diff.mean, p.diff.std
            )
        });
        let _ = writeln!(
            s,
            "**XRPO did not win here.** Its final pass@1 is {} against {}'s {}{paired}.",
            display_opt(xrpo.final_pass_at_1.as_ref(), 3),
            summary.reference,
            display_opt(reference.final_pass_at_1.as_ref(), 3)
        );
    }
    if let Some(line) = speed_text(summary, xrpo) {
        let _ = writeln!(s, "\n{line}.");
    }
    let _ = writeln!(s, "\nWhat the data says about why:\n");
    if let (Some(z), Some(zr)) = (xrpo.frac_reward_zero_std, reference.frac_reward_zero_std) {
        let _ = writeln!(
            s,
            "- Zero-variance groups: {:.1}% of XRPO's groups had identical rewards against {:.1}% for {} (such a group gives no gradient). {}",
            100.0 * z.mean,
            100.0 * zr.mean,
            summary.reference,
            if z.mean > 0.8 {
                "Most groups carried no signal: the task at this model size is mostly all-wrong (or all-right) prompts, which leaves allocation little to redistribute."
            } else if z.mean < zr.mean {
                "Allocation plus seeding turned some dead groups into learning signal."
            } else {
                "A higher share is partly by construction: XRPO stops spending on prompts whose n_base phase-1 rollouts agree, and a group of 2 is unanimous far more often than a group of n_fixed; the budget it saves goes to the uncertain prompts."
            }
        );
    }
    if let (Some(mx), Some(mn)) = (xrpo.rollouts_per_prompt_max, xrpo.rollouts_per_prompt_min) {
        let _ = writeln!(
            s,
            "- Allocation: XRPO gave between {:.1} and {:.1} rollouts to a prompt per step on average (GRPO: exactly n_fixed = every prompt the same).",
            mn.mean, mx.mean
        );
    }
    if let (Some(att), Some(seeded), Some(flip)) = (
        xrpo.seed_attempts,
        xrpo.seeded_prompts,
        xrpo.flipped_prompts,
    ) {
        let rate = if seeded.mean > 0.0 {
            format!("{:.1}%", 100.0 * flip.mean / seeded.mean)
        } else {
            "n/a".into()
        };
        let _ = writeln!(
            s,
            "- Seeding: {:.1} all-wrong groups per run looked up exemplars, {:.1} were seeded, {:.1} flipped to at least one correct answer (flip rate {rate}).",
            att.mean, seeded.mean, flip.mean
        );
    }
    // Levels that start hard are where all-wrong groups, and so seeding, are common: at
    // pass@1 p a group of n_fixed = 8 is all wrong with probability (1 − p)⁸, still 0.10 at
    // p = 0.25.
    let hard: Vec<u32> = xrpo
        .level_start
        .iter()
        .filter(|(_, v)| **v < HARD_LEVEL)
        .map(|(l, _)| *l)
        .collect();
    if !hard.is_empty() {
        let cells: Vec<String> = hard
            .iter()
            .map(|l| {
                format!(
                    "level {l}: XRPO {:+.3}, {} {:+.3}",
                    xrpo.level_gain.get(l).copied().unwrap_or(f64::NAN),
                    summary.reference,
                    reference.level_gain.get(l).copied().unwrap_or(f64::NAN)
                )
            })
            .collect();
        let _ = writeln!(
            s,
            "- Hard levels at the start (pass@1 < {HARD_LEVEL}), where all-wrong groups are common and seeding acts: {}. Flips happen with exemplars in the context; the evaluation is zero-shot, so a flip only counts if the policy keeps the skill without them.",
            cells.join("; ")
        );
    }
    if let (Some(b), Some(f)) = (xrpo.novelty_bonus_mean, xrpo.novelty_bonus_frac) {
        let _ = writeln!(
            s,
            "- Sharpening: {:.1}% of responses got a novelty bonus, of mean size {:.4} (advantages of correct answers are O(1), so this is {} change to the update).",
            100.0 * f.mean,
            b.mean,
            if b.mean * f.mean < 0.01 {
                "a negligible"
            } else {
                "a visible"
            }
        );
    }
    // The single-component ablations remove a component of the shipped XRPO; xrpo_paper
    // adds the paper's allocator back. Both read as "final pass@1 of the arm minus
    // XRPO's".
    let paired = |names: &[&str], helped: &str, hurt: &str| -> Vec<String> {
        names
            .iter()
            .filter_map(|n| find(n))
            .filter_map(|a| {
                let p = a.vs_xrpo?.pass_at_1?;
                let verdict = match p.t {
                    Some(t) if t <= -2.0 => helped,
                    Some(t) if t >= 2.0 => hurt,
                    _ => "not shown to help (within seed noise)",
                };
                let steps = a.vs_xrpo?.steps_ratio.map_or_else(String::new, |c| {
                    format!(", {:.2}× xrpo's steps to target", c.ratio)
                });
                Some(format!(
                    "{} {:+.3} ± {:.3} (t = {}{steps}): {verdict}",
                    a.arm,
                    p.diff.mean,
                    p.diff.std,
                    p.t.map_or_else(|| "–".into(), |t| format!("{t:.2}"))
                ))
            })
            .collect()
    };
    let abl = paired(
        &["xrpo_no_seed", "xrpo_no_sharpen"],
        "the component helped",
        "the component hurt",
    );
    if !abl.is_empty() {
        let _ = writeln!(
            s,
            "- Ablations, paired by seed against XRPO as shipped (final pass@1 of the ablation minus XRPO's; negative = removing the component cost accuracy): {}.",
            abl.join("; ")
        );
    }
    let paper = paired(
        &["xrpo_paper"],
        "the paper's allocator hurt",
        "the paper's allocator helped: the default should take it back",
    );
    if !paper.is_empty() {
        let _ = writeln!(
            s,
            "- The paper's priority allocator in place of the shipped even spread, paired by seed (its final pass@1 minus XRPO's; positive = the allocator helps): {}.",
            paper.join("; ")
        );
    }
    if let Some(o) = xrpo.overhead_share {
        let _ = writeln!(
            s,
            "- Overhead: allocation + seeding + advantage shaping took {:.2}% of XRPO's step time.",
            100.0 * o.mean
        );
    }
    if let (Some(xs), Some(gs)) = (xrpo.step_seconds, reference.step_seconds)
        && gs.mean > 0.0
    {
        let part =
            |x: Option<Spread>, g: Option<Spread>| x.zip(g).map_or(0.0, |(x, g)| x.mean - g.mean);
        let d_update = part(xrpo.update_seconds, reference.update_seconds);
        let d_gen = part(xrpo.generate_seconds, reference.generate_seconds);
        let _ = writeln!(
            s,
            "- Wall time: XRPO's step took {:.2}× {}'s ({:+.4} s in the update — seeded prompts carry exemplars, so its sequences are longer — and {:+.4} s in phased generation).",
            xs.mean / gs.mean,
            summary.reference,
            d_update,
            d_gen
        );
    }
    let gains: Vec<f64> = summary
        .arms
        .iter()
        .filter_map(|a| Some(a.final_pass_at_1?.mean - a.initial_pass_at_1?.mean))
        .collect();
    let noise = summary
        .arms
        .iter()
        .filter(|a| a.arm != summary.reference)
        .filter_map(|a| a.vs_pass_at_1.map(|p| p.diff.std))
        .fold(0.0, f64::max);
    if let (Some(lo), Some(hi)) = (
        gains.iter().copied().reduce(f64::min),
        gains.iter().copied().reduce(f64::max),
    ) {
        let _ = writeln!(
            s,
            "- Signal against noise: every arm gained between {lo:+.3} and {hi:+.3} pass@1 over its start, while the per-seed spread (std) of the paired differences reaches {noise:.3}; differences between arms smaller than that are not resolved by this run."
        );
    }
    if xrpo_won && significant {
        return s;
    }
    let _ = writeln!(
        s,
        "\nWhat would change it: more RL steps and seeds (`--mode full`, or `--steps`/`--seeds`) to resolve differences of the size above; a larger eval set (`--set task.<kind>.eval_per_level=…`, e.g. `task.arithmetic.eval_per_level` or `task.rewrite.eval_per_level`) to shrink per-seed eval noise; and a task where more prompts sit at partial success (allocation and seeding only act on uncertain and all-wrong prompts). The task is left as the trainer ships it: tuning it to favour one algorithm would defeat the comparison."
    );
    s
}
