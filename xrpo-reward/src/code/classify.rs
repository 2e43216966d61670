//! Classification: how a finished run maps to a [`Reason`] and a human detail.

use super::harness::exit;
use super::{Limits, RunOutput, Termination, outputs_match};
use crate::Reason;
use std::time::Duration;

/// Bytes of stderr quoted in a verdict's detail.
const STDERR_TAIL: usize = 600;

/// How a run's success is judged.
#[derive(Debug, Clone, Copy)]
pub(super) enum Judge<'a> {
    /// A stdin/stdout case: exit status 0 and this stdout.
    Stdio(&'a str),
    /// The assert harness: its checker's exit status (see [`exit`]).
    Harness,
}

/// Maps a run to a reason and a human detail. The caller turns [`exit::HARNESS`] into an
/// infrastructure error before calling this, and [`Reason::UnparseableGold`] into an
/// unverifiable verdict.
pub(super) fn classify(out: &RunOutput, limits: &Limits, judge: Judge<'_>) -> (Reason, String) {
    let (reason, detail) = classify_ending(out, limits, judge);
    if out.memory_cap_hit && reason != Reason::Passed && reason != Reason::UnparseableGold {
        return (
            Reason::MemoryLimit,
            format!(
                "the run's memory cap of {} bytes was reached; {detail}",
                limits.run_memory_bytes
            ),
        );
    }
    (reason, detail)
}

fn classify_ending(out: &RunOutput, limits: &Limits, judge: Judge<'_>) -> (Reason, String) {
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
        Termination::Exited(code) => match judge {
            Judge::Harness => {
                let (reason, what) = match code {
                    exit::PASSED => return (Reason::Passed, "all tests passed".into()),
                    exit::FAILED => (Reason::WrongAnswer, "a test failed"),
                    exit::ENDED => (
                        Reason::WrongAnswer,
                        "the program ended before `check` returned",
                    ),
                    exit::SYNTAX => (Reason::SyntaxError, "the code does not parse"),
                    exit::MEMORY => (Reason::MemoryLimit, "out of memory"),
                    exit::CPU => (Reason::Timeout, "the CPU-time limit was exceeded"),
                    exit::BAD_REFERENCE => (Reason::UnparseableGold, "the tests cannot run"),
                    exit::ERROR => (Reason::RuntimeError, "an exception ended the checks"),
                    _ => (Reason::RuntimeError, "the checker ended unexpectedly"),
                };
                (reason, with_tail(format!("{what} (exit status {code})")))
            }
            Judge::Stdio(want) if code == 0 => {
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
            Judge::Stdio(_) => {
                let reason = if ["SyntaxError", "IndentationError", "TabError"]
                    .iter()
                    .any(|p| last_line.starts_with(p))
                {
                    Reason::SyntaxError
                } else if last_line.starts_with("MemoryError") {
                    Reason::MemoryLimit
                } else {
                    Reason::RuntimeError
                };
                (reason, with_tail(format!("exit status {code}")))
            }
        },
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
