//! Text clean-up before parsing: LaTeX spacing, `\left`/`\right`, units and words,
//! thousand separators, degrees, percent words, trailing punctuation.
//!
//! Normalisation only rewrites the *extracted answer*, never the whole response (except
//! [`collapse_escaped_commands`], which undoes doubled backslashes such as `\\frac` that
//! JSON- or Python-escaped text leaves behind).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// `14{,}916` and `14 {, }916`: a braced comma between digits is a thousand separator.
static BRACED_COMMA: LazyLock<Regex> =
    // Invariant: fixed, valid pattern.
    LazyLock::new(|| Regex::new(r"(\d)\s*\{,\s*\}\s*(\d)").expect("valid pattern"));

/// Rewrites the LaTeX spacing commands `\!`, `\,`, `\;`, `\:`, `\ ` (but not the line
/// break `\\`).
fn strip_spacing(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.peek().copied() {
            Some('\\') => {
                out.push_str("\\\\");
                it.next();
            }
            Some('!') => {
                it.next();
            }
            Some(',' | ';' | ':' | ' ') => {
                out.push(' ');
                it.next();
            }
            _ => out.push(c),
        }
    }
    out
}

/// Commands that a doubled backslash (`\\frac`) may hide; `\\` followed by anything else is
/// a LaTeX line break and stays.
const ESCAPED_COMMANDS: &[&str] = &[
    "boxed", "fbox", "frac", "dfrac", "tfrac", "cfrac", "sqrt", "left", "right", "text", "le",
    "leq", "ge", "geq", "pi", "cdot", "times", "infty", "in", "pm", "mathrm", "mathbf", "begin",
    "end", "cup", "neq", "ne", "lt", "gt", "textbf", "mbox",
];

