//! Shared plumbing for the JSON-lines subcommands: read numbered lines, report errors
//! that name the line.

use std::io::{BufRead, Write};

/// Reads `input` line by line (1-based numbers), skipping blank lines, and calls `f` on
/// each. `f` returns the JSON value to print, or an error message that names the field.
/// Errors go to stderr as `line N: …` and to stdout as `{"error": …, "line": N}` so the
/// output keeps one line per input line. Returns whether any line failed.
pub fn for_each_line<R: BufRead, W: Write>(
    input: R,
    mut out: W,
    mut f: impl FnMut(&str) -> Result<serde_json::Value, String>,
) -> anyhow::Result<bool> {
    let mut failed = false;
    for (i, line) in input.lines().enumerate() {
        let line_no = i + 1;
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match f(&line) {
            Ok(value) => writeln!(out, "{value}")?,
            Err(msg) => {
                failed = true;
                eprintln!("line {line_no}: {msg}");
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({ "error": msg, "line": line_no })
                )?;
            }
        }
    }
    out.flush()?;
    Ok(failed)
}
