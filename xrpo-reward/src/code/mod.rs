//! Code rewards: run model-written Python programs against tests in a sandbox.
//!
//! [`CodeVerifier`] implements [`Verifier`] for [`Reference::Code`] with two test styles
//! ([`CodeTests`]):
//! - assert style (HumanEval): the program is `prefix + code + "\n" + tests + "\n" +
//!   "check(entry_point)"`, and passes when it exits with status 0 after `check` returned
//!   (an early `sys.exit(0)` fails, as under HumanEval's harness);
//! - stdin/stdout cases (LiveCodeBench): each case runs the code with the case's input on
//!   stdin; the output must match line by line, exactly after stripping, else token by token
//!   with exact numeric equality (see [`outputs_match`]).
//!
//! The code is the last ```` ```python ```` fenced block of the response (also ```` ```py ````
//! and ```` ```python3 ````; an unterminated last fence runs to the end), else the whole
//! response. The reward is 1 when every test passes, else 0; with
//! [`CodeConfig::partial_credit`], stdin/stdout tests give the fraction of cases passed.
//!
//! Every program runs in the [`sandbox`]: a child process in a fresh temporary directory,
//! with limits ([`Limits`]), an empty environment, a wall-clock kill of the whole process
//! tree, and an isolation level ([`Isolation`]) recorded in each verdict's `detail`
//! (`isolation=namespaces; …`). A configured minimum level that this machine cannot provide
//! makes [`CodeVerifier::new`] fail with [`VerifyError::SandboxUnavailable`]; nothing runs
//! unconfined.
//!
//! # Example
//! ```
//! use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier, Isolation, StdioCase};
//! use xrpo_reward::{Reference, Verifier};
//!
//! let config = CodeConfig { min_isolation: Isolation::Rlimits, ..CodeConfig::default() };
//! let verifier = match CodeVerifier::new(config) {
//!     Ok(v) => v,
//!     Err(e) => { eprintln!("no sandbox here: {e}"); return; }
//! };
//! let reference = Reference::Code(CodeTests::Stdio {
//!     stdio: vec![StdioCase { input: "2 3\n".into(), output: "5\n".into() }],
//! });
//! let response = "Here you go:\n```python\na, b = map(int, input().split())\nprint(a + b)\n```";
//! let verdict = verifier.verify(response, &reference).unwrap();
//! assert!(verdict.correct());
//! assert_eq!(verdict.reward, 1.0);
//! ```

mod compare;
pub mod sandbox;

pub use compare::outputs_match;
pub use sandbox::{Isolation, Program, RunOutput, Sandbox, Termination};

use crate::{Outcome, Reason, Reference, Verdict, Verifier, VerifyError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The tests a program must pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodeTests {
    /// HumanEval style: `prefix + code + "\n" + tests + "\n" + "check(entry_point)"`.
    Assert {
        /// Text placed before the response's code (e.g. HumanEval's prompt).
        #[serde(default)]
        prefix: String,
        /// Test code that defines `check(candidate)`.
        tests: String,
        /// Name of the function under test; must be a Python identifier.
        entry_point: String,
    },
    /// Standard input / output cases.
    Stdio {
        /// The cases, each run as its own process.
        stdio: Vec<StdioCase>,
    },
}

/// One stdin/stdout test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdioCase {
    /// What the program reads on stdin.
    pub input: String,
    /// What it must print.
    pub output: String,
}

