//! `xrpo allocate` end to end: the built binary on good and bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .arg("allocate")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the xrpo binary starts");
    // `xrpo` may exit before reading its input (bad flags or config): a broken pipe is
    // expected then, and the exit status and stderr are what the test checks.
    if let Err(e) = child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
    {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    child.wait_with_output().expect("xrpo finishes")
}

fn ok(stdin: &str) -> Value {
    let out = run(&[], stdin);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

fn extras(v: &Value) -> Vec<u64> {
    v["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["extra"].as_u64().unwrap())
        .collect()
}

/// Runs bad input; checks exit status, empty stdout, no panic, and that stderr names `needle`.
fn bad(stdin: &str, needle: &str) {
    let out = run(&[], stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "accepted bad input {stdin}");
    assert!(
        out.stdout.is_empty(),
        "wrote to stdout on error: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !stderr.contains("panicked"),
        "panicked on {stdin}: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "stderr for {stdin} should name {needle:?}: {stderr}"
    );
}

#[test]
fn example_file_allocates_its_budget_in_prompt_order() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/allocate.json"
    ))
    .unwrap();
    let input: Value = serde_json::from_str(&text).unwrap();
    let v = ok(&text);
    let ids: Vec<&str> = v["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = input["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, want);
    let e = extras(&v);
    assert_eq!(e.iter().sum::<u64>(), input["budget"].as_u64().unwrap());
    assert_eq!(v["granted"], input["budget"]);
    // The coin-flip prompt (s = 0.577) gets more than the always/never-solved ones (s = 0).
    assert!(e[2] > e[0] && e[2] > e[1], "{e:?}");
}

#[test]
fn boundary_prompt_beats_solved_prompt() {
    let v = ok(
        r#"{"budget": 8, "prompts": [{"id": "q1", "rewards": [1, 0, 1, 0]}, {"id": "q2", "rewards": [1, 1, 1, 1]}]}"#,
    );
    assert_eq!(extras(&v), vec![8, 0]);
    // q2 got nothing: its Π is φ at the end of the phase, T = 8 rewards + 8 grants = 16:
    // 0.05 · √(ln 17 / 4) = 0.0420804.
    let p = v["grants"][1]["priority"].as_f64().unwrap();
    assert!((p - 0.05 * ((17f64).ln() / 4.0).sqrt()).abs() < 1e-9, "{p}");
}

