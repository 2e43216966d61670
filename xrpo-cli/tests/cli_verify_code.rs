//! `xrpo verify` on `"kind": "code"` lines: both test styles, mixed with math lines, bad code
//! lines named by field, and the fail-closed path when the sandbox level is unavailable.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn run_verify(lines: &[Value], extra: &[&str]) -> (Vec<Value>, String, bool) {
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .arg("verify")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xrpo binary starts");
    // `xrpo` may exit before reading its input (a bad config): a broken pipe is fine here.
    let _ = child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(input.as_bytes());
    let out = child.wait_with_output().expect("xrpo finishes");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let values = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each output line is JSON"))
        .collect();
    (
        values,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// A code config file accepting the weakest level, so the test runs on any Linux box.
/// Each call gets its own file (tests run in parallel and remove theirs).
fn permissive_config() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "xrpo-cli-verify-code-{}-{n}.json",
        std::process::id()
    ));
    std::fs::write(
        &path,
        r#"{"min_isolation": "rlimits", "limits": {"timeout_ms": 3000}}"#,
    )
    .unwrap();
    path
}

#[test]
fn code_lines_of_both_styles_are_verified_in_order() {
    let add_prefix = "def add(a, b):\n    \"\"\"Adds two numbers.\"\"\"\n";
    let add_tests = "def check(candidate):\n    assert candidate(2, 3) == 5\n";
    let lines = [
        json!({"kind": "code", "id": 1, "prefix": add_prefix, "response": "    return a + b\n",
               "tests": add_tests, "entry_point": "add"}),
        json!({"kind": "code", "id": 2, "prefix": add_prefix, "response": "    return a * b\n",
               "tests": add_tests, "entry_point": "add"}),
        json!({"response": "\\boxed{4}", "answer": "4"}),
        json!({"kind": "code", "id": 4,
               "response": "Reading two ints:\n```python\na, b = map(int, input().split())\nprint(a * b)\n```",
               "stdio": [{"input": "6 7\n", "output": "42\n"}, {"input": "2 2", "output": "4"}]}),
        json!({"kind": "code", "id": 5, "response": "while True:\n    pass\n",
               "stdio": [{"input": "", "output": "1"}]}),
        json!({"kind": "code", "id": 6, "response": "print(1/0)", "stdio": [{"input": "", "output": "1"}]}),
    ];
    let config = permissive_config();
    let (out, stderr, ok) = run_verify(&lines, &["--code-config", config.to_str().unwrap()]);
    std::fs::remove_file(&config).ok();
    assert!(ok, "all lines are well-formed: {stderr}");
    assert_eq!(out.len(), lines.len(), "one output per line: {out:?}");
    let summary: Vec<(Value, Value, Value)> = out
        .iter()
        .map(|o| (o["id"].clone(), o["reason"].clone(), o["reward"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!(1), json!("passed"), json!(1)),
            (json!(2), json!("wrong_answer"), json!(0)),
            (Value::Null, json!("passed"), json!(1)),
            (json!(4), json!("passed"), json!(1)),
            (json!(5), json!("timeout"), json!(0)),
            (json!(6), json!("runtime_error"), json!(0)),
        ]
    );
    assert_eq!(
        out[3]["extracted"],
        "a, b = map(int, input().split())\nprint(a * b)\n"
    );
    assert_eq!(out[0]["outcome"], "correct");
    assert_eq!(out[1]["correct"], false);
}

#[test]
fn malformed_code_lines_name_the_field() {
    let lines = [
        json!({"kind": "code", "response": "print(1)", "stdio": "not a list"}),
        json!({"kind": "code", "response": "print(1)", "stdio": [{"input": "1"}]}),
        json!({"kind": "code", "response": "print(1)", "tests": "def check(c): pass"}),
        json!({"kind": "code", "stdio": [{"input": "", "output": "1"}]}),
        json!({"kind": "code", "response": "print(1)", "stdio": [{"input": "", "output": "1"}]}),
    ];
    let config = permissive_config();
    let (out, stderr, ok) = run_verify(&lines, &["--code-config", config.to_str().unwrap()]);
    std::fs::remove_file(&config).ok();
    assert!(!ok, "malformed lines make the exit status non-zero");
    assert_eq!(out.len(), 5);
    let error = |i: usize| out[i]["error"].as_str().unwrap_or_default().to_string();
    assert!(error(0).contains("stdio"), "{}", error(0));
    assert!(
        error(1).contains("stdio[0]") && error(1).contains("output"),
        "{}",
        error(1)
    );
    assert!(error(2).contains("entry_point"), "{}", error(2));
    assert!(error(3).contains("response"), "{}", error(3));
    assert_eq!(
        out[4]["reason"], "passed",
        "the good line still runs: {stderr}"
    );
    assert_eq!(out[1]["line"], 2);
}