/// Resource limits of one sandboxed program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock limit per program, in milliseconds, after which the whole process tree is
    /// killed. Default 5000.
    pub timeout_ms: u64,
    /// CPU-time limit (`RLIMIT_CPU`), in seconds; SIGXCPU at the limit, SIGKILL one second
    /// later. Default 5.
    pub cpu_time_s: u64,
    /// Address-space limit (`RLIMIT_AS`) per process, in bytes. Default 2 GiB.
    pub memory_bytes: u64,
    /// Largest file the program may write (`RLIMIT_FSIZE`), in bytes. Default 16 MiB.
    pub file_size_bytes: u64,
    /// Size cap of the run's working directory, in bytes: a tmpfs of this size under
    /// [`Isolation::Namespaces`]; not enforced under [`Isolation::Rlimits`], where only
    /// `file_size_bytes` bounds each file. Default 64 MiB.
    pub disk_bytes: u64,
    /// Open file descriptors per process (`RLIMIT_NOFILE`). Default 64.
    pub open_files: u64,
    /// Processes and threads of the run's uid (`RLIMIT_NPROC`); enforced only when the
    /// verifier runs as root and can give each run its own uid. Default 32.
    pub processes: u64,
    /// Cap on captured stdout and on captured stderr, each, in bytes; beyond it the tree is
    /// killed and the verdict is a sandbox error. Default 8 MiB.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 5000,
            cpu_time_s: 5,
            memory_bytes: 2 << 30,
            file_size_bytes: 16 << 20,
            disk_bytes: 64 << 20,
            open_files: 64,
            processes: 32,
            output_bytes: 8 << 20,
        }
    }
}

impl Limits {
    /// The wall-clock limit as a [`Duration`].
    pub fn wall_time(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// Configuration of [`CodeVerifier`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeConfig {
    /// The Python interpreter, as an absolute path. Default `None`: the first `python3` on
    /// `PATH` (resolved through `sys.executable`, so pyenv shims work) that runs inside the
    /// sandbox, then `/usr/bin/python3`. An interpreter under a directory the sandbox uid
    /// cannot enter (e.g. pyenv in a `0700` `/root`) does not run there and is skipped.
    pub python: Option<PathBuf>,
    /// The weakest isolation level accepted; the strongest available level is used. Default
    /// [`Isolation::Namespaces`].
    pub min_isolation: Isolation,
    /// The strongest isolation level tried (set it to [`Isolation::Rlimits`] to trade the
    /// namespaces' protection for start-up speed). Default [`Isolation::Namespaces`].
    pub max_isolation: Isolation,
    /// Per-program resource limits.
    pub limits: Limits,
    /// Programs in flight at once (the worker pool's size). Default 0: one per core.
    pub workers: u32,
    /// Reward stdin/stdout tests with the fraction of cases passed instead of all-or-nothing
    /// (assert-style tests stay all-or-nothing). Default false.
    pub partial_credit: bool,
    /// Start of the range of per-run uids used when running as root: each run slot claims a
    /// free uid from `uid_base` upward (claims are `flock`s, so verifiers in other processes
    /// never share one) and runs as that uid and gid. Pick a range no account or container
    /// uses: every process of a claimed uid is killed after each run. Default 1879048192
    /// (0x7000_0000).
    pub uid_base: u32,
    /// Where run directories are created. Default `None`: the system temp dir.
    pub tmp_dir: Option<PathBuf>,
}

impl Default for CodeConfig {
    fn default() -> Self {
        CodeConfig {
            python: None,
            min_isolation: Isolation::Namespaces,
            max_isolation: Isolation::Namespaces,
            limits: Limits::default(),
            workers: 0,
            partial_credit: false,
            uid_base: 0x7000_0000,
            tmp_dir: None,
        }
    }
}

/// Occurs when a [`CodeConfig`] is inconsistent; carries the field and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Occurs when a limit is zero (it would forbid every program).
    #[error("code config: `limits.{field}` must be positive, got 0")]
    ZeroLimit {
        /// The offending field.
        field: &'static str,
    },
    /// Occurs when `min_isolation` is stronger than `max_isolation`.
    #[error("code config: `min_isolation` ({min}) is stronger than `max_isolation` ({max})")]
    IsolationRange {
        /// The configured minimum.
        min: Isolation,
        /// The configured maximum.
        max: Isolation,
    },
    /// Occurs when `python` is not an absolute path (the sandbox has no `PATH`).
    #[error("code config: `python` must be an absolute path, got {0:?}")]
    RelativePython(PathBuf),
}

impl CodeConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        for (field, value) in [
            ("timeout_ms", l.timeout_ms),
            ("cpu_time_s", l.cpu_time_s),
            ("memory_bytes", l.memory_bytes),
            ("file_size_bytes", l.file_size_bytes),
            ("disk_bytes", l.disk_bytes),
            ("open_files", l.open_files),
            ("processes", l.processes),
            ("output_bytes", l.output_bytes as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroLimit { field });
            }
        }
        if self.min_isolation > self.max_isolation {
            return Err(ConfigError::IsolationRange {
                min: self.min_isolation,
                max: self.max_isolation,
            });
        }
        if let Some(p) = &self.python
            && !p.is_absolute()
        {
            return Err(ConfigError::RelativePython(p.clone()));
        }
        Ok(())
    }
}

