//! [`CodeVerifier`]: runs extracted code against [`CodeTests`] in the [`Sandbox`].

use super::classify::{Judge, classify};
use super::extract::{extract_code, is_identifier};
use super::harness::{
    CANDIDATE_FILE, CHECKER, CHECKER_FILE, SERVER, SERVER_FILE, checker_input, exit,
};
use super::{
    CodeConfig, CodeTests, Isolation, MemoryCap, Program, RunOutput, Sandbox, SandboxSettings,
    Termination,
};
use crate::{Outcome, Reason, Reference, Verdict, Verifier, VerifyError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Python flags for every sandboxed run: isolated mode (no user site, no environment
/// variables, no script directory on `sys.path`), no bytecode files.
const PYTHON_FLAGS: [&str; 2] = ["-I", "-B"];
/// Name of the program file inside the run directory.
const PROGRAM_FILE: &str = "main.py";
/// Flags of the assert harness's checker: [`PYTHON_FLAGS`] plus `-S` (no `site`: the
/// checker needs only the standard library, and starts faster).
const CHECKER_FLAGS: [&str; 3] = ["-I", "-B", "-S"];

/// Verifies Python code against [`CodeTests`] in a sandbox. See the [module docs](self).
#[derive(Debug)]
pub struct CodeVerifier {
    config: CodeConfig,
    python: PathBuf,
    sandbox: Sandbox,
    workers: usize,
}

impl CodeVerifier {
    /// Builds the verifier: validates `config`, finds the interpreter, and starts a probe
    /// program under the strongest isolation level not below `config.min_isolation`.
    ///
    /// Fails closed with [`VerifyError::SandboxUnavailable`] (naming each level's failure)
    /// when no acceptable level works here.
    pub fn new(config: CodeConfig) -> Result<Self, VerifyError> {
        config.validate()?;
        let workers = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
            n => n,
        };
        let candidates = match &config.python {
            Some(p) => vec![p.clone()],
            None => python_candidates(),
        };
        if candidates.is_empty() {
            return Err(VerifyError::SandboxUnavailable(
                "no `python3` found on PATH nor at /usr/bin/python3".into(),
            ));
        }
        let tmp = config.tmp_dir.clone().unwrap_or_else(std::env::temp_dir);
        let mut failures = Vec::new();
        for level in [Isolation::Namespaces, Isolation::Rlimits] {
            if level > config.max_isolation {
                continue;
            }
            if level < config.min_isolation {
                break;
            }
            for python in &candidates {
                let probe_args: Vec<&str> = PYTHON_FLAGS
                    .iter()
                    .copied()
                    .chain(["-c", "open('probe', 'w').write('ok')"])
                    .collect();
                let probe = Program {
                    executable: python,
                    args: &probe_args,
                    files: &[],
                    stdin: b"",
                };
                let settings = SandboxSettings {
                    isolation: level,
                    limits: config.limits.clone(),
                    workers,
                    uid_base: config.uid_base,
                    tmp_root: tmp.clone(),
                    visible: interpreter_paths(python),
                    socket_families: config.socket_families.clone(),
                };
                match Sandbox::start(settings, &probe) {
                    Ok(sandbox) => {
                        return Ok(CodeVerifier {
                            python: python.clone(),
                            sandbox,
                            workers: workers as usize,
                            config,
                        });
                    }
                    Err(e) => failures.push(format!("{level} with {}: {e}", python.display())),
                }
            }
        }
        Err(VerifyError::SandboxUnavailable(format!(
            "no isolation level at or above `{}` works here: {}",
            config.min_isolation,
            failures.join("; ")
        )))
    }

    /// The isolation level every program of this verifier runs under.
    pub fn isolation(&self) -> Isolation {
        self.sandbox.isolation()
    }

    /// How the total memory of each run is bounded on this machine.
    pub fn memory_cap(&self) -> MemoryCap {
        self.sandbox.memory_cap()
    }

    /// The interpreter programs run with.
    pub fn python(&self) -> &Path {
        &self.python
    }

    /// The uids this verifier's runs use (empty unless running as root); every process of
    /// these uids belongs to one of its runs.
    pub fn sandbox_uids(&self) -> Vec<u32> {
        self.sandbox.uids()
    }

    /// The configuration in force.
    pub fn config(&self) -> &CodeConfig {
        &self.config
    }

    /// Runs one Python source with `stdin` in the sandbox, for callers that judge the output
    /// themselves.
    pub fn run_python(&self, source: &str, stdin: &str) -> Result<RunOutput, VerifyError> {
        let path = format!("../{PROGRAM_FILE}");
        let args: Vec<&str> = PYTHON_FLAGS
            .iter()
            .copied()
            .chain([path.as_str()])
            .collect();
        self.sandbox.run(&Program {
            executable: &self.python,
            args: &args,
            files: &[(PROGRAM_FILE, source.as_bytes())],
            stdin: stdin.as_bytes(),
        })
    }

    fn verify_code(&self, code: &str, tests: &CodeTests) -> Result<Verdict, VerifyError> {
        let iso = self.isolation();
        let verdict = |reward: f32, reason: Reason, detail: String| Verdict {
            reward,
            outcome: if reason == Reason::Passed {
                Outcome::Correct
            } else {
                Outcome::Wrong
            },
            extracted: Some(code.to_string()),
            reason,
            detail: format!("isolation={iso}; {detail}"),
        };
        let unverifiable = |detail: String| Verdict {
            reward: 0.0,
            outcome: Outcome::Unverifiable,
            extracted: Some(code.to_string()),
            reason: Reason::UnparseableGold,
            detail: format!("isolation={iso}; {detail}"),
        };
        match tests {
            CodeTests::Assert {
                prefix,
                tests,
                entry_point,
            } => {
                if !is_identifier(entry_point) {
                    return Ok(unverifiable(format!(
                        "entry_point {entry_point:?} is not a Python identifier"
                    )));
                }
                if code.trim().is_empty() {
                    return Ok(no_code(iso));
                }
                // The checker runs `check` in its own process; the candidate's code runs in
                // another one (see `harness`), so nothing the program does reaches the
                // verdict, which is the checker's exit status.
                let candidate = format!("{prefix}{code}\n");
                let (checker, server, candidate_path) = (
                    format!("../{CHECKER_FILE}"),
                    format!("../{SERVER_FILE}"),
                    format!("../{CANDIDATE_FILE}"),
                );
                let args: Vec<&str> = CHECKER_FLAGS
                    .iter()
                    .copied()
                    .chain([
                        checker.as_str(),
                        server.as_str(),
                        candidate_path.as_str(),
                        entry_point.as_str(),
                    ])
                    .collect();
                let input = checker_input(prefix, tests);
                let out = self.sandbox.run(&Program {
                    executable: &self.python,
                    args: &args,
                    files: &[
                        (CHECKER_FILE, CHECKER.as_bytes()),
                        (SERVER_FILE, SERVER.as_bytes()),
                        (CANDIDATE_FILE, candidate.as_bytes()),
                    ],
                    stdin: &input,
                })?;
                if out.termination == Termination::Exited(exit::HARNESS) {
                    return Err(VerifyError::SandboxUnavailable(format!(
                        "isolation={iso}; the assert harness cannot run safely here: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    )));
                }
                let (reason, detail) = classify(&out, &self.config.limits, Judge::Harness);
                Ok(match reason {
                    Reason::UnparseableGold => unverifiable(detail),
                    Reason::Passed => verdict(1.0, reason, detail),
                    _ => verdict(0.0, reason, detail),
                })
            }
            CodeTests::Stdio { stdio } => {
                if stdio.is_empty() {
                    return Ok(unverifiable(
                        "the reference has no stdin/stdout cases".into(),
                    ));
                }
                if code.trim().is_empty() {
                    return Ok(no_code(iso));
                }
                let mut passed = 0usize;
                let mut first_failure: Option<(usize, Reason, String)> = None;
                for (i, case) in stdio.iter().enumerate() {
                    let out = self.run_python(code, &case.input)?;
                    let (reason, detail) =
                        classify(&out, &self.config.limits, Judge::Stdio(&case.output));
                    if reason == Reason::Passed {
                        passed += 1;
                    } else if first_failure.is_none() {
                        first_failure = Some((i, reason, detail));
                        if !self.config.partial_credit {
                            break;
                        }
                    }
                }
                let total = stdio.len();
                Ok(match first_failure {
                    None => verdict(1.0, Reason::Passed, format!("{total}/{total} cases passed")),
                    Some((i, reason, detail)) => {
                        let reward = if self.config.partial_credit {
                            passed as f32 / total as f32
                        } else {
                            0.0
                        };
                        verdict(reward, reason, format!("case {i} of {total}: {detail}"))
                    }
                })
            }
        }
    }
}

fn no_code(iso: Isolation) -> Verdict {
    Verdict {
        reward: 0.0,
        outcome: Outcome::Wrong,
        extracted: None,
        reason: Reason::NoAnswer,
        detail: format!("isolation={iso}; the response contains no code"),
    }
}

impl Verifier for CodeVerifier {
    fn verify(&self, response: &str, reference: &Reference) -> Result<Verdict, VerifyError> {
        match reference {
            Reference::Code(tests) => self.verify_code(extract_code(response), tests),
            Reference::Math { .. } => Err(VerifyError::UnsupportedReference("math")),
        }
    }

    /// Runs up to `workers` programs at once on plain threads (they mostly wait on their
    /// child), in input order.
    fn verify_batch(&self, items: &[(&str, &Reference)]) -> Vec<Result<Verdict, VerifyError>> {
        let next = AtomicUsize::new(0);
        let results: Vec<Mutex<Option<Result<Verdict, VerifyError>>>> =
            items.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..self.workers.min(items.len()) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((response, reference)) = items.get(i) else {
                            break;
                        };
                        let r = self.verify(response, reference);
                        *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|m| {
                m.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| {
                        Err(VerifyError::SandboxUnavailable(
                            "a batch worker panicked".into(),
                        ))
                    })
            })
            .collect()
    }
}

/// What the interpreter reads: its directory, its prefixes and its `sys.path` (asked of it
/// once, outside the sandbox), which the `namespaces` file tree makes visible read-only.
fn interpreter_paths(python: &Path) -> Vec<PathBuf> {
    let script = "import os, sys\n\
                  paths = [os.path.dirname(sys.executable), sys.prefix, sys.base_prefix,\n\
                  \x20        sys.exec_prefix, sys.base_exec_prefix] + sys.path\n\
                  sys.stdout.write('\\0'.join(p for p in paths if p))";
    let mut out: Vec<PathBuf> = python.parent().map(Path::to_path_buf).into_iter().collect();
    let listed = std::process::Command::new(python)
        .args(["-I", "-c", script])
        .env_clear()
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| o.stdout)
        .unwrap_or_default();
    for p in String::from_utf8_lossy(&listed).split('\0') {
        let p = PathBuf::from(p);
        if p.is_absolute() && p.exists() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Interpreter candidates: each `python3` on `PATH`, resolved through `sys.executable`,
/// then `/usr/bin/python3`; duplicates removed.
fn python_candidates() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join("python3");
        if !candidate.is_file() || !candidate.is_absolute() {
            continue;
        }
        let resolved = std::process::Command::new(&candidate)
            .args(["-c", "import sys; print(sys.executable)"])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| PathBuf::from(s.trim()))
            .filter(|p| p.is_absolute() && p.is_file());
        if let Some(p) = resolved
            && !out.contains(&p)
        {
            out.push(p);
        }
    }
    let system = PathBuf::from("/usr/bin/python3");
    if system.is_file() && !out.contains(&system) {
        out.push(system);
    }
    out
}
