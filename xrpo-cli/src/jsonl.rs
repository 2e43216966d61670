//! Shared plumbing for the JSON-lines subcommands: read numbered lines, report errors
//! that name the line.
//!
//! A line that is not valid UTF-8 is a bad line like any other (an error for that line
//! only); only a failure to read the input at all ends the batch.

use std::io::{self, BufRead, Write};

/// One non-blank input line: its 1-based number and its text, or why it is unreadable.
pub struct Line {
    /// 1-based line number in the input (blank lines count).
    pub number: usize,
    /// The line without its `\n` / `\r\n` ending, or an error message when it is not
    /// valid UTF-8.
    pub text: Result<String, String>,
}

/// Reads the next non-blank line of `input`, counting lines in `number` (1-based, blank
/// lines count). Invalid UTF-8 becomes an `Err` text for that line; an I/O error (the
/// input cannot be read) is returned as such. `None` at the end of the input.
pub fn next_line<R: BufRead>(input: &mut R, number: &mut usize) -> io::Result<Option<Line>> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            return Ok(None);
        }
        *number += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let text = match String::from_utf8(buf) {
            Ok(s) if s.trim().is_empty() => {
                buf = s.into_bytes();
                continue;
            }
            Ok(s) => Ok(s),
            Err(e) => Err(format!(
                "line is not valid UTF-8 (invalid byte at column {})",
                e.utf8_error().valid_up_to() + 1
            )),
        };
        return Ok(Some(Line {
            number: *number,
            text,
        }));
    }
}

/// Reads every non-blank line of `input` (see [`next_line`]).
pub fn read_lines<R: BufRead>(mut input: R) -> io::Result<Vec<Line>> {
    let mut lines = Vec::new();
    let mut number = 0;
    while let Some(line) = next_line(&mut input, &mut number)? {
        lines.push(line);
    }
    Ok(lines)
}

/// Writes the outcome of one line: the value as a JSON line, or, for an error, the
/// message to stderr as `line N: …` and `{"error": …, "line": N}` to `out`, so the output
/// keeps one line per input line. Returns whether the line failed.
pub fn write_result<W: Write>(
    out: &mut W,
    line_no: usize,
    result: Result<serde_json::Value, String>,
) -> io::Result<bool> {
    match result {
        Ok(value) => {
            writeln!(out, "{value}")?;
            Ok(false)
        }
        Err(msg) => {
            eprintln!("line {line_no}: {msg}");
            writeln!(
                out,
                "{}",
                serde_json::json!({ "error": msg, "line": line_no })
            )?;
            Ok(true)
        }
    }
}

/// Reads `input` line by line (1-based numbers), skipping blank lines, and calls `f` on
/// each readable line. `f` returns the JSON value to print, or an error message that
/// names the field. Each line's outcome is written with [`write_result`]. Returns
/// whether any line failed.
pub fn for_each_line<R: BufRead, W: Write>(
    mut input: R,
    mut out: W,
    mut f: impl FnMut(&str) -> Result<serde_json::Value, String>,
) -> io::Result<bool> {
    let mut failed = false;
    let mut number = 0;
    // Streams: each line's answer is written before the next line is read.
    while let Some(line) = next_line(&mut input, &mut number)? {
        let result = line.text.and_then(|text| f(&text));
        failed |= write_result(&mut out, line.number, result)?;
    }
    out.flush()?;
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_an_error_for_its_line_only() {
        let input: &[u8] = b"{\"a\": 1}\n\xff\xfe bad\n\n{\"a\": 2}\r\n";
        let lines = read_lines(input).unwrap();
        let numbers: Vec<usize> = lines.iter().map(|l| l.number).collect();
        assert_eq!(numbers, [1, 2, 4]);
        assert_eq!(lines[0].text.as_deref(), Ok("{\"a\": 1}"));
        assert!(lines[1].text.as_ref().unwrap_err().contains("UTF-8"));
        assert_eq!(lines[2].text.as_deref(), Ok("{\"a\": 2}"));

        let mut out = Vec::new();
        let mut seen = Vec::new();
        let failed = for_each_line(input, &mut out, |l| {
            seen.push(l.to_owned());
            Ok(serde_json::json!(l.len()))
        })
        .unwrap();
        assert!(failed);
        assert_eq!(seen, ["{\"a\": 1}", "{\"a\": 2}"]);
        let out = String::from_utf8(out).unwrap();
        let out: Vec<&str> = out.lines().collect();
        assert_eq!(out.len(), 3);
        assert!(
            out[1].contains("\"line\":2") && out[1].contains("UTF-8"),
            "{out:?}"
        );
    }
}