/// Python flags for every sandboxed run: isolated mode (no user site, no environment
/// variables, no script directory on `sys.path`), no bytecode files.
const PYTHON_FLAGS: [&str; 2] = ["-I", "-B"];
/// Name of the program file inside the run directory.
const PROGRAM_FILE: &str = "main.py";
/// The last line of every assert-style program: prints the nonce it gets on stdin.
const ECHO_NONCE: &str =
    "import sys as _xrpo_sys; _xrpo_sys.stdout.write('\\n' + _xrpo_sys.stdin.read())";

/// A fresh unpredictable token (128 bits from the std hasher's random keys).
fn nonce() -> String {
    use std::hash::{BuildHasher, Hasher};
    let draw = || {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    };
    format!("xrpo-check-done-{:016x}{:016x}", draw(), draw())
}

/// Bytes of stderr quoted in a verdict's detail.
const STDERR_TAIL: usize = 600;

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
        config
            .validate()
            .map_err(|e| VerifyError::SandboxUnavailable(e.to_string()))?;
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
                let limits = config.limits.clone();
                match Sandbox::new(level, limits, workers, config.uid_base, tmp.clone(), &probe) {
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
                // The last line echoes a per-run nonce from stdin: a program that exits early
                // with status 0 (`sys.exit(0)`, `os._exit(0)`) never prints it and fails, as
                // it does under HumanEval's own harness. The nonce is not in the source file.
                let nonce = nonce();
                let source =
                    format!("{prefix}{code}\n{tests}\ncheck({entry_point})\n{ECHO_NONCE}\n");
                let out = self.run_python(&source, &nonce)?;
                let (mut reason, mut detail) = classify(&out, &self.config.limits, None);
                if reason == Reason::Passed
                    && !String::from_utf8_lossy(&out.stdout)
                        .trim_end()
                        .ends_with(&nonce)
                {
                    reason = Reason::WrongAnswer;
                    detail = "the program exited with status 0 before `check` returned".into();
                }
                Ok(verdict(
                    if reason == Reason::Passed { 1.0 } else { 0.0 },
                    reason,
                    detail,
                ))
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
                    let (reason, detail) = classify(&out, &self.config.limits, Some(&case.output));
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

/// Maps a run to a reason and a human detail. `expected` is the stdout a stdio case wants.
fn classify(out: &RunOutput, limits: &Limits, expected: Option<&str>) -> (Reason, String) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last_line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let tail = {
        let t = stderr.trim_end();
        let mut start = t.len().saturating_sub(STDERR_TAIL);
        while !t.is_char_boundary(start) {
            start += 1;
        }
        &t[start..]
    };
    let with_tail = |what: String| {
        if tail.is_empty() {
            what
        } else {
            format!("{what}; stderr: {tail}")
        }
    };
    let cpu_limit = Duration::from_secs(limits.cpu_time_s);
    match out.termination {
        Termination::WallTimeout => (
            Reason::Timeout,
            format!("wall-clock limit of {} ms exceeded", limits.timeout_ms),
        ),
        Termination::OutputLimit => (
            Reason::SandboxError,
            format!("output exceeded the cap of {} bytes", limits.output_bytes),
        ),
        Termination::Signaled(sig)
            if sig == libc_sig::XCPU || (sig == libc_sig::KILL && out.cpu >= cpu_limit) =>
        {
            (
                Reason::Timeout,
                format!("CPU-time limit of {} s exceeded", limits.cpu_time_s),
            )
        }
        Termination::Signaled(sig) if sig == libc_sig::XFSZ => (
            Reason::SandboxError,
            format!(
                "file-size limit of {} bytes exceeded",
                limits.file_size_bytes
            ),
        ),
        Termination::Signaled(sig) if last_line.starts_with("MemoryError") => (
            Reason::MemoryLimit,
            with_tail(format!("killed by signal {sig} out of memory")),
        ),
        Termination::Signaled(sig) => (
            Reason::RuntimeError,
            with_tail(format!("killed by signal {sig}")),
        ),
        Termination::Exited(0) => match expected {
            None => (Reason::Passed, "all tests passed".into()),
            Some(want) => {
                let got = String::from_utf8_lossy(&out.stdout);
                if outputs_match(&got, want) {
                    (Reason::Passed, "output matches".into())
                } else {
                    (
                        Reason::WrongAnswer,
                        format!("expected {:?}, got {:?}", clip(want), clip(&got)),
                    )
                }
            }
        },
        Termination::Exited(code) => {
            let reason = if ["SyntaxError", "IndentationError", "TabError"]
                .iter()
                .any(|p| last_line.starts_with(p))
            {
                Reason::SyntaxError
            } else if last_line.starts_with("MemoryError") {
                Reason::MemoryLimit
            } else if last_line.starts_with("AssertionError") && expected.is_none() {
                Reason::WrongAnswer
            } else {
                Reason::RuntimeError
            };
            (reason, with_tail(format!("exit status {code}")))
        }
    }
}

