//! `xrpo verify`: JSON lines in, one verdict per line out, in input order (formats and
//! examples in [`AFTER_HELP`], shown by `xrpo verify --help`). All lines are read first
//! and verified in parallel (`RAYON_NUM_THREADS` caps the threads).

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Value, json};
use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier, StdioCase};
use xrpo_reward::math::{MathConfig, MathVerifier};
use xrpo_reward::{Reference, Verdict, Verifier, VerifyError};

use crate::jsonl;

/// The input and output formats, with one example per kind, after `--help`'s options.
const AFTER_HELP: &str = r#"INPUT (JSON lines, one response per line; blank lines are skipped):
  math (the default kind; "kind": "math" optional):
    {"response": "…", "answer": "…"}
  code, assert style (HumanEval-like; "prefix" optional, prepended to the response):
    {"kind": "code", "prefix": "…", "response": "…", "tests": "def check(candidate): …",
     "entry_point": "…"}
  code, stdio style (each case's input on stdin, its output compared with stdout):
    {"kind": "code", "response": "…", "stdio": [{"input": "…", "output": "…"}, …]}
  Any line may carry an "id" (any JSON value), echoed in its output line. Code runs in
  the sandbox of xrpo_reward::code at the configured isolation level (--code-config);
  where that level is unavailable, code lines fail (fail closed).

OUTPUT (one JSON line per non-blank input line, in input order):
  {"correct": bool, "reward": 0 or 1, "extracted": "…" or null, "reason": "…",
   "outcome": "correct" | "wrong" | "unverifiable", "detail": "…", "id": …}
  detail: present when the verifier has one; for code it names the isolation level in
  force ("isolation=namespaces; …") and the failing case. A line that cannot be read
  (bad JSON, a missing field, invalid UTF-8) or verified becomes
  {"error": "…", "line": N}, also on stderr; the other lines are still verified and the
  exit status is non-zero at the end.

EXAMPLES (each input is one line):
  math:
    $ echo '{"id": 1, "response": "so the total is \\boxed{42}", "answer": "42"}' | xrpo verify
    {"correct":true,"extracted":"42","id":1,"outcome":"correct","reason":"passed","reward":1}
  code, assert style:
    $ echo '{"kind": "code", "prefix": "def add(a, b):\n", "response": "    return a + b\n", "tests": "def check(candidate):\n    assert candidate(2, 3) == 5\n", "entry_point": "add"}' | xrpo verify
    {"correct":true,"detail":"isolation=namespaces; all tests passed","extracted":"    return a + b\n","outcome":"correct","reason":"passed","reward":1}
  code, stdio:
    $ echo '{"kind": "code", "response": "```python\nprint(int(input()) * 2)\n```", "stdio": [{"input": "4\n", "output": "8\n"}]}' | xrpo verify
    {"correct":true,"detail":"isolation=namespaces; 1/1 cases passed","extracted":"print(int(input()) * 2)\n","outcome":"correct","reason":"passed","reward":1}"#;

/// Arguments of `xrpo verify`.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// JSON-lines input file; standard input when absent or `-`.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Output file; standard output when absent or `-`.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// JSON file with math verifier settings (`MathConfig` fields, e.g.
    /// `{"precision": 4, "targets": ["latex", "expr"]}`); defaults otherwise.
    #[arg(long)]
    pub math_config: Option<PathBuf>,
    /// JSON file with code verifier settings (`CodeConfig` fields, e.g.
    /// `{"min_isolation": "rlimits", "limits": {"timeout_ms": 2000}}`); defaults otherwise.
    #[arg(long)]
    pub code_config: Option<PathBuf>,
}

/// Routes each reference to the verifier of its kind.
struct Router {
    math: MathVerifier,
    code_config: CodeConfig,
    /// The sandboxed code verifier, started on the first code line (its probe costs a
    /// process start, and math-only input must not need a sandbox).
    code: std::sync::OnceLock<Result<CodeVerifier, String>>,
}

impl Verifier for Router {
    fn verify(&self, response: &str, reference: &Reference) -> Result<Verdict, VerifyError> {
        match reference {
            Reference::Math { .. } => self.math.verify(response, reference),
            Reference::Code(_) => {
                let code = self.code.get_or_init(|| {
                    CodeVerifier::new(self.code_config.clone()).map_err(|e| e.to_string())
                });
                match code {
                    Ok(verifier) => verifier.verify(response, reference),
                    Err(msg) => Err(VerifyError::SandboxUnavailable(msg.clone())),
                }
            }
            _ => Err(VerifyError::UnsupportedReference("unknown")),
        }
    }
}

