//! `xrpo advantage` end to end: the built binary on JSON lines, checked against values
//! computed by hand (comments) and against the library.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn xrpo(args: &[&str], stdin: impl AsRef<[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .arg("advantage")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the xrpo binary runs");
    // `xrpo` may exit before reading its input (bad flags or config): a broken pipe is
    // expected then, and the exit status and stderr are what the test checks.
    if let Err(e) = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_ref())
    {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    child.wait_with_output().expect("xrpo finishes")
}

fn stdout_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect()
}

fn advantages(v: &Value) -> Vec<f64> {
    v["advantages"]
        .as_array()
        .unwrap_or_else(|| panic!("no advantages in {v}"))
        .iter()
        .map(|x| x.as_f64().expect("numbers"))
        .collect()
}

fn close(got: &[f64], expected: &[f64]) {
    assert_eq!(got.len(), expected.len(), "{got:?} vs {expected:?}");
    for (g, e) in got.iter().zip(expected) {
        assert!(
            (g - e).abs() < 1e-5 * (1.0 + e.abs()),
            "{got:?} vs {expected:?}"
        );
    }
}

#[test]
fn grpo_rloo_dr_grpo_by_hand() {
    // [1, 0, 0, 0]: mean 0.25, unbiased std 0.5. GRPO ±: 0.75/0.5001, -0.25/0.5001.
    // RLOO: 1 − 0 = 1, 0 − 1/3. Dr.GRPO: 0.75, −0.25.
    let input = "{\"rewards\": [1, 0, 0, 0]}\n";
    let cases: [(&[&str], [f64; 2]); 4] = [
        (&[], [0.75 / 0.5001, -0.25 / 0.5001]),
        (&["--estimator", "grpo", "--epsilon", "0"], [1.5, -0.5]),
        (&["--estimator", "rloo"], [1.0, -1.0 / 3.0]),
        (&["--estimator", "dr_grpo"], [0.75, -0.25]),
    ];
    for (args, [hi, lo]) in cases {
        let out = xrpo(args, input);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines = stdout_lines(&out);
        assert_eq!(lines.len(), 1);
        close(&advantages(&lines[0]), &[hi, lo, lo, lo]);
    }
}

#[test]
fn xrpo_sharpens_the_unlikely_correct_answer() {
    // [1, 0, 1, 0], s = [-0.2, -0.4, -0.9, -0.5]: A = ±0.5/(√(1/3) + 1e-4) = ±0.865876.
    // s̄ = -0.5; response 2 has η = e^{-0.4}, bonus 2.5·(1 − 0.67032) = 0.8242 > cap
    // 0.5·A, so A⁺_2 = 1.5·A. Response 0 has η > 1: unchanged.
    let input = "{\"rewards\": [1, 0, 1, 0], \"seq_logprob\": [-0.2, -0.4, -0.9, -0.5]}\n";
    let a = 0.5 / ((1.0f64 / 3.0).sqrt() + 1e-4);
    let out = xrpo(&["--estimator", "xrpo"], input);
    assert!(out.status.success());
    close(&advantages(&stdout_lines(&out)[0]), &[a, -a, 1.5 * a, -a]);
    // A larger cap lets the raw bonus through: 2.5·(1 − e^{-0.4}) = 0.824200.
    let out = xrpo(&["--estimator", "xrpo", "--kappa-clip", "5"], input);
    let bonus = 2.5 * (1.0 - (-0.4f64).exp());
    close(&advantages(&stdout_lines(&out)[0]), &[a, -a, a + bonus, -a]);
    // λ_nov = 0 switches sharpening off.
    let out = xrpo(&["--estimator", "xrpo", "--lambda-novelty", "0"], input);
    close(&advantages(&stdout_lines(&out)[0]), &[a, -a, a, -a]);
}

