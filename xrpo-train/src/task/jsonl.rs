//! Load problems from JSON lines, one object per line:
//!
//! ```text
//! {"prompt": "What is 2+3?", "answer": "5"}
//! {"id": "p7", "prompt": "Simplify \\frac{2}{4}.", "answer": "\\frac{1}{2}", "kind": "math"}
//! {"prompt": "Write add(a, b).", "kind": "code", "tests": {"tests": "def check(f): assert f(1,2)==3", "entry_point": "add"}}
//! ```
//!
//! `prompt` is required; `answer` is required for math (the default kind); `tests`
//! (xrpo-reward's `CodeTests`) for `kind: "code"`. Other fields (`level`, `solution`, `id`)
//! are optional; unknown fields are ignored so GSM8K- or MATH-style dumps load after a
//! rename of their question field. Blank lines are skipped. Every error names the line.

use std::path::Path;

use serde::Deserialize;
use xrpo_reward::Reference;
use xrpo_reward::code::CodeTests;

use super::{Problem, TaskError, TaskSet, in_eval_split};

#[derive(Deserialize)]
struct Row {
    id: Option<String>,
    prompt: Option<String>,
    answer: Option<serde_json::Value>,
    kind: Option<String>,
    tests: Option<CodeTests>,
    solution: Option<String>,
    level: Option<u32>,
}

/// Parses JSON-lines `text` (`path` is used in error messages only).
pub fn parse(text: &str, path: &str) -> Result<Vec<Problem>, TaskError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| TaskError::BadLine {
            path: path.to_string(),
            line: line_no,
            message,
        };
        let row: Row = serde_json::from_str(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let prompt = row
            .prompt
            .filter(|p| !p.trim().is_empty())
            .ok_or_else(|| bad("missing or empty field `prompt`".into()))?;
        let kind = row.kind.unwrap_or_else(|| "math".into());
        let (answer, reference) = match kind.as_str() {
            "code" => {
                let tests = row
                    .tests
                    .ok_or_else(|| bad("`kind: \"code\"` needs field `tests`".into()))?;
                (String::new(), Reference::Code(tests))
            }
            _ => {
                let answer = match row.answer {
                    Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s,
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    Some(other) => {
                        return Err(bad(format!(
                            "field `answer` must be a non-empty string or a number, got {other}"
                        )));
                    }
                    None => return Err(bad("missing field `answer`".into())),
                };
                (
                    answer.clone(),
                    Reference::Math {
                        answer: answer.clone(),
                    },
                )
            }
        };
        out.push(Problem {
            id: row.id.unwrap_or_else(|| format!("{path}:{line_no}")),
            prompt,
            answer,
            reference,
            solution: row.solution,
            level: row.level,
            kind: Some(kind),
        });
    }
    Ok(out)
}

/// Reads and parses one JSON-lines file.
pub fn load(path: &Path) -> Result<Vec<Problem>, TaskError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| TaskError::Io {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown)
}

/// A task's name: its file's stem.
fn task_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "jsonl".into())
}

/// A task set for evaluation only: every row of `eval` is an eval problem and the train
/// split is empty (`xrpo eval --task FILE.jsonl`).
pub fn load_eval_task(eval: &Path) -> Result<TaskSet, TaskError> {
    let eval_set = load(eval)?;
    let name = task_name(eval);
    if eval_set.is_empty() {
        return Err(TaskError::Empty {
            name,
            split: "eval",
        });
    }
    let set = TaskSet {
        name,
        train: Vec::new(),
        eval: eval_set,
    };
    set.check_disjoint()?;
    Ok(set)
}

/// A task set from a training file and either an eval file or, without one, a hash split
/// of the training file (`eval_share` of the prompts go to eval).
pub fn load_task(train: &Path, eval: Option<&Path>, eval_share: f64) -> Result<TaskSet, TaskError> {
    let problems = load(train)?;
    let (train_set, eval_set) = match eval {
        Some(e) => {
            let eval_problems = load(e)?;
            let eval_texts: std::collections::HashSet<String> =
                eval_problems.iter().map(|p| p.prompt.clone()).collect();
            // Drop training rows that repeat an eval prompt (leakage guard).
            let train_only = problems
                .into_iter()
                .filter(|p| !eval_texts.contains(&p.prompt))
                .collect();
            (train_only, eval_problems)
        }
        None => problems
            .into_iter()
            .partition(|p| !in_eval_split(&p.prompt, eval_share)),
    };
    let name = task_name(train);
    if train_set.is_empty() {
        return Err(TaskError::Empty {
            name,
            split: "train",
        });
    }
    let set = TaskSet {
        name,
        train: train_set,
        eval: eval_set,
    };
    set.check_disjoint()?;
    Ok(set)
}