#[test]
fn bad_code_config_is_rejected_up_front() {
    let path = std::env::temp_dir().join(format!(
        "xrpo-cli-verify-code-bad-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, r#"{"limits": {"timeout": 5}}"#).unwrap();
    let (out, stderr, ok) = run_verify(
        &[json!({"response": "\\boxed{1}", "answer": "1"})],
        &["--code-config", path.to_str().unwrap()],
    );
    std::fs::remove_file(&path).ok();
    assert!(!ok);
    assert!(out.is_empty());
    assert!(stderr.contains("code config"), "{stderr}");
}

/// In a user namespace where the process is unprivileged, the default minimum (namespaces)
/// cannot be met: code lines must fail with a sandbox error, math lines must still pass.
#[test]
fn code_lines_fail_closed_without_the_required_isolation() {
    let Some(unshare) = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("SKIP fail-closed CLI test: util-linux `unshare` not installed");
        return;
    };
    let input = format!(
        "{}\n{}\n",
        json!({"kind": "code", "response": "print(1)", "stdio": [{"input": "", "output": "1"}]}),
        json!({"response": "\\boxed{2}", "answer": "2"})
    );
    let mut child = Command::new(unshare)
        .args(["--user", "--map-user=65534", "--map-group=65534", "--"])
        .arg(env!("CARGO_BIN_EXE_xrpo"))
        .arg("verify")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare starts");
    // The child may exit before reading its input: a broken pipe is expected then.
    if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("unshare failed") {
        eprintln!("SKIP fail-closed CLI test: user namespaces not permitted: {stderr}");
        return;
    }
    let values: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(!out.status.success(), "a code line could not be verified");
    assert_eq!(values.len(), 2, "{values:?} {stderr}");
    let error = values[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("sandbox unavailable"), "{error}");
    assert_eq!(values[1]["reason"], "passed");
}

/// The verdict's `detail` reaches the output, so the isolation level in force is visible.
#[test]
fn detail_names_the_isolation_level_in_force() {
    let lines = [
        json!({"kind": "code", "response": "print(int(input()) + 1)",
               "stdio": [{"input": "1\n", "output": "2\n"}]}),
        json!({"kind": "code", "response": "print(3)",
               "stdio": [{"input": "", "output": "2"}]}),
    ];
    let config = permissive_config();
    let (out, stderr, ok) = run_verify(&lines, &["--code-config", config.to_str().unwrap()]);
    std::fs::remove_file(&config).ok();
    assert!(ok, "{stderr}");
    for o in &out {
        let detail = o["detail"].as_str().unwrap_or_default();
        let level = detail
            .strip_prefix("isolation=")
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_default();
        assert!(
            ["rlimits", "namespaces"].contains(&level),
            "no isolation level in {o}"
        );
    }
    assert_eq!(out[1]["reward"], 0);
    assert!(
        out[1]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("case"),
        "a failing case is described: {}",
        out[1]
    );
}

/// `xrpo verify --help` documents both formats, and each of its examples prints what the
/// help says it prints (the isolation level aside: it depends on the machine).
#[test]
fn help_shows_the_formats_and_its_examples_hold() {
    let help = Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .args(["verify", "--help"])
        .output()
        .expect("xrpo runs");
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).expect("utf-8 help");
    for needle in [
        "INPUT",
        "OUTPUT",
        "\"answer\"",
        "\"entry_point\"",
        "\"stdio\"",
        "detail",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
    let lines: Vec<&str> = help.lines().collect();
    let mut examples = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(cmd) = line.trim().strip_prefix("$ echo '") else {
            continue;
        };
        let input = cmd
            .strip_suffix("' | xrpo verify")
            .expect("an example pipes one quoted line into xrpo verify");
        let shown: Value = serde_json::from_str(lines[i + 1].trim()).expect("JSON output line");
        let config = permissive_config();
        let (out, stderr, ok) = run_verify(
            &[serde_json::from_str(input).expect("example input is JSON")],
            &["--code-config", config.to_str().unwrap()],
        );
        std::fs::remove_file(&config).ok();
        assert!(ok, "{input}: {stderr}");
        let (mut got, mut want) = (out[0].clone(), shown);
        let strip_level = |v: &mut Value| {
            if let Some(d) = v.get("detail").and_then(Value::as_str) {
                let rest = d.split_once("; ").map_or(d, |(_, r)| r).to_string();
                v["detail"] = Value::String(rest);
            }
        };
        strip_level(&mut got);
        strip_level(&mut want);
        assert_eq!(got, want, "example {input}");
        examples += 1;
    }
    assert_eq!(examples, 3, "math, assert-style and stdio examples");
}