#[test]
fn missing_rewards_and_degenerate_groups() {
    // [1, null, 0]: baseline over {1, 0}: ±0.5/(0.707107 + 1e-4); null gets 0.
    // [1] and [1, 1]: no signal, all 0.
    let input = "{\"rewards\": [1, null, 0]}\n\n{\"rewards\": [1]}\n{\"rewards\": [1, 1]}\n";
    let out = xrpo(&["--stats"], input);
    assert!(out.status.success());
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 3, "blank lines are skipped");
    let a = 0.5 / (0.5f64.sqrt() + 1e-4);
    close(&advantages(&lines[0]), &[a, 0.0, -a]);
    close(&advantages(&lines[1]), &[0.0]);
    close(&advantages(&lines[2]), &[0.0, 0.0]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Value = serde_json::from_str(stderr.trim()).expect("--stats prints JSON");
    assert_eq!(report["stats"]["undersized_groups"], 1);
    assert_eq!(report["stats"]["zero_std_groups"], 1);
    assert_eq!(report["stats"]["missing_rewards"], 1);
}

#[test]
fn batch_scaling_reads_all_lines_first() {
    // Rewards over both lines: [1, 0] and [1, 1, 1, 0]; std of all six = √(4/15).
    // Group means 0.5 and 0.75.
    let input = "{\"rewards\": [1, 0]}\n{\"rewards\": [1, 1, 1, 0]}\n";
    let out = xrpo(&["--scale", "batch"], input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = stdout_lines(&out);
    let d = (4.0f64 / 15.0).sqrt() + 1e-4;
    close(&advantages(&lines[0]), &[0.5 / d, -0.5 / d]);
    close(
        &advantages(&lines[1]),
        &[0.25 / d, 0.25 / d, 0.25 / d, -0.75 / d],
    );
    // A bad line in between keeps its place and is left out of the std.
    let input = "{\"rewards\": [1, 0]}\n{\"rewards\": \"x\"}\n{\"rewards\": [1, 1, 1, 0]}\n";
    let out = xrpo(&["--scale", "batch"], input);
    assert!(!out.status.success());
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["line"], 2);
    close(
        &advantages(&lines[2]),
        &[0.25 / d, 0.25 / d, 0.25 / d, -0.75 / d],
    );
}

