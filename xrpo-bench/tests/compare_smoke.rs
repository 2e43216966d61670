//! End-to-end smoke test of `compare` at a toy size (1 step, 2 prompts, 1 seed, 2 arms),
//! and the CLI's error messages.

use std::process::Command;

use xrpo_bench::compare::{Arm, CompareConfig, run_compare};
use xrpo_bench::report::write_report;
use xrpo_train::trainer::Algorithm;

fn toy() -> CompareConfig {
    let mut c = CompareConfig::quick();
    c.arms = vec![Arm::plain(Algorithm::Grpo), Arm::plain(Algorithm::Xrpo)];
    c.seeds = vec![0];
    c.base.steps = 1;
    c.base.prompts_per_step = 2;
    c.base.n_fixed = 4;
    c.base.alloc.n_fixed = 4;
    c.base.warmup.steps = 2;
    c.base.warmup.batch = 4;
    c.base.eval.prompts = 4;
    c.base.eval.k = 2;
    c.eval_every = 1;
    c
}

#[test]
fn compare_runs_end_to_end_from_one_shared_warmup() {
    let out = std::env::temp_dir().join(format!("xrpo-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let cfg = toy();
    let mut lines = Vec::new();
    let results = run_compare(&cfg, &out, "xrpo-bench compare (test)", &mut |l| {
        lines.push(l.to_string())
    })
    .unwrap();
    // The warm-up was trained once and written where every run loads it from.
    assert!(!results.warmup.cached);
    let path = results.warmup.path.clone().unwrap();
    assert!(path.is_file());
    assert_eq!(results.runs.len(), 2);
    for r in &results.runs {
        // Step 0 and step 1 evaluations, one training step with the full budget B = 4·2.
        assert_eq!(r.evals.len(), 2);
        assert_eq!(r.steps.len(), 1);
        assert_eq!(r.steps[0]["alloc/rollouts"], 8.0);
        assert_eq!(r.evals[1].rollouts, 8.0);
    }
    let summary = write_report(&out, &results).unwrap();
    assert!(
        summary.identical_start,
        "arms must start from the same model"
    );
    for f in [
        "report.md",
        "results.json",
        "summary.json",
        "pass_at_1_vs_step.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    // A second comparison reuses the cached warm-up instead of training it again.
    let again = run_compare(&cfg, &out, "again", &mut |_| {}).unwrap();
    assert!(again.warmup.cached);
    assert_eq!(
        again.runs[0].evals[0], results.runs[0].evals[0],
        "same warm-up, same seed: same initial evaluation"
    );
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
    assert!(err.contains("unknown algorithm `nope`"), "{err}");
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
