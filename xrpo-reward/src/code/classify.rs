//! Classification: how a finished run maps to a [`Reason`] and a human detail.

use super::{Limits, RunOutput, Termination, outputs_match};
use crate::Reason;
use std::time::Duration;

/// Bytes of stderr quoted in a verdict's detail.
const STDERR_TAIL: usize = 600;

/// Maps a run to a reason and a human detail. `expected` is the stdout a stdio case wants.
pub(super) fn classify(
    out: &RunOutput,
    limits: &Limits,
    expected: Option<&str>,
) -> (Reason, String) {
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