/// Reads the code fields of a `"kind": "code"` line: `stdio` cases, or `tests` +
/// `entry_point` (+ optional `prefix`).
fn code_tests(obj: &serde_json::Map<String, Value>) -> Result<CodeTests, String> {
    if let Some(stdio) = obj.get("stdio") {
        let cases = stdio
            .as_array()
            .ok_or("field `stdio` must be an array of cases")?;
        let stdio = cases
            .iter()
            .enumerate()
            .map(|(i, case)| {
                let case = case
                    .as_object()
                    .ok_or_else(|| format!("`stdio[{i}]` must be an object"))?;
                Ok(StdioCase {
                    input: field(case, "input")
                        .map_err(|e| format!("`stdio[{i}]`: {e}"))?
                        .to_string(),
                    output: field(case, "output")
                        .map_err(|e| format!("`stdio[{i}]`: {e}"))?
                        .to_string(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        return Ok(CodeTests::Stdio { stdio });
    }
    let prefix = match obj.get("prefix") {
        None => String::new(),
        Some(_) => field(obj, "prefix")?.to_string(),
    };
    Ok(CodeTests::Assert {
        prefix,
        tests: field(obj, "tests")
            .map_err(|e| format!("{e} (a code line needs `stdio`, or `tests` and `entry_point`)"))?
            .to_string(),
        entry_point: field(obj, "entry_point")?.to_string(),
    })
}

/// One input line turned into work: the response and what it is checked against.
struct Job {
    id: Option<Value>,
    response: String,
    reference: Reference,
}

fn field<'a>(obj: &'a serde_json::Map<String, Value>, name: &str) -> Result<&'a str, String> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(format!("field `{name}` must be a string, got {other}")),
        None => Err(format!("missing field `{name}`")),
    }
}

/// Reads one line into a [`Job`], or an error message that names the field.
fn parse_line(line: &str) -> Result<Job, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = value.as_object().ok_or("expected a JSON object")?;
    let kind = match obj.get("kind") {
        None => "math",
        Some(Value::String(k)) => k.as_str(),
        Some(other) => return Err(format!("field `kind` must be a string, got {other}")),
    };
    let id = obj.get("id").cloned();
    match kind {
        "math" => Ok(Job {
            id,
            response: field(obj, "response")?.to_string(),
            reference: Reference::Math {
                answer: field(obj, "answer")?.to_string(),
            },
        }),
        "code" => Ok(Job {
            id,
            response: field(obj, "response")?.to_string(),
            reference: Reference::Code(code_tests(obj)?),
        }),
        other => Err(format!(
            "unknown `kind` \"{other}\" (expected \"math\" or \"code\")"
        )),
    }
}

fn verdict_json(id: &Option<Value>, v: &Verdict) -> Value {
    let mut out = json!({
        "correct": v.correct(),
        "reward": if v.correct() { 1 } else { 0 },
        "extracted": v.extracted,
        "reason": v.reason,
        "outcome": v.outcome,
    });
    // The detail says what the verifier saw (for code, the isolation level in force and
    // the failing case); math verdicts usually have none.
    if !v.detail.is_empty() {
        out["detail"] = json!(v.detail);
    }
    if let Some(id) = id {
        out["id"] = id.clone();
    }
    out
}

/// Runs `xrpo verify`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = match &args.math_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<MathConfig>(&text)
                .with_context(|| format!("parsing math config {}", path.display()))?
        }
        None => MathConfig::default(),
    };
    let math = MathVerifier::new(cfg).context("invalid math config")?;
    let code_config = match &args.code_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let cfg = serde_json::from_str::<CodeConfig>(&text)
                .with_context(|| format!("parsing code config {}", path.display()))?;
            cfg.validate()
                .with_context(|| format!("invalid code config {}", path.display()))?;
            cfg
        }
        None => CodeConfig::default(),
    };
    let router = Router {
        math,
        code_config,
        code: std::sync::OnceLock::new(),
    };

    let reader: Box<dyn BufRead> = match args.input.as_deref() {
        Some(p) if p.as_os_str() != "-" => Box::new(BufReader::new(
            std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?,
        )),
        _ => Box::new(BufReader::new(std::io::stdin().lock())),
    };
    // Read every line first (numbered from 1, blank lines skipped).
    let input_name = match args.input.as_deref() {
        Some(p) if p.as_os_str() != "-" => p.display().to_string(),
        _ => "standard input".to_owned(),
    };
    let lines: Vec<(usize, Result<Job, String>)> = jsonl::read_lines(reader)
        .with_context(|| format!("reading {input_name}"))?
        .into_iter()
        .map(|l| (l.number, l.text.and_then(|t| parse_line(&t))))
        .collect();

    // Verify the well-formed lines in parallel; results come back in order.
    let jobs: Vec<(&str, &Reference)> = lines
        .iter()
        .filter_map(|(_, j)| j.as_ref().ok())
        .map(|j| (j.response.as_str(), &j.reference))
        .collect();
    let mut verdicts = router.verify_batch(&jobs).into_iter();

    let mut out: Box<dyn Write> = match args.output.as_deref() {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        _ => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut failed = 0usize;
    for (line_no, job) in &lines {
        let result = match job {
            // Invariant: one verdict per well-formed line, in the same order.
            Ok(job) => match verdicts.next().expect("one verdict per job") {
                Ok(v) => Ok(verdict_json(&job.id, &v)),
                Err(e) => Err(format!("verifier failed: {e}")),
            },
            Err(msg) => Err(msg.clone()),
        };
        failed += usize::from(jsonl::write_result(&mut out, *line_no, result)?);
    }
    out.flush()?;
    if failed > 0 {
        eprintln!("{failed} of {} lines failed", lines.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