#[test]
fn under_sampled_prompts_report_null_priority_and_caps_bind() {
    let v = ok(
        r#"{"budget": 3, "prompts": [{"id": "a", "rewards": [1]}, {"id": "b", "rewards": []}]}"#,
    );
    assert_eq!(extras(&v), vec![1, 2]);
    assert!(v["grants"][0]["priority"].is_null());
    // n_fixed = 2 → n_max = 8: a prompt with 4 rewards takes at most 4 more.
    let v = ok(
        r#"{"budget": 100, "config": {"n_fixed": 2}, "prompts": [{"id": "a", "rewards": [1, 0, 0, 1]}]}"#,
    );
    assert_eq!(extras(&v), vec![4]);
    assert_eq!(v["granted"], 4);
    let v = ok(r#"{"budget": 0, "prompts": []}"#);
    assert_eq!(v["grants"], Value::Array(vec![]));
}

#[test]
fn training_step_clock() {
    let v = ok(
        r#"{"budget": 0, "config": {"clock": "training_steps"}, "training_step": 9, "prompts": [{"id": "a", "rewards": [1, 1]}]}"#,
    );
    // T = 9 (constant within the step): φ = 0.05 · √(ln 10 / 2).
    let p = v["grants"][0]["priority"].as_f64().unwrap();
    assert!((p - 0.05 * (10f64.ln() / 2.0).sqrt()).abs() < 1e-12, "{p}");
}

#[test]
fn bad_input_names_the_problem() {
    bad(r#"{"budget": 3, "prompts": ["#, "line 1 column");
    bad("{\n  \"budget\": 3,\n  \"prompts\": [}\n", "line 3 column");
    bad(r#"{"budget": -3, "prompts": []}"#, "budget");
    bad(r#"{"budget": "3", "prompts": []}"#, "budget");
    bad(r#"{"prompts": []}"#, "budget: missing");
    bad(r#"{"budget": 3}"#, "prompts: missing");
    bad(r#"{"budget": 3, "prompts": {}}"#, "prompts");
    bad(
        r#"{"budget": 3, "prompts": [{"id": "a", "rewards": [1, "x"]}]}"#,
        "prompts[0].rewards[1]",
    );
    bad(
        r#"{"budget": 3, "prompts": [{"id": "a", "rewards": "1,0"}]}"#,
        "prompts[0].rewards",
    );
    bad(
        r#"{"budget": 3, "prompts": [{"id": 7, "rewards": []}]}"#,
        "prompts[0].id",
    );
    bad(
        r#"{"budget": 3, "prompts": [{"id": "a", "rewards": []}, {"id": "a", "rewards": []}]}"#,
        "duplicate id",
    );
    bad(
        r#"{"budget": 3, "prompts": [{"id": "a", "rewards": [], "weight": 2}]}"#,
        "prompts[0].weight",
    );
    bad(r#"{"budget": 3, "prompts": [], "bugdet": 1}"#, "bugdet");
    bad(
        r#"{"budget": 3, "config": {"lamda": 0.1}, "prompts": []}"#,
        "config.lamda",
    );
    bad(
        r#"{"budget": 3, "config": {"alpha": "big"}, "prompts": []}"#,
        "config.alpha",
    );
    bad(
        r#"{"budget": 3, "config": {"lambda": -1}, "prompts": []}"#,
        "config.lambda",
    );
    bad(
        r#"{"budget": 3, "config": {"n_base": 1}, "prompts": []}"#,
        "config.n_base",
    );
    bad(
        r#"{"budget": 3, "config": {"clock": "training_steps"}, "prompts": []}"#,
        "training_step",
    );
    bad(
        r#"{"budget": 3, "training_step": 2, "prompts": []}"#,
        "training_step",
    );
    bad("[1, 2]", "expected a JSON object");
    bad("", "not valid JSON");
}

#[test]
fn help_shows_the_format_with_an_example() {
    let out = Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .args(["allocate", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for needle in [
        "\"budget\"",
        "\"prompts\"",
        "\"rewards\"",
        "\"extra\"",
        "\"priority\"",
        "EXAMPLE",
    ] {
        assert!(help.contains(needle), "help lacks {needle}: {help}");
    }
}

#[test]
fn reads_a_file_argument_and_pretty_prints() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/allocate.json");
    let out = run(&[path, "--pretty"], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().count() > 5);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["granted"], 36);
    let out = run(&["/nonexistent/allocate.json"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/allocate.json"));
}

/// `--kind` reaches every member of the allocator family; DAPO's dynamic sampling gives
/// its budget to the uniform (all-agreeing) groups first, which XRPO's priority does not.
#[test]
fn every_kind_is_selectable_and_dapo_feeds_uniform_groups() {
    let input = r#"{"budget": 4, "config": {"n_fixed": 4},
        "prompts": [{"id": "mixed", "rewards": [1, 0]}, {"id": "wrong", "rewards": [0, 0]}]}"#;
    for kind in [
        "xrpo",
        "uniform_phased",
        "dapo_filter",
        "reinforce_ada",
        "knapsack",
    ] {
        let out = run(&["--kind", kind], input);
        assert!(
            out.status.success(),
            "--kind {kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
        assert_eq!(v["granted"], 4, "--kind {kind}: {v}");
        if kind == "dapo_filter" {
            assert_eq!(extras(&v), vec![0, 4], "{v}");
        }
    }
    let out = run(&["--kind", "dapo"], input);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--kind dapo"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
