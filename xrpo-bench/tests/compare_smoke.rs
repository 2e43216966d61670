//! End-to-end smoke test of `compare` at a toy size (1 step, 2 prompts, 2 seeds, 2 arms):
//! per-seed warm-ups, resuming, and the CLI's error messages.

use std::process::Command;

use xrpo_bench::compare::{Arm, CompareConfig, RUN_RESULT_FILE, run_compare, run_dir_name};
use xrpo_bench::report::write_report;
use xrpo_train::trainer::Algorithm;

fn toy() -> CompareConfig {
    let mut c = CompareConfig::quick();
    c.arms = vec![Arm::plain(Algorithm::Grpo), Arm::plain(Algorithm::Xrpo)];
    c.seeds = vec![0, 1];
    c.base.steps = 1;
    c.base.prompts_per_step = 2;
    c.base.n_fixed = 4;
    c.base.warmup.steps = 2;
    c.base.warmup.batch = 4;
    c.base.eval.prompts = 4;
    c.base.eval.k = 2;
    c.eval_every = 1;
    c
}

#[test]
fn compare_runs_end_to_end_with_a_warmup_per_seed_and_resumes() {
    let out = std::env::temp_dir().join(format!("xrpo-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let cfg = toy();
    let mut lines = Vec::new();
    let results = run_compare(&cfg, &out, "xrpo-bench compare (test)", &mut |l| {
        lines.push(l.to_string())
    })
    .unwrap();
    // One warm-up per seed, trained now, each in its own file.
    assert_eq!(results.warmups.len(), 2);
    let paths: Vec<_> = results
        .warmups
        .iter()
        .map(|w| {
            assert!(!w.cached);
            let p = w.path.clone().unwrap();
            assert!(p.is_file());
            p
        })
        .collect();
    assert_ne!(paths[0], paths[1]);
    assert_eq!(results.runs.len(), 4);
    for r in &results.runs {
        // Step 0 and step 1 evaluations, one training step with the full budget B = 4·2.
        assert_eq!(r.evals.len(), 2);
        assert_eq!(r.steps.len(), 1);
        assert_eq!(r.steps[0].metrics.alloc.rollouts, 8.0);
        assert_eq!(r.evals[1].rollouts, 8.0);
        assert!(
            out.join("runs")
                .join(run_dir_name(&r.arm, r.seed))
                .join(RUN_RESULT_FILE)
                .is_file()
        );
    }
    let summary = write_report(&out, &results).unwrap();
    assert!(
        summary.identical_start,
        "every arm of a seed must start from that seed's warm-up"
    );
    for f in [
        "report.md",
        "results.json",
        "summary.json",
        "pass_at_1_vs_step.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // A killed comparison: drop one finished run; the re-run reuses the other three,
    // loads seed 1's cached warm-up for the missing run, and needs no warm-up for seed 0.
    std::fs::remove_file(
        out.join("runs")
            .join(run_dir_name("xrpo", 1))
            .join(RUN_RESULT_FILE),
    )
    .unwrap();
    let again = run_compare(&cfg, &out, "again", &mut |_| {}).unwrap();
    assert_eq!(again.resumed_runs, 3);
    assert!(again.warmups.iter().all(|w| w.cached && w.steps == 0));
    // Reused = read back from its result.json (JSON floats need not round-trip to the
    // last bit, so compare with the file, not with the in-memory result).
    let saved: xrpo_bench::compare::RunResult = serde_json::from_str(
        &std::fs::read_to_string(
            out.join("runs")
                .join(run_dir_name("grpo", 0))
                .join(RUN_RESULT_FILE),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(again.runs[0], saved, "a reused run is the saved one");
    assert_eq!(again.runs[0].key, results.runs[0].key);
    assert_eq!(
        again.runs[3].evals[0], results.runs[3].evals[0],
        "same warm-up, same seed: same initial evaluation"
    );
    // Changed settings: nothing is reused.
    let mut longer = cfg.clone();
    longer.base.steps = 2;
    let fresh = run_compare(&longer, &out, "longer", &mut |_| {}).unwrap();
    assert_eq!(fresh.resumed_runs, 0);
    assert_eq!(fresh.runs[0].steps.len(), 2);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn invalid_settings_name_the_field() {
    let mut c = toy();
    c.seeds.clear();
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("seeds"), "{e}");
    let mut c = toy();
    c.arms.push(Arm::plain(Algorithm::Grpo));
    assert!(c.validate().unwrap_err().to_string().contains("two arms"));
    let mut c = toy();
    c.arms[1].overrides = vec!["alloc.no_such_key=1".into()];
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("xrpo") && e.contains("alloc.no_such_key"), "{e}");
}

#[test]
fn cli_rejects_unknown_arm_and_bad_override() {
    let bin = env!("CARGO_BIN_EXE_xrpo-bench");
    let out = Command::new(bin)
        .args([
            "compare",
            "--arms",
            "grpo,nope",
            "--out",
            "/nonexistent-never-written",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown arm `nope`") && err.contains("xrpo_knapsack"),
        "{err}"
    );
    let out = Command::new(bin)
        .args([
            "compare",
            "--set",
            "optim.nope=1",
            "--out",
            "/nonexistent-never-written",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("optim.nope"), "{err}");
}
