//! Extraction: the code in a response, and checks on reference fields.

/// Whether `s` is a Python identifier (ASCII subset plus any non-ASCII letters, which
/// Python allows; the program would fail to parse otherwise).
pub(super) fn is_identifier(s: &str) -> bool {
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
}