/// Signal numbers used in classification (Linux values).
mod libc_sig {
    pub const KILL: i32 = 9;
    pub const XCPU: i32 = 24;
    pub const XFSZ: i32 = 25;
}

fn clip(s: &str) -> &str {
    const MAX: usize = 200;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Whether `s` is a Python identifier (ASCII subset plus any non-ASCII letters, which
/// Python allows; the program would fail to parse otherwise).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// The code in a response: the body of the last fenced block tagged `python`, `py` or
/// `python3` (case-insensitive; a last fence left open runs to the end of the response),
/// else the whole response.
pub fn extract_code(response: &str) -> &str {
    let mut found: Option<&str> = None;
    let mut rest = response;
    let mut offset = 0;
    while let Some(i) = rest.find("```") {
        let open = offset + i;
        let after_ticks = &response[open + 3..];
        let line_end = after_ticks.find('\n');
        let tag = after_ticks[..line_end.unwrap_or(after_ticks.len())].trim();
        let Some(nl) = line_end else { break };
        let body_start = open + 3 + nl + 1;
        let body = &response[body_start..];
        let (content, next) = match body.find("```") {
            // The closing fence must start a line (ignoring indentation) or end the body.
            Some(j) => (&body[..j], body_start + j + 3),
            None => (body, response.len()),
        };
        if ["python", "py", "python3"]
            .iter()
            .any(|t| tag.eq_ignore_ascii_case(t))
        {
            found = Some(content);
        }
        offset = next;
        rest = &response[next..];
    }
    found.unwrap_or(response)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_last_python_block() {
        let r = "text\n```python\na = 1\n```\nmore\n```py\nb = 2\n```\n```text\nnope\n```\n";
        assert_eq!(extract_code(r), "b = 2\n");
        assert_eq!(extract_code("print(1)"), "print(1)");
        assert_eq!(extract_code("```bash\nls\n```"), "```bash\nls\n```");
        assert_eq!(extract_code("x\n```Python3\nopen = 1\n"), "open = 1\n");
        assert_eq!(extract_code("```python"), "```python");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("has_close_elements"));
        assert!(is_identifier("_f1"));
        assert!(!is_identifier("1f"));
        assert!(!is_identifier("f); import os; (g"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn default_config_validates_and_zero_limits_do_not() {
        assert_eq!(CodeConfig::default().validate(), Ok(()));
        let mut c = CodeConfig::default();
        c.limits.open_files = 0;
        assert_eq!(
            c.validate(),
            Err(ConfigError::ZeroLimit {
                field: "open_files"
            })
        );
        c = CodeConfig {
            python: Some("python3".into()),
            ..CodeConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::RelativePython(_))));
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let err = serde_json::from_str::<CodeConfig>(r#"{"limits": {"timeout": 3}}"#);
        assert!(err.is_err());
        let ok: CodeConfig = serde_json::from_str(r#"{"limits": {"timeout_ms": 3}}"#).unwrap();
        assert_eq!(ok.limits.timeout_ms, 3);
        assert_eq!(ok.limits.cpu_time_s, Limits::default().cpu_time_s);
    }
}
