//! The comparison report: aggregation over seeds ([`aggregate`]), the markdown report
//! and its plots ([`markdown`]), the prose drawn from the data ([`narrative`]), and
//! [`write_report`], which writes `report.md`, `results.json`, `summary.json` and the
//! SVG plots.

use std::path::Path;

use crate::BenchError;
use crate::compare::CompareResults;

pub mod aggregate;
pub mod markdown;
pub mod narrative;

pub use aggregate::{ArmSummary, Summary, summarize};
pub use markdown::{markdown, plots};
pub use narrative::closing_note;

fn write(path: &Path, text: &str) -> Result<(), BenchError> {
    std::fs::write(path, text).map_err(|source| BenchError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `results.json`, `summary.json`, the SVG plots and `report.md` into `dir`.
pub fn write_report(dir: &Path, results: &CompareResults) -> Result<Summary, BenchError> {
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let summary = summarize(results);
    // results.json holds every step's metrics of every run: compact, one run per line.
    write(&dir.join("results.json"), &results_json(results))?;
    write(&dir.join("summary.json"), &erased::Json::to_json(&summary))?;
    for (file, svg) in plots(results) {
        write(&dir.join(file), &svg)?;
    }
    write(&dir.join("report.md"), &markdown(results, &summary))?;
    Ok(summary)
}

/// `results.json`: the object with each run on its own line (compact, still diffable).
fn results_json(results: &CompareResults) -> String {
    let compact = |v: &dyn erased::Json| v.to_compact();
    let runs: Vec<String> = results.runs.iter().map(|r| compact(r)).collect();
    format!(
        "{{\n\"config\": {},\n\"warmups\": {},\n\"machine\": {},\n\"command\": {},\n\"resumed_runs\": {},\n\"total_seconds\": {},\n\"runs\": [\n{}\n]\n}}\n",
        compact(&results.config),
        compact(&results.warmups),
        compact(&results.machine),
        compact(&results.command),
        compact(&results.resumed_runs),
        compact(&results.total_seconds),
        runs.join(",\n")
    )
}

mod erased {
    /// Pretty JSON of any serialisable value (serialisation of these plain structs
    /// cannot fail: string keys, finite or null floats).
    pub trait Json {
        fn to_json(&self) -> String;
        fn to_compact(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn to_json(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        }
        fn to_compact(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::compare::{Arm, CompareConfig, EvalPoint, MachineInfo, RunResult, WarmupInfo};
    use xrpo_train::trainer::{Algorithm, StepMetrics, StepRecord};

    fn point(step: u64, p1: f64, cons: f64) -> EvalPoint {
        EvalPoint {
            step,
            rollouts: step as f64 * 64.0,
            pass_at_1: p1,
            pass_at_k: p1,
            cons_at_k: cons,
            mean_length: 2.0,
            pass_at_1_by_level: BTreeMap::from([(0, p1), (3, 0.0)]),
        }
    }

    /// A run evaluated at steps 0, 5, 10 with pass@1 `curve` (cons@k = pass@1 / 2) and
    /// ten steps of 64 rollouts each.
    fn run(arm: &str, seed: u64, curve: &[f64], zero_std: f64) -> RunResult {
        let evals = curve
            .iter()
            .enumerate()
            .map(|(i, &p)| point(i as u64 * 5, p, p / 2.0))
            .collect();
        let steps = (1..=10)
            .map(|step| {
                let mut m = StepMetrics {
                    frac_reward_zero_std: zero_std,
                    ..StepMetrics::default()
                };
                m.alloc.rollouts = 64.0;
                m.seed.flipped = 1.0;
                m.seed.seeded_prompts = 2.0;
                m.time.step = 1.0;
                m.time.generate = 0.2;
                m.time.verify = 0.0;
                m.time.allocate = 0.05;
                m.time.update = 0.7;
                StepRecord { step, metrics: m }
            })
            .collect();
        RunResult {
            arm: arm.into(),
            seed,
            key: 0,
            evals,
            steps,
            train_seconds: 10.0,
            eval_seconds: 1.0,
        }
    }

    fn synthetic() -> CompareResults {
        let mut config = CompareConfig::quick();
        config.arms = vec![
            Arm::plain(Algorithm::Grpo),
            Arm::plain(Algorithm::Xrpo),
            Arm::plain(Algorithm::Gspo),
        ];
        config.seeds = vec![0, 1];
        CompareResults {
            config,
            warmups: vec![WarmupInfo::none(0), WarmupInfo::none(1)],
            machine: MachineInfo {
                cpu: "test".into(),
                cores: 2,
                load_start: Some(1.0),
                load_end: Some(1.0),
                started_unix: 0,
            },
            command: "xrpo-bench compare --test".into(),
            runs: vec![
                run("grpo", 0, &[0.1, 0.2, 0.3], 0.5),
                run("xrpo", 0, &[0.1, 0.4, 0.5], 0.3),
                run("gspo", 0, &[0.1, 0.2, 0.25], 0.5),
                run("grpo", 1, &[0.1, 0.3, 0.4], 0.5),
                run("xrpo", 1, &[0.1, 0.35, 0.7], 0.3),
                run("gspo", 1, &[0.1, 0.2, 0.25], 0.5),
            ],
            resumed_runs: 0,
            total_seconds: 1.0,
        }
    }

    /// Every figure below is computed by hand from the curves in [`synthetic`].
    #[test]
    fn summary_hand_values() {
        let s = summarize(&synthetic());
        assert!(s.identical_start);
        assert_eq!(s.reference, "grpo");
        let (grpo, xrpo, gspo) = (&s.arms[0], &s.arms[1], &s.arms[2]);
        // Targets: GRPO's finals, 0.3 on seed 0 and 0.4 on seed 1. GRPO reaches its own
        // final at its last evaluation, step 10, on both seeds: 640 rollouts each.
        let g = grpo.steps_to_target.unwrap();
        assert_eq!((g.mean, g.n), (10.0, 2));
        assert_eq!(grpo.rollouts_to_target.unwrap().mean, 640.0);
        assert_eq!(grpo.censored, 0);
        assert!(grpo.steps_ratio.is_none() && grpo.rollouts_ratio.is_none());
        // XRPO: seed 0 reaches 0.3 at step 5 (0.4); seed 1 misses 0.4 at step 5 (0.35) and
        // reaches it at step 10 (0.7). Steps 5, 10: mean 7.5; rollouts 320, 640.
        let x = xrpo.steps_to_target.unwrap();
        assert_eq!((x.mean, x.min, x.max), (7.5, 5.0, 10.0));
        assert_eq!(xrpo.rollouts_to_target.unwrap().mean, 480.0);
        assert_eq!(xrpo.censored, 0);
        // Ratio (5 + 10) / (10 + 10) = 0.75. Bootstrap over 2 seeds: {0,0} → 5/10 = 0.5,
        // {1,1} → 10/10 = 1, mixed → 0.75: the interval is 0.5–1.
        let r = xrpo.steps_ratio.unwrap();
        assert_eq!((r.ratio, r.low, r.high), (0.75, 0.5, 1.0));
        let r = xrpo.rollouts_ratio.unwrap();
        assert_eq!((r.ratio, r.low, r.high), (0.75, 0.5, 1.0));
        // GSPO never reaches 0.3 or 0.4 (max 0.25): both runs censored at step 10.
        assert_eq!(gspo.censored, 2);
        assert_eq!(gspo.steps_to_target.unwrap().mean, 10.0);
        assert_eq!(gspo.steps_ratio.unwrap().ratio, 1.0);
        // Final pass@1, paired: 0.5 − 0.3 = 0.2 and 0.7 − 0.4 = 0.3: mean 0.25, std
        // √((0.05² + 0.05²)/1) = 0.0707107, t = 0.25 / (0.0707107/√2) = 5, ahead on 2/2.
        let p = xrpo.vs_pass_at_1.unwrap();
        assert!((p.diff.mean - 0.25).abs() < 1e-12);
        assert!((p.diff.std - 0.005f64.sqrt()).abs() < 1e-12);
        assert!((p.t.unwrap() - 5.0).abs() < 1e-9);
        assert_eq!(p.ahead, 2);
        // cons = p1 / 2 → differences 0.1 and 0.15: mean 0.125.
        assert!((xrpo.vs_cons_at_k.unwrap().diff.mean - 0.125).abs() < 1e-12);
        // AUC (trapezoids over steps 0, 5, 10, divided by 10):
        // XRPO seed 0: (5·(0.1+0.4)/2 + 5·(0.4+0.5)/2)/10 = (1.25 + 2.25)/10 = 0.35;
        // XRPO seed 1: (5·0.45/2 + 5·1.05/2)/10 = (1.125 + 2.625)/10 = 0.375;
        // GRPO seed 0: (5·0.3/2 + 5·0.5/2)/10 = 0.2; seed 1: (5·0.4/2 + 5·0.7/2)/10 = 0.275.
        let a = xrpo.auc_pass_at_1.unwrap();
        assert!((a.mean - 0.3625).abs() < 1e-12);
        let d = xrpo.vs_auc_pass_at_1.unwrap().diff;
        assert!((d.min - 0.1).abs() < 1e-12 && (d.max - 0.15).abs() < 1e-12);
        // Seeding totals: 10 steps × 2 seeded, × 1 flipped.
        assert_eq!(xrpo.seeded_prompts.unwrap().mean, 20.0);
        assert_eq!(xrpo.flipped_prompts.unwrap().mean, 10.0);
        // other = 1 − 0.2 − 0 − 0.05 − 0.7 = 0.05; share = (0.05 + 0.05)/1 = 10%.
        assert!((xrpo.other_seconds.unwrap().mean - 0.05).abs() < 1e-9);
        assert!((xrpo.overhead_share.unwrap().mean - 0.1).abs() < 1e-9);
        assert!((xrpo.frac_reward_zero_std.unwrap().mean - 0.3).abs() < 1e-12);
        assert_eq!(xrpo.rollouts_per_step.unwrap().mean, 64.0);
        // Level 0 tracks pass@1: gains (0.5 − 0.1, 0.7 − 0.1) → 0.5; level 3 stays at 0.
        assert!((xrpo.level_gain[&0] - 0.5).abs() < 1e-12);
        assert_eq!(xrpo.level_gain[&3], 0.0);
        assert!((xrpo.level_start[&0] - 0.1).abs() < 1e-12);
    }

    /// An ablation is paired against full XRPO, not only against GRPO; values by hand.
    #[test]
    fn ablations_are_paired_against_xrpo() {
        let mut r = synthetic();
        r.config.arms.push(Arm::plain(Algorithm::XrpoNoSeed));
        r.runs.push(run("xrpo_no_seed", 0, &[0.1, 0.2, 0.3], 0.5));
        r.runs.push(run("xrpo_no_seed", 1, &[0.1, 0.3, 0.6], 0.5));
        let s = summarize(&r);
        // Only `xrpo_*` arms get the pairing.
        assert!(s.arms[..3].iter().all(|a| a.vs_xrpo.is_none()));
        let v = s.arms[3].vs_xrpo.unwrap();
        // Final pass@1 against XRPO's 0.5 and 0.7: −0.2 and −0.1, mean −0.15, std
        // √(2·0.05²) = 0.0707107, t = −0.15 / (0.0707107/√2) = −3, ahead on 0 of 2.
        let p = v.pass_at_1.unwrap();
        assert!((p.diff.mean + 0.15).abs() < 1e-12);
        assert!((p.t.unwrap() + 3.0).abs() < 1e-9);
        assert_eq!(p.ahead, 0);
        // Steps to GRPO's finals (0.3, 0.4): the ablation at 10 and 10, XRPO at 5 and 10:
        // ratio 20/15; the bootstrap's extremes are seed 0 twice (10/5 = 2) and seed 1
        // twice (10/10 = 1).
        let c = v.steps_ratio.unwrap();
        assert!((c.ratio - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!((c.low, c.high), (1.0, 2.0));
        let md = markdown(&r, &s);
        assert!(
            md.contains("## Variants and ablations against xrpo"),
            "{md}"
        );
        assert!(
            md.contains("| xrpo_no_seed | -0.150 ± 0.071, t = -3.00, ahead 0/2 |"),
            "{md}"
        );
        let note = closing_note(&s);
        assert!(
            note.contains("xrpo_no_seed -0.150 ± 0.071 (t = -3.00, 1.33× xrpo's steps to target): the component helped"),
            "{note}"
        );
    }

    /// A significant win does not end with advice on how to change the result, and the
    /// hard levels include one that starts above zero (level 0 starts at 0.1 here).
    #[test]
    fn closing_note_fits_the_verdict() {
        let note = closing_note(&summarize(&synthetic()));
        assert!(note.contains("XRPO won here"), "{note}");
        assert!(!note.contains("What would change it"), "{note}");
        assert!(note.contains("level 0: XRPO +0.500"), "{note}");
        let mut lose = synthetic();
        for run in lose.runs.iter_mut().filter(|r| r.arm == "xrpo") {
            for e in run.evals.iter_mut().skip(1) {
                e.pass_at_1 = 0.15;
            }
        }
        assert!(closing_note(&summarize(&lose)).contains("What would change it"));
    }

    #[test]
    fn different_starts_are_flagged() {
        let mut r = synthetic();
        r.runs[1].evals[0].pass_at_1 = 0.11;
        assert!(!summarize(&r).identical_start);
    }

    #[test]
    fn report_files_are_written_and_note_is_honest() {
        let dir = std::env::temp_dir().join(format!("xrpo-bench-report-{}", std::process::id()));
        let r = synthetic();
        let s = write_report(&dir, &r).unwrap();
        for f in [
            "report.md",
            "results.json",
            "summary.json",
            "pass_at_1_vs_step.svg",
            "pass_at_1_vs_rollouts.svg",
            "cons_at_k_vs_step.svg",
            "frac_reward_zero_std.svg",
        ] {
            assert!(dir.join(f).is_file(), "{f} missing");
        }
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(md.contains("Highest final eval pass@1: **xrpo**"), "{md}");
        assert!(md.contains("quick mode"));
        assert!(
            md.contains("| xrpo | 7.5 ± 3.5 (5.0–10.0) | 0.75× (0.50–1.00) |"),
            "{md}"
        );
        assert!(md.contains("| 2/2 |"), "GSPO's two censored runs: {md}");
        assert!(md.contains("+0.250 ± 0.071, t = 5.00, ahead 2/2"), "{md}");
        // results.json round-trips.
        let back: CompareResults =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(back.runs.len(), 6);
        assert_eq!(summarize(&back), s);
        // Flip GRPO to the winner and the note must say XRPO did not win.
        let mut lose = synthetic();
        for run in lose.runs.iter_mut().filter(|r| r.arm == "xrpo") {
            for e in run.evals.iter_mut().skip(1) {
                e.pass_at_1 = 0.15;
            }
        }
        let note = closing_note(&summarize(&lose));
        assert!(note.contains("XRPO did not win here"), "{note}");
        // Every warm-up loaded from cache (a resumed comparison): no "-0 s".
        let mut cached = synthetic();
        for w in &mut cached.warmups {
            w.path = Some(dir.join("warmup.safetensors"));
            w.cached = true;
        }
        write_report(&dir, &cached).unwrap();
        let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(md.contains("0 of 2 trained now (0 s in all)"), "{md}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