#[test]
fn bad_lines_name_line_and_field_and_keep_going() {
    let cases = [
        ("{\"rewards\": [1, 0", "invalid JSON"),
        ("[1, 0]", "expected a JSON object"),
        ("{\"seq_logprob\": [-1]}", "rewards: missing"),
        ("{\"rewards\": \"10\"}", "rewards: expected a list"),
        ("{\"rewards\": [1, \"a\", 0]}", "rewards[1]"),
        ("{\"rewards\": [1, true]}", "rewards[1]"),
        ("{\"rewards\": []}", "rewards: empty"),
        ("{\"rewards\": [1e39, 0]}", "rewards[0]"),
        (
            "{\"rewards\": [1, 0], \"seq_logprob\": [-1]}",
            "seq_logprob: has 1 entries",
        ),
        (
            "{\"rewards\": [1, 0], \"seq_logprob\": [-1, null]}",
            "seq_logprob[1]",
        ),
        ("{\"rewards\": [1, 0], \"lengths\": [3, -1]}", "lengths[1]"),
        (
            "{\"rewards\": [1, 0], \"reward\": [1]}",
            "unknown field `reward`",
        ),
    ];
    for (bad, needle) in cases {
        let input = format!("{{\"rewards\": [1, 0]}}\n{bad}\n{{\"rewards\": [0, 1]}}\n");
        let out = xrpo(&[], &input);
        assert!(!out.status.success(), "{bad} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("line 2:"), "{bad}: stderr {stderr}");
        assert!(
            stderr.contains(needle),
            "{bad}: stderr {stderr} lacks {needle}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        let lines = stdout_lines(&out);
        assert_eq!(lines.len(), 3, "one output line per input line");
        assert_eq!(lines[1]["line"], 2);
        assert!(lines[1].get("advantages").is_none());
        assert!(
            lines[1]["error"]
                .as_str()
                .is_some_and(|e| e.contains(needle))
        );
        // [0, 1]: mean 0.5, unbiased std √0.5, A = ∓0.5 / (√0.5 + 1e-4).
        let a = 0.5 / (0.5f64.sqrt() + 1e-4);
        close(&advantages(&lines[2]), &[-a, a]);
    }
    // xrpo needs seq_logprob.
    let out = xrpo(&["--estimator", "xrpo"], "{\"rewards\": [1, 0]}\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: seq_logprob: missing"));
}

#[test]
fn flags_that_do_not_apply_are_refused() {
    for args in [
        &["--estimator", "rloo", "--epsilon", "1e-6"][..],
        &["--estimator", "dr_grpo", "--scale", "batch"],
        &["--estimator", "grpo", "--kappa-clip", "1"],
        &["--estimator", "xrpo", "--lambda-novelty", "-1"],
        &["--epsilon", "-1e-4"],
    ] {
        let out = xrpo(args, "{\"rewards\": [1, 0]}\n");
        assert!(!out.status.success(), "{args:?} should be refused");
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error"));
    }
}

#[test]
fn help_shows_the_format_with_an_example() {
    let out = xrpo(&["--help"], "");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "rewards",
        "seq_logprob",
        "Example",
        "--estimator",
        "dr_grpo",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
    // The example in --help is what the binary prints (f32 in shortest form).
    let out = xrpo(
        &["--estimator", "xrpo"],
        "{\"rewards\": [1, 0, 1, 0], \"seq_logprob\": [-0.2, -0.4, -0.9, -0.5]}\n",
    );
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        line.trim(),
        "{\"advantages\":[0.8658754,-0.8658754,1.2988131,-0.8658754]}"
    );
    assert!(
        help.contains(line.trim()),
        "--help example differs from {line}"
    );
}

#[test]
fn example_file_runs_clean() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/advantage.jsonl");
    let text = std::fs::read_to_string(path).expect("examples/advantage.jsonl exists");
    for est in ["grpo", "dr_grpo", "rloo", "xrpo"] {
        let out = xrpo(&["--estimator", est, "--input", path], "");
        assert!(
            out.status.success(),
            "{est}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(stdout_lines(&out).len(), text.lines().count());
    }
}

#[test]
fn invalid_utf8_line_fails_alone_in_both_modes() {
    // Line 2 holds bytes that are not UTF-8 (a Latin-1 "é" and a lone continuation
    // byte); lines 1 and 3 are good groups and must still get their advantages.
    let input: &[u8] =
        b"{\"rewards\": [1, 0]}\n{\"rewards\": [1, \xe9\x80]}\n{\"rewards\": [0, 1]}\n";
    for args in [&["--estimator", "grpo"][..], &["--scale", "batch"][..]] {
        let out = xrpo(args, input);
        assert!(
            !out.status.success(),
            "{args:?}: a bad line must fail the run"
        );
        let lines = stdout_lines(&out);
        assert_eq!(lines.len(), 3, "{args:?}: one output line per input line");
        // [1, 0] → ±1/std: a positive first advantage, a negative second (sign only:
        // the values are checked elsewhere).
        let first = advantages(&lines[0]);
        assert!(first[0] > 0.0 && first[1] < 0.0, "{args:?}: {first:?}");
        assert_eq!(lines[1]["line"], 2, "{args:?}: {}", lines[1]);
        let msg = lines[1]["error"].as_str().unwrap_or_default();
        assert!(msg.contains("UTF-8"), "{args:?}: {msg}");
        let third = advantages(&lines[2]);
        assert!(third[0] < 0.0 && third[1] > 0.0, "{args:?}: {third:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("line 2:"), "{args:?}: {stderr}");
    }
}
