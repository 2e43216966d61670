//! `xrpo verify` end to end: JSON lines in, verdicts out in order, errors named by line.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

fn run_verify(input: impl AsRef<[u8]>, extra: &[&str]) -> (Vec<Value>, String, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .arg("verify")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xrpo binary starts");
    // `xrpo` may exit before reading its input (bad flags or config): a broken pipe is
    // expected then, and the exit status and stderr are what the test checks.
    if let Err(e) = child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(input.as_ref())
    {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    let out = child.wait_with_output().expect("xrpo finishes");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    (
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

#[test]
fn verdicts_in_input_order() {
    let input = concat!(
        r#"{"response": "so the answer is \\boxed{\\frac{1}{2}}", "answer": "0.5", "id": 7}"#,
        "\n",
        r#"{"response": "The answer is 41.", "answer": "42"}"#,
        "\n\n",
        "{\"kind\": \"math\", \"response\": \"#### 1,234\", \"answer\": \"1234\"}",
        "\n",
        r#"{"response": "no idea", "answer": "$x^2$"}"#,
        "\n",
    );
    let (out, stderr, ok) = run_verify(input, &[]);
    assert!(ok, "all lines are well-formed: {stderr}");
    assert_eq!(out.len(), 4, "one output per non-blank line");
    assert_eq!(out[0]["correct"], true);
    assert_eq!(out[0]["reward"], 1);
    assert_eq!(out[0]["extracted"], "\\frac{1}{2}");
    assert_eq!(out[0]["reason"], "passed");
    assert_eq!(out[0]["id"], 7);
    assert_eq!(out[1]["correct"], false);
    assert_eq!(out[1]["reward"], 0);
    assert_eq!(out[1]["reason"], "wrong_answer");
    assert_eq!(out[2]["correct"], true);
    assert_eq!(out[3]["extracted"], Value::Null);
    assert_eq!(out[3]["reason"], "no_answer");
}

#[test]
fn bad_lines_are_named_and_the_rest_still_run() {
    let input = concat!(
        "{not json}\n",
        r#"{"response": "\\boxed{3}", "answer": "3"}"#,
        "\n",
        r#"{"response": "\\boxed{3}"}"#,
        "\n",
        r#"{"kind": "code", "response": "print(1)", "tests": "assert True"}"#,
        "\n",
        r#"{"kind": "poetry", "response": "x", "answer": "y"}"#,
        "\n",
    );
    let (out, stderr, ok) = run_verify(input, &[]);
    assert!(!ok, "malformed lines make the exit status non-zero");
    assert_eq!(out.len(), 5);
    assert_eq!(out[0]["line"], 1);
    assert!(out[0]["error"].as_str().unwrap().contains("invalid JSON"));
    assert_eq!(
        out[1]["correct"], true,
        "a good line between bad ones is still verified"
    );
    assert_eq!(out[2]["line"], 3);
    assert!(
        out[2]["error"].as_str().unwrap().contains("answer"),
        "names the missing field"
    );
    assert!(
        out[3]["error"].as_str().unwrap().contains("entry_point"),
        "names the missing code field"
    );
    assert!(out[4]["error"].as_str().unwrap().contains("poetry"));
    assert!(stderr.contains("line 1:") && stderr.contains("line 3:"));
}

#[test]
fn unparseable_gold_is_reported_not_scored() {
    let (out, _, ok) = run_verify(
        r#"{"response": "\\boxed{3}", "answer": "no math here"}"#,
        &[],
    );
    assert!(ok);
    assert_eq!(out[0]["reason"], "unparseable_gold");
    assert_eq!(out[0]["outcome"], "unverifiable");
    assert_eq!(out[0]["reward"], 0);
}

#[test]
fn math_config_file_is_applied_and_checked() {
    let dir = std::env::temp_dir().join(format!("xrpo-cli-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("loose.json");
    std::fs::write(&good, r#"{"precision": 2}"#).unwrap();
    let line = r#"{"response": "\\boxed{0.33}", "answer": "\\frac{1}{3}"}"#;
    let (out, _, _) = run_verify(line, &[]);
    assert_eq!(out[0]["correct"], false, "0.33 is not 1/3 at 6 decimals");
    let (out, _, ok) = run_verify(line, &["--math-config", good.to_str().unwrap()]);
    assert!(ok);
    assert_eq!(out[0]["correct"], true, "0.33 is 1/3 at 2 decimals");
    let bad = dir.join("typo.json");
    std::fs::write(&bad, r#"{"precison": 2}"#).unwrap();
    let (_, stderr, ok) = run_verify(line, &["--math-config", bad.to_str().unwrap()]);
    assert!(!ok, "unknown config keys are rejected");
    assert!(stderr.contains("precison"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn invalid_utf8_line_fails_alone() {
    let mut input = b"{\"response\": \"\\\\boxed{4}\", \"answer\": \"4\"}\n".to_vec();
    // A Latin-1 encoded "é" inside an otherwise good line.
    input.extend_from_slice(b"{\"response\": \"caf\xe9 \\\\boxed{4}\", \"answer\": \"4\"}\n");
    input.extend_from_slice(b"{\"response\": \"\\\\boxed{5}\", \"answer\": \"4\"}\n");
    let (lines, stderr, ok) = run_verify(&input, &[]);
    assert!(!ok, "a bad line must fail the run");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["correct"], true, "{}", lines[0]);
    assert_eq!(lines[1]["line"], 2, "{}", lines[1]);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("UTF-8"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["correct"], false, "{}", lines[2]);
    assert!(stderr.contains("line 2:"), "{stderr}");
}
