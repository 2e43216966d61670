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
        "{{\n\"config\": {},\n\"warmup\": {},\n\"machine\": {},\n\"command\": {},\n\"total_seconds\": {},\n\"runs\": [\n{}\n]\n}}\n",
        compact(&results.config),
        compact(&results.warmup),
        compact(&results.machine),
        compact(&results.command),
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
    use xrpo_train::trainer::Algorithm;

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

    fn run(arm: &str, seed: u64, curve: &[f64], zero_std: f64) -> RunResult {
        let evals = curve
            .iter()
            .enumerate()
            .map(|(i, &p)| point(i as u64 * 5, p, p / 2.0))
            .collect();
        let steps = (0..10)
            .map(|_| {
                BTreeMap::from([
                    ("frac_reward_zero_std".to_string(), zero_std),
                    ("alloc/rollouts".to_string(), 64.0),
                    ("seed/flipped".to_string(), 1.0),
                    ("seed/seeded_prompts".to_string(), 2.0),
                    ("time/step".to_string(), 1.0),
                    ("time/generate".to_string(), 0.2),
                    ("time/verify".to_string(), 0.0),
                    ("time/allocate".to_string(), 0.05),
                    ("time/update".to_string(), 0.7),
                ])
            })
            .collect();
        RunResult {
            arm: arm.into(),
            seed,
            evals,
            steps,
            train_seconds: 10.0,
            eval_seconds: 1.0,
        }
    }

    fn synthetic() -> CompareResults {
        let mut config = CompareConfig::quick();
        config.arms = vec![Arm::plain(Algorithm::Grpo), Arm::plain(Algorithm::Xrpo)];
        config.seeds = vec![0, 1];
        CompareResults {
            config,
            warmup: WarmupInfo {
                path: None,
                cached: false,
                steps: 0,
                final_nll: None,
                seconds: 0.0,
            },
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
                run("grpo", 1, &[0.1, 0.3, 0.4], 0.5),
                run("xrpo", 0, &[0.1, 0.4, 0.5], 0.3),
                run("xrpo", 1, &[0.1, 0.35, 0.6], 0.3),
            ],
            total_seconds: 1.0,
        }
    }

    #[test]
    fn summary_hand_values() {
        let s = summarize(&synthetic());
        // Every seed starts at 0.1; best mean final gain = xrpo ((0.5 − 0.1) + (0.6 − 0.1))/2
        // = 0.45; half of it 0.225, so each run must reach 0.1 + 0.225 = 0.325.
        assert!((s.target - 0.225).abs() < 1e-12);
        assert!(!s.target_from_config);
        assert!(s.identical_start);
        assert_eq!(s.reference, "grpo");
        let grpo = &s.arms[0];
        let xrpo = &s.arms[1];
        // grpo seed 0 never reaches 0.325 (max 0.3); seed 1 reaches it at step 10 (0.4).
        assert_eq!(grpo.reached_target, 1);
        assert_eq!(grpo.steps_to_target.unwrap().mean, 10.0);
        // xrpo reaches it at step 5 for both seeds; rollouts 5·64 = 320.
        assert_eq!(xrpo.reached_target, 2);
        assert_eq!(xrpo.steps_to_target.unwrap().mean, 5.0);
        assert_eq!(xrpo.rollouts_to_target.unwrap().mean, 320.0);
        // Paired deltas: seed 0: 0.5 − 0.3 = 0.2, seed 1: 0.6 − 0.4 = 0.2.
        let d = xrpo.delta_pass_at_1.unwrap();
        assert!((d.mean - 0.2).abs() < 1e-12 && d.std.abs() < 1e-12);
        // cons = p1 / 2 → deltas 0.1.
        assert!((xrpo.delta_cons_at_k.unwrap().mean - 0.1).abs() < 1e-12);
        // mean over evals after step 0: seed 0 (0.4+0.5)/2 = 0.45, seed 1 0.475 → 0.4625.
        assert!((xrpo.mean_pass_at_1.unwrap().mean - 0.4625).abs() < 1e-12);
        // Seeding totals: 10 steps × 2 seeded, × 1 flipped.
        assert_eq!(xrpo.seeded_prompts.unwrap().mean, 20.0);
        assert_eq!(xrpo.flipped_prompts.unwrap().mean, 10.0);
        // other = 1 − 0.2 − 0 − 0.05 − 0.7 = 0.05; share = (0.05 + 0.05)/1 = 10%.
        assert!((xrpo.other_seconds.unwrap().mean - 0.05).abs() < 1e-9);
        assert!((xrpo.overhead_share.unwrap().mean - 0.1).abs() < 1e-9);
        assert!((xrpo.frac_reward_zero_std.unwrap().mean - 0.3).abs() < 1e-12);
        // Level 0 tracks pass@1: gains (0.5 − 0.1, 0.6 − 0.1) → 0.45; level 3 stays at 0.
        assert!((xrpo.level_gain[&0] - 0.45).abs() < 1e-12);
        assert_eq!(xrpo.level_gain[&3], 0.0);
        assert!((xrpo.level_start[&0] - 0.1).abs() < 1e-12);
    }

    #[test]
    fn different_starts_are_flagged_and_configured_target_is_used() {
        let mut r = synthetic();
        r.runs[2].evals[0].pass_at_1 = 0.11;
        r.config.target = Some(0.45);
        let s = summarize(&r);
        assert!(!s.identical_start);
        assert_eq!(s.target, 0.45);
        assert!(s.target_from_config);
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
        assert!(md.contains("Highest final eval pass@1: **xrpo**"));
        assert!(md.contains("quick mode"));
        // results.json round-trips.
        let back: CompareResults =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(back.runs.len(), 4);
        assert_eq!(summarize(&back), s);
        // Identical per-seed deltas (std 0) give no t; flip GRPO to the winner instead and
        // the note must say XRPO did not win.
        let mut lose = synthetic();
        for run in lose.runs.iter_mut().filter(|r| r.arm == "xrpo") {
            for e in run.evals.iter_mut().skip(1) {
                e.pass_at_1 = 0.15;
            }
        }
        let note = closing_note(&summarize(&lose));
        assert!(note.contains("XRPO did not win here"), "{note}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
