//! Smoke tests of `xrpo train` and `xrpo eval` on the tiny model with a budget of a few
//! steps (CleanRL style).

use std::path::PathBuf;
use std::process::Command;

fn xrpo() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xrpo"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrpo-cli-train-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const SMALL: [&str; 14] = [
    "--set",
    "prompts_per_step=4",
    "--set",
    "n_fixed=4",
    "--set",
    "alloc.n_base=2",
    "--set",
    "warmup.steps=3",
    "--set",
    "warmup.batch=8",
    "--set",
    "eval.prompts=4",
    "--set",
    "eval.k=2",
];

#[test]
fn train_resume_and_eval_leave_a_complete_run_dir() {
    let dir = tmp("run");
    let out = xrpo()
        .args(["train", "--quiet", "--steps", "2", "--out"])
        .arg(&dir)
        .args(SMALL)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}\n{stdout}");
    assert!(
        stdout.contains("before") && stdout.contains("after"),
        "{stdout}"
    );
    for f in [
        "config.json",
        "metrics.jsonl",
        "samples.jsonl",
        "eval_before.json",
        "eval_after.json",
        "report.md",
        "reward.svg",
        "warmup.safetensors",
        "checkpoints/latest",
        "checkpoints/step-000002/model.safetensors",
        "checkpoints/step-000002/optimizer.safetensors",
        "checkpoints/step-000002/state.json",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let lines = |d: &PathBuf| {
        std::fs::read_to_string(d.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines(&dir), 2);
    let metrics: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    for key in [
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
        "alloc/rollouts",
        "seed/seeded_share",
        "time/generate",
        "time/verify",
        "time/allocate",
        "time/update",
    ] {
        assert!(
            metrics.get(key).is_some(),
            "metrics line lacks {key}: {metrics}"
        );
    }
    let svg = std::fs::read_to_string(dir.join("reward.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("polyline"));

    // A fresh run into the same directory is refused and leaves the run untouched.
    let out = xrpo()
        .args(["train", "--quiet", "--steps", "2", "--out"])
        .arg(&dir)
        .args(SMALL)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already holds a run") && stderr.contains("--resume"),
        "{stderr}"
    );
    assert_eq!(lines(&dir), 2);

    // Resume to 3 steps: one more line, a new checkpoint.
    let out = xrpo()
        .args(["train", "--quiet", "--steps", "3", "--resume"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&dir), 3);
    assert!(dir.join("checkpoints/step-000003/state.json").is_file());

    // Evaluate the checkpoint.
    let out = xrpo()
        .args(["eval", "--k", "2", "--prompts", "4", "--checkpoint"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(report["step"], 3);
    assert_eq!(report["summary"]["k"], 2);
    assert_eq!(report["summary"]["prompts"], 4);

    // The warm-up weights under the same checkpoint's task and config, and a clear error
    // for a weights file that is not there.
    let warm = dir.join("warmup.safetensors");
    let out = xrpo()
        .args(["eval", "--k", "2", "--prompts", "4", "--checkpoint"])
        .arg(&dir)
        .arg("--weights")
        .arg(&warm)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(report["weights"], warm.display().to_string());
    let out = xrpo()
        .args(["eval", "--checkpoint"])
        .arg(&dir)
        .args(["--weights", "/nonexistent/w.safetensors"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/w.safetensors"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_overrides_fail_naming_the_key() {
    let dir = tmp("bad");
    for (arg, needle) in [
        ("optim.lrr=3", "optim.lrr"),
        ("n_fixed=1", "n_fixed"),
        ("algorithm=ppo", "algorithm"),
    ] {
        let out = xrpo()
            .args(["train", "--quiet", "--out"])
            .arg(&dir)
            .args(["--set", arg])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{arg}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `eval --checkpoint` with a path that is not a run or a checkpoint fails naming it and
/// creates nothing (it used to create the directory and a `checkpoints/` inside).
#[test]
fn eval_of_a_mistyped_checkpoint_creates_nothing() {
    let missing = tmp("no-such-run");
    let empty = tmp("empty-dir");
    std::fs::create_dir_all(&empty).unwrap();
    for path in [&missing, &empty] {
        let out = xrpo()
            .args(["eval", "--checkpoint"])
            .arg(path)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&*path.to_string_lossy()), "{stderr}");
    }
    assert!(!missing.exists(), "eval created {}", missing.display());
    let inside: Vec<_> = std::fs::read_dir(&empty).unwrap().collect();
    assert!(inside.is_empty(), "eval wrote into {}", empty.display());
    std::fs::remove_dir_all(&empty).ok();
}

/// `train` with a model or device that cannot be used fails before the run directory
/// (and its missing parents) exist; a model file that exists but cannot be loaded leaves
/// no empty run directory behind either.
#[test]
fn train_with_a_bad_model_or_device_leaves_no_run_dir() {
    let root = tmp("bad-model");
    let out_dir = root.join("nested").join("run");
    let garbage = tmp("garbage-model").with_extension("gguf");
    std::fs::write(&garbage, b"not a gguf file").unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--model", "/no/such/model.gguf"], "/no/such/model.gguf"),
        (&["--model", "/no/such/hf-dir"], "/no/such/hf-dir"),
        (&["--device", "gpu"], "gpu"),
        (&["--model", &*garbage.to_string_lossy()], "garbage-model"),
    ];
    for (args, needle) in cases {
        let out = xrpo()
            .args(["train", "--quiet", "--out"])
            .arg(&out_dir)
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!root.exists(), "{args:?} left {}", root.display());
    }
    std::fs::remove_file(&garbage).ok();
}

/// A missing config file is one line naming the file, with the OS error once.
#[test]
fn missing_config_file_is_one_clear_line() {
    let path = tmp("no-such-config").with_extension("toml");
    let out = xrpo()
        .args(["train", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let name = path.to_string_lossy();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&*name), "{stderr}");
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
}

/// SIGINT during the warm-up: the current update finishes, nothing partial is cached,
/// the run exits 130 with a resume hint, and `--resume` then runs the warm-up over and
/// trains.
#[test]
fn sigint_during_the_warm_up_exits_130_and_the_run_resumes() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let dir = tmp("warmup-sigint");
    let mut child = xrpo()
        .args(["train", "--quiet", "--steps", "1", "--out"])
        .arg(&dir)
        .args(SMALL)
        // Later values win: a warm-up long enough to be signalled in the middle.
        .args(["--set", "warmup.steps=200"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let progress = line.starts_with("warm-up ") && line.contains("nll");
        seen.push(line);
        if progress {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("nll")),
        "no warm-up progress: {seen:?}"
    );
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    seen.extend(lines.map(|l| l.unwrap()));
    let status = child.wait().unwrap();
    let stderr = seen.join("\n");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted during the warm-up") && stderr.contains("--resume"),
        "{stderr}"
    );
    assert!(
        !dir.join("warmup.safetensors").exists(),
        "a partial warm-up was cached"
    );

    let out = xrpo()
        .args(["train", "--quiet", "--steps", "1", "--resume"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warm-up: 200 updates"), "{stderr}");
    assert!(dir.join("warmup.safetensors").is_file());
    assert!(dir.join("checkpoints/step-000001/state.json").is_file());
    std::fs::remove_dir_all(&dir).ok();
}
