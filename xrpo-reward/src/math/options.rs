//! Multiple-choice answers: which option letter a response picks (`\boxed{B}`, `(B)`,
//! `\textbf{(B)}`, `Answer: B`, a last line `B.`), and the text listed for an option in
//! the response (`(B) 15`), for golds written as the option's text.
//!
//! A gold that is one capital letter `A`–`J` in any option form (`B`, `(B)`,
//! `\text{(B)}`, `\textbf{(B)}`, `B.`) is an option letter: AQuA, MMLU-style sets and the
//! AMC problems of MATH store their answers this way.

use std::sync::LazyLock;

use regex::Regex;

use super::extract::{find_boxes, rightmost_matches};

/// The option letter `s` is written as, if it is one: `B`, `(B)`, `B.`, `B)`, `**B**`,
/// `$B$`, `\text{(B)}`, `\textbf{(B) }`, `\mathrm{B}`. Only capital `A`–`J`.
pub fn option_letter(s: &str) -> Option<char> {
    let mut t = s.trim().to_string();
    for cmd in ["\\textbf", "\\text", "\\mathrm", "\\mathbf", "\\mbox"] {
        t = t.replace(cmd, "");
    }
    let core: String = t
        .chars()
        .filter(|c| {
            !matches!(
                c,
                '{' | '}' | '(' | ')' | '$' | '*' | ' ' | '\\' | '[' | ']'
            )
        })
        .collect();
    let core = core.trim_end_matches(['.', ':', ',']);
    let mut chars = core.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if ('A'..='J').contains(&c) => Some(c),
        _ => None,
    }
}

/// `answer is (B)`, `Answer: B`, `correct option is **C**`, `choice (D)`.
static ANCHORED: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: fixed, valid pattern.
    Regex::new(concat!(
        r"(?i:answer|option|choice)(?:\s+is)?\s*[:：]?\s*(?:\*\*)?\s*\$?\s*",
        r"(?:\\textbf\{|\\text\{|\\mathrm\{)?\s*\(?(?P<l>[A-J])\)?",
        r"(?:[^A-Za-z0-9]|$)"
    ))
    .expect("valid pattern")
});

/// A line that is only an option: `(B)`, `**B**`, `B.`, `B)`.
static BARE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: fixed, valid pattern.
    Regex::new(r"(?m)^[ \t]*(?:\*\*|\$)?\(?(?P<l>[A-J])\)?(?:\*\*|\$)?[.)]?[ \t]*$")
        .expect("valid pattern")
});

/// `(C)` followed by a non-letter.
static PAREN_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: fixed, valid pattern.
    Regex::new(r"\((?P<l>[A-J])\)(?:[^A-Za-z0-9]|$)").expect("valid pattern")
});

/// `\textbf{(B)}` / `\textbf{(B) }15` as AMC solutions write the chosen option.
static BOLD_OPTION: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: fixed, valid pattern.
    Regex::new(r"\\textbf\{\s*\((?P<l>[A-J])\)").expect("valid pattern")
});

/// What a response chose.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// An option letter.
    Letter(char),
    /// A boxed answer that is not a letter (compared with the option's text).
    Boxed(String),
}

/// The option a response picks: the last boxed answer, else the last anchored letter
/// (`answer is (B)`), else the last `\textbf{(B)}`, else a last bare line `B.`.
pub fn chosen_option(response: &str) -> Option<Choice> {
    if response.len() <= 64
        && let Some(l) = option_letter(response)
    {
        return Some(Choice::Letter(l));
    }
    if let Some(b) = find_boxes(response).last() {
        return Some(match option_letter(b.2) {
            Some(l) => Choice::Letter(l),
            None => Choice::Boxed(b.2.to_string()),
        });
    }
    // The rightmost match only, searched from the end (bounded work on long texts).
    let last = |re: &Regex| {
        let (start, _) = *rightmost_matches(re, response, 1).last()?;
        re.captures_at(response, start)
            .and_then(|c| c.name("l").map(|m| m.as_str().to_string()))
            .and_then(|m| m.chars().next())
    };
    last(&ANCHORED)
        .or_else(|| last(&BOLD_OPTION))
        .or_else(|| {
            let tail = response.trim_end();
            let line = tail.rsplit('\n').next().unwrap_or(tail);
            BARE_LINE
                .captures(line)
                .and_then(|c| c.name("l"))
                .and_then(|m| m.as_str().chars().next())
                // Else the last `(X)` near the end of the last line ("… so (C).").
                .or_else(|| {
                    let mut from = line.len().saturating_sub(300);
                    while !line.is_char_boundary(from) {
                        from += 1;
                    }
                    PAREN_OPTION
                        .captures_iter(&line[from..])
                        .last()
                        .and_then(|c| c.name("l"))
                        .and_then(|m| m.as_str().chars().next())
                })
        })
        .map(Choice::Letter)
}

/// The text listed for option `letter` in `response` (`(B) 15`, `B) 15`, `B. 15` at a
/// line start), up to the next option or the end of the line. The first listing wins (a
/// response restates the options before answering).
pub fn option_text(response: &str, letter: char) -> Option<String> {
    let b = response.as_bytes();
    let l = letter as u8;
    for i in 0..b.len() {
        if b[i] != l {
            continue;
        }
        let prev = i.checked_sub(1).map(|k| b[k]);
        let next = b.get(i + 1).copied();
        let paren = prev == Some(b'(') && next == Some(b')');
        let line_start = prev.is_none_or(|p| p == b'\n' || p == b' ' || p == b'\t')
            && matches!(next, Some(b'.') | Some(b')'))
            && response[..i]
                .rsplit('\n')
                .next()
                .is_some_and(|h| h.trim().is_empty());
        if !(paren || line_start) {
            continue;
        }
        let start = i + 2;
        let rest = response.get(start..)?;
        let mut end = rest.find('\n').unwrap_or(rest.len());
        // Cut at the next `(X)` option on the same line.
        for (k, _) in rest[..end].match_indices('(') {
            let after = &rest.as_bytes()[k + 1..];
            if after.len() >= 2 && after[0].is_ascii_uppercase() && after[1] == b')' {
                end = k;
                break;
            }
        }
        let text = rest[..end].trim().trim_end_matches([',', ';']).trim();
        if !text.is_empty() {
            return Some(text.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_in_their_forms() {
        for s in [
            "B",
            "(B)",
            "B.",
            "B)",
            "**B**",
            "$B$",
            "\\text{(B)}",
            "\\textbf{(B) }",
        ] {
            assert_eq!(option_letter(s), Some('B'), "{s}");
        }
        for s in ["x", "b", "BC", "K", "2", "(1)"] {
            assert_eq!(option_letter(s), None, "{s}");
        }
    }

    #[test]
    fn chosen_and_listed() {
        assert_eq!(
            chosen_option("so the answer is (C)."),
            Some(Choice::Letter('C'))
        );
        assert_eq!(
            chosen_option("Thus $\\textbf{(D) }12$"),
            Some(Choice::Letter('D'))
        );
        assert_eq!(chosen_option("work\nB."), Some(Choice::Letter('B')));
        assert_eq!(chosen_option("I think it is 12"), None);
        let r = "Options: (A) 12 (B) 15 (C) 18\nThe answer is (B).";
        assert_eq!(option_text(r, 'B').as_deref(), Some("15"));
        assert_eq!(option_text("A. 3\nB. 4\nC. 5", 'C').as_deref(), Some("5"));
    }
}