/// Rewrites `\\cmd` to `\cmd` for the commands in a fixed list (escaping artefacts).
pub fn collapse_escaped_commands(text: &str) -> Cow<'_, str> {
    if memchr::memmem::find(text.as_bytes(), b"\\\\").is_none() {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut last = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'\\' && bytes[i + 1] == b'\\' {
            let start = i + 2;
            let mut j = start;
            while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
                j += 1;
            }
            if j > start && ESCAPED_COMMANDS.contains(&&text[start..j]) {
                out.push_str(&text[last..i]);
                last = i + 1;
                i = j;
                continue;
            }
            i += 2;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

/// Replaces every occurrence of each `(from, to)` pair, in order.
fn replace_all(mut s: String, pairs: &[(&str, &str)]) -> String {
    for (from, to) in pairs {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    s
}

/// Removes `\cmd` where it is followed by a non-letter (so `\left` does not eat `\leftarrow`).
fn remove_command(s: &str, cmd: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(cmd) {
        let after = &rest[pos + cmd.len()..];
        out.push_str(&rest[..pos]);
        if after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        {
            out.push_str(cmd);
        } else if let Some(stripped) = after.strip_prefix('.') {
            // `\left.` / `\right.` are invisible delimiters.
            rest = stripped;
            continue;
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Removes thousand separators written as `{,}` or `,\!`, and plain `1,234,567` when the
/// answer holds no brackets (where a comma could separate elements).
fn strip_thousands(s: String) -> String {
    let s = if s.contains('{') {
        BRACED_COMMA.replace_all(&s, "$1$2").into_owned()
    } else {
        s
    };
    // `11,\! 111` → `11111`.
    let mut out = String::with_capacity(s.len());
    let mut rest = s.as_str();
    while let Some(pos) = rest.find(",\\!") {
        out.push_str(&rest[..pos]);
        let after = rest[pos + 3..].trim_start();
        if after.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            rest = after;
        } else {
            out.push(',');
            rest = &rest[pos + 1..];
        }
    }
    out.push_str(rest);
    let s = out;
    if s.contains(['(', '[', '{', '}', ')', ']', ';']) || !s.contains(',') {
        return s;
    }
    // Every comma must sit in `d,ddd` with exactly three digits after it and the leading
    // group 1-3 digits not starting with 0.
    let b = s.as_bytes();
    let commas: Vec<usize> = (0..b.len()).filter(|&i| b[i] == b',').collect();
    let all_thousands = commas.iter().all(|&i| {
        let before_digit = i > 0 && b[i - 1].is_ascii_digit();
        let three_after = i + 3 < b.len() + 1
            && b.get(i + 1..i + 4)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && !b.get(i + 4).is_some_and(u8::is_ascii_digit);
        if !(before_digit && three_after) {
            return false;
        }
        // The group before the comma: digits back to a non-digit or another comma.
        let mut j = i;
        while j > 0 && b[j - 1].is_ascii_digit() {
            j -= 1;
        }
        let group = i - j;
        let first_group = j == 0 || b[j - 1] != b',';
        if first_group {
            (1..=3).contains(&group) && b[j] != b'0'
        } else {
            group == 3
        }
    });
    if all_thousands { s.replace(',', "") } else { s }
}

/// Normalises an extracted LaTeX answer for the parser.
pub fn normalize_latex(raw: &str) -> String {
    let mut s = raw.trim().to_string();
    s = replace_all(
        s,
        &[
            ("\\dfrac", "\\frac"),
            ("\\tfrac", "\\frac"),
            ("\\cfrac", "\\frac"),
            ("\\dbinom", "\\binom"),
            ("\\tbinom", "\\binom"),
            ("\\displaystyle", " "),
            ("\\qquad", " "),
            ("\\quad", " "),
            ("^{\\circ}", ""),
            ("^\\circ", ""),
            ("\\circ", ""),
            ("°", ""),
            ("\\degree", ""),
            ("\\%", "%"),
            ("\\$", " "),
            ("$", " "),
            ("\\lvert", "|"),
            ("\\rvert", "|"),
            ("\\vert", "|"),
            ("\\mid", "|"),
            ("\\lbrace", "\\{"),
            ("\\rbrace", "\\}"),
            ("\\leqslant", "\\le"),
            ("\\geqslant", "\\ge"),
            ("\\dots", "…"),
            ("\\ldots", "…"),
            ("\\cdots", "…"),
            ("≤", "\\le "),
            ("≥", "\\ge "),
            ("≠", "\\ne "),
            ("∞", "\\infty "),
            ("π", "\\pi "),
            ("√", "\\sqrt "),
            ("×", "\\times "),
            ("÷", "\\div "),
            ("·", "\\cdot "),
            ("−", "-"),
            ("\u{c}", "\\f"),
        ],
    );
    s = strip_thousands(s);
    s = strip_spacing(&s).replace('~', " ");
    for cmd in [
        "\\left", "\\right", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\big", "\\Big", "\\limits",
    ] {
        if s.contains(cmd) {
            s = remove_command(&s, cmd);
        }
    }
    s = connectors_to_commas(&s);
    s = strip_units(&s);
    s = percent_words(&s);
    s = approx_rule(&s);
    s = mixed_number(trim_punctuation(&s));
    trim_punctuation(&s).to_string()
}

/// `\text{ and }`, `\text{or}`, ` and `, ` or ` separate answers: make them commas.
fn connectors_to_commas(s: &str) -> String {
    let mut out = s.to_string();
    for cmd in ["\\text", "\\textnormal", "\\mbox", "\\textrm"] {
        for word in ["and", "or"] {
            while let Some((start, end)) = find_text_word(&out, cmd, word) {
                out.replace_range(start..end, ",");
            }
        }
    }
    for word in [" and ", " or "] {
        if out.contains(word) {
            out = out.replace(word, ",");
        }
    }
    // `19, 46, and 82`: the Oxford comma leaves an empty item.
    while let Some(pos) = find_double_comma(&out) {
        out.replace_range(pos.0..pos.1, ",");
    }
    // `(11,7)or(7,11)`: "or"/"and" glued between closing and opening brackets.
    for (from, to) in [(")or(", "),("), (")and(", "),(")] {
        if out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out
}

/// Byte range of `,` + spaces + `,`.
fn find_double_comma(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let first = b.iter().position(|&c| c == b',')?;
    let mut from = first;
    loop {
        let mut j = from + 1;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        if j < b.len() && b[j] == b',' {
            return Some((from, j + 1));
        }
        from = from + 1 + b[from + 1..].iter().position(|&c| c == b',')?;
    }
}

/// Finds `\text{ word }` (any spacing inside the braces) and returns its byte range.
fn find_text_word(s: &str, cmd: &str, word: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(rel) = s[from..].find(cmd) {
        let start = from + rel;
        let after = &s[start + cmd.len()..];
        if let Some(inner) = after.strip_prefix('{')
            && let Some(close) = inner.find('}')
            && inner[..close].trim() == word
        {
            return Some((start, start + cmd.len() + 1 + close + 1));
        }
        from = start + cmd.len();
    }
    None
}

/// Unit and counting words that may trail a numeric answer (`64 square feet`, `5 cm`,
/// `40 dollars`); they are dropped, as the graders of MATH and GSM8K do (Hendrycks'
/// `math_equivalence` strips `\text{ units}`, lm-evaluation-harness' `minerva_math`
/// removes a fixed list of such words).
const UNIT_WORDS: &[&str] = &[
    "square",
    "cubic",
    "sq",
    "feet",
    "foot",
    "ft",
    "inches",
    "inch",
    "yards",
    "yard",
    "miles",
    "mile",
    "mph",
    "cm",
    "mm",
    "km",
    "meters",
    "meter",
    "metres",
    "metre",
    "kilometers",
    "kilometres",
    "kg",
    "grams",
    "gram",
    "kilograms",
    "pounds",
    "pound",
    "lbs",
    "lb",
    "ounces",
    "oz",
    "dollars",
    "dollar",
    "usd",
    "cents",
    "cent",
    "euros",
    "hours",
    "hour",
    "hrs",
    "minutes",
    "minute",
    "mins",
    "min",
    "seconds",
    "days",
    "day",
    "weeks",
    "week",
    "months",
    "month",
    "years",
    "year",
    "degrees",
    "degree",
    "units",
    "unit",
    "points",
    "students",
    "people",
    "ways",
    "liters",
    "litres",
    "liter",
    "gallons",
    "gallon",
    "mL",
    "ml",
    "per",
    "cups",
    "apples",
    "items",
    "times",
    "integers",
    "digits",
    "edges",
    "meals",
    "multiples",
    "sides",
    "tickets",
];

/// Whether `word` (lower case) is one of the unit words a numeric answer may carry.
pub(crate) fn is_unit_word(word: &str) -> bool {
    UNIT_WORDS.contains(&word)
}

/// Drops trailing units: `\text{ cm}^2`, `\mbox{ dollars}`, `\mathrm{cm}`, and plain unit
/// words, when they follow a number or a closed group (so `\text{Evelyn}` alone stays).
fn strip_units(s: &str) -> String {
    let mut out = s.trim_end().to_string();
    loop {
        let before = out.len();
        // `^2`, `^{3}` after a unit.
        let t = out.trim_end();
        let body_end = t
            .strip_suffix("^2")
            .or_else(|| t.strip_suffix("^3"))
            .or_else(|| t.strip_suffix("^{2}"))
            .or_else(|| t.strip_suffix("^{3}"))
            .unwrap_or(t);
        // A trailing `\text{…}` group of letters.
        if let Some(head) = body_end.strip_suffix('}')
            && let Some(open) = head.rfind('{')
        {
            let inner = &head[open + 1..];
            let cmd_start = head[..open].trim_end();
            let is_text_cmd = ["\\text", "\\mbox", "\\mathrm", "\\textrm", "\\textnormal"]
                .iter()
                .find(|c| cmd_start.ends_with(*c));
            if let Some(cmd) = is_text_cmd {
                let rest = cmd_start[..cmd_start.len() - cmd.len()].trim_end();
                let words_only = !inner.trim().is_empty()
                    && inner
                        .chars()
                        .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '.' || c == '/');
                // `\mathrm{cm}` must be a unit; `\text{ apples}` after a number is any word.
                let unit_ok = if *cmd == "\\mathrm" {
                    inner
                        .split_whitespace()
                        .all(|w| is_unit_word(&w.to_ascii_lowercase()))
                } else {
                    words_only
                };
                if unit_ok && ends_with_value(rest) {
                    out = rest.to_string();
                    continue;
                }
            }
        }
        // Plain unit words.
        let t = body_end.trim_end();
        let word_start = t
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphabetic())
            .last()
            .map(|(i, _)| i);
        if let Some(ws) = word_start {
            let word = t[ws..].to_ascii_lowercase();
            let rest = t[..ws].trim_end();
            if is_unit_word(&word) && rest.len() < t[..ws].len() && ends_with_value(rest) {
                out = rest.to_string();
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// Whether `s` ends like a value a unit can follow: a digit, `}` or `)`, or a unit word.
fn ends_with_value(s: &str) -> bool {
    let t = s.trim_end();
    if t.ends_with(|c: char| c.is_ascii_digit() || c == '}' || c == ')' || c == '%') {
        return true;
    }
    let word: String = t
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    !word.is_empty() && is_unit_word(&word.to_ascii_lowercase()) && t.len() > word.len()
}

/// `28 percent`, `28 pct`, `28 percentage` → `28%`.
fn percent_words(s: &str) -> String {
    let mut out = s.to_string();
    for word in ["percentage", "percent", "pct"] {
        let trimmed = out.trim_end();
        if let Some(head) = trimmed.strip_suffix(word)
            && head
                .trim_end()
                .chars()
                .last()
                .is_some_and(|c| c.is_ascii_digit() || c == '}')
        {
            out = format!("{}%", head.trim_end());
            break;
        }
    }
    out
}

/// A whole answer `2 1/4` (plain-text mixed number) → `2\frac{1}{4}`, which the parser
/// reads as 2 + 1/4.
fn mixed_number(s: &str) -> String {
    let t = s.trim();
    let (whole, rest) = match t.split_once(' ') {
        Some(x) => x,
        None => return t.to_string(),
    };
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let w = whole.strip_prefix('-').unwrap_or(whole);
    if let Some((n, d)) = rest.trim().split_once('/')
        && digits(w)
        && digits(n)
        && digits(d)
    {
        return format!("{whole}\\frac{{{n}}}{{{d}}}");
    }
    t.to_string()
}

/// `x = 1/3 \approx 0.33`: the exact value before `\approx` is the answer; a lone
/// `x \approx 11` reads as `x = 11`.
fn approx_rule(s: &str) -> String {
    match s.find("\\approx") {
        Some(pos) if s[..pos].contains('=') => s[..pos].to_string(),
        Some(_) => s.replace("\\approx", "="),
        None => s.to_string(),
    }
}

/// Strips surrounding whitespace and trailing sentence punctuation.
pub fn trim_punctuation(s: &str) -> &str {
    let mut t = s.trim();
    loop {
        let before = t.len();
        t = t
            .trim_end_matches(['.', ',', ';', ' ', '\n', '\t', '\r'])
            .trim();
        if let Some(x) = t.strip_suffix("\\\\") {
            t = x;
        }
        if t.len() == before {
            break;
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_and_spacing() {
        assert_eq!(normalize_latex("14{,}916"), "14916");
        assert_eq!(normalize_latex("11,\\! 111,\\! 111,\\! 100"), "11111111100");
        assert_eq!(normalize_latex("7,425,000"), "7425000");
        assert_eq!(normalize_latex("32, 349"), "32, 349");
        assert_eq!(normalize_latex("(1,000)"), "(1,000)");
        assert_eq!(
            normalize_latex("\\left( \\frac{1}{3} \\right)."),
            "( \\frac{1}{3} )"
        );
    }

    #[test]
    fn words_and_relations() {
        assert_eq!(normalize_latex("6 \\text{ and } 8"), "6 , 8");
        assert_eq!(normalize_latex("28 pct"), "28%");
        assert_eq!(normalize_latex("x=1/3\\approx1.3"), "x=1/3");
        assert_eq!(normalize_latex("x\\approx11"), "x=11");
        assert_eq!(
            collapse_escaped_commands("\\\\frac{1}{2} \\\\ 3"),
            "\\frac{1}{2} \\\\ 3"
        );
    }
}
