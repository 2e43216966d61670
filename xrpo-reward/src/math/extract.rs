//! Finding the final answer in a response: `\boxed{}`, "The final answer is …", "Answer:",
//! `#### …`, the last `$…$` / `\[…\]`, the last number, multiple-choice letters.
//!
//! Every anchor has a priority (see [`MathConfig::boxed_priority`]); candidates are tried
//! by priority, and within one priority from the right (the LAST final answer counts). The
//! first candidate that parses wins; the first candidate of all is kept as a string
//! fallback, compared verbatim when nothing parses.

use std::sync::LazyLock;

use regex::Regex;

use super::ast::Node;
use super::config::{MathConfig, Target};
use super::normalize::{collapse_escaped_commands, normalize_latex, trim_punctuation};
use super::parse::{ParseError, ParseLimits, parse_answer, parse_decimal};

/// One place in a text that may hold the final answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The answer text as found (a boxed content, a `$…$` body, a number).
    pub text: String,
    /// The extraction target that found it.
    pub target: Target,
    /// Its anchor's priority (lower first).
    pub priority: u32,
    /// Byte offset where its match ends in the (tail of the) response.
    pub end: usize,
    /// Whether a percent sign or word follows it.
    pub percent: bool,
}

/// The outcome of extraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The first candidate that parsed: its normalised text and tree.
    pub parsed: Option<(String, Node)>,
    /// The first candidate's normalised text, whether it parsed or not.
    pub fallback: Option<String>,
    /// Whether a candidate was rejected for running past a size cap.
    pub too_large: bool,
}

/// Compiled extraction patterns for one configuration.
#[derive(Debug, Clone)]
pub struct Extractor {
    cfg: MathConfig,
    choice_res: Vec<(Regex, u32)>,
}

/// Most candidates parsed per text; bounds the work on adversarial texts.
const MAX_TRIED: usize = 256;

/// Most matches of one plain-text pattern kept as candidates (the rightmost ones; a number
/// always parses, so the first of them nearly always wins).
const MAX_PER_PATTERN: usize = 16;

const EXPR_OPS: &str = r"\+\-\*×/\^\(\)÷";

static NUMBER: LazyLock<String> = LazyLock::new(|| {
    concat!(
        r"(?:(?P<integer1>[-+]?[1-9]\d{0,2}(?:[ ,]\d{3})+)(?P<decimal1>\.\d+)?|",
        r"(?P<integer2>[-+]?\d+)(?P<decimal2>[.,]\d+)|",
        r"(?P<decimal3>\.\d+)|",
        r"(?P<integer3>[-+]?\d+))",
        // Scientific notation in plain text (`1.5e3`); Math-Verify has no such group.
        r"(?P<exponent>[eE][+\-]?\d{1,4})?",
        r"(?P<percent>\s*(?:%|[Pp]ercent|\s*[Pp]ercentage|\s*[Pp]ct))?"
    )
    .to_string()
});

static EXPR_OR_NUMBER: LazyLock<String> = LazyLock::new(|| {
    let all = format!(r"[\d\.\s{EXPR_OPS}]");
    // Bounded repetitions (Math-Verify uses `*`/`+`): a plain expression is short, and
    // the bound keeps the scan linear on number soup like "1 2 3 4 …".
    // It ends on a digit or `)`, never on an operator (`73**` is `73` in bold).
    let expr = format!(r"(?P<expr>[-+]?\(?-?\d{all}{{0,48}}[{EXPR_OPS}]{all}{{0,47}}[\d\)])");
    let prefix = r"(?:^|\s|=)(?:\*\*)?";
    let suffix = r"(?:\*\*)?(?:\.|,|:|\s|\)|\$|$)";
    let currency = "[$€£¥₹₽₪₩₫฿]";
    format!(r"(?:{prefix}{expr}{suffix}|{prefix}{currency}?{})", *NUMBER)
});

/// Expression patterns and their priorities. The number/expression groups appear once per
/// pattern, so each pattern is compiled on its own.
static EXPR_RES: LazyLock<Vec<(Regex, u32, bool)>> = LazyLock::new(|| {
    let x = &*EXPR_OR_NUMBER;
    let list = [
        (
            format!(r"(?i:final answer is):?\s*{x}\.?\s?I hope"),
            0,
            false,
        ),
        (format!(r"####\s*{x}"), 10, false),
        (
            format!(r"(?i:final answer.{{0,100}}?)\s+is:?{x}"),
            50,
            false,
        ),
        (
            format!(r"(?i:answer):(?:.{{0,100}}=\s*|.{{0,50}}?){x}"),
            100,
            true,
        ),
        (
            format!(r"(?i:answer)(?:.{{0,100}}=\s*|.{{0,50}}?){x}"),
            200,
            true,
        ),
        (x.clone(), 300, false),
    ];
    list.into_iter()
        // Invariant: the patterns above are fixed and valid; a unit test compiles them.
        .map(|(p, prio, no_eq_after)| {
            (
                Regex::new(&ascii_classes(&p)).expect("valid expression pattern"),
                prio,
                no_eq_after,
            )
        })
        .collect()
});

/// `\d` and `\s` as their ASCII classes: the Unicode ones make the automata several
/// times larger and slower on megabyte texts, and a non-ASCII digit never parses anyway.
fn ascii_classes(pattern: &str) -> String {
    pattern
        .replace(r"\d", "[0-9]")
        .replace(r"\s", r"[\t\n\x0B\x0C\r ]")
}

static FINAL_IS_BEFORE: LazyLock<Regex> =
    // Invariant: fixed, valid pattern.
    LazyLock::new(|| Regex::new(r"(?i)final answer is:?\s*$").expect("valid pattern"));
static FINAL_JUST_IS_BEFORE: LazyLock<Regex> =
    // Invariant: fixed, valid pattern.
    LazyLock::new(|| {
        Regex::new(r"(?is)final answer.{0,100}?\s+is:?\s*$").expect("valid pattern")
    });
static I_HOPE_AFTER: LazyLock<Regex> =
    // Invariant: fixed, valid pattern.
    LazyLock::new(|| Regex::new(r"^\.?\s?I hope").expect("valid pattern"));

fn choice_patterns(cfg: &MathConfig) -> Vec<(Regex, u32)> {
    if !cfg.targets.contains(&Target::Choice) {
        return vec![];
    }
    let keys = cfg
        .choices
        .iter()
        .map(|c| regex::escape(c))
        .collect::<Vec<_>>()
        .join("|");
    let keys = format!("(?P<key>{keys})");
    let suffix = r"(?:\*\*)?(?:\.|,|:|\s|$)";
    let answer = format!(r"(?:^|\s)(?:\*\*)?{keys}{suffix}");
    let mut list = vec![
        (format!(r"(?i:final answer is):?\s*{keys}\.?\s?I hope"), 0),
        (format!(r"(?i:final answer.{{0,100}}?)\s+is:?\s*{keys}"), 50),
        (format!(r"(?i:answer):.{{0,50}}?{answer}"), 100),
        (format!(r"(?i:answer).{{0,50}}?{answer}"), 200),
    ];
    if cfg.try_extract_without_anchor {
        list.push((format!(r"^(?:\*\*)?{keys}{suffix}"), 250));
        list.push((answer, 300));
    }
    list.into_iter()
        // Invariant: the choice strings are escaped, so the pattern is valid.
        .map(|(p, prio)| (Regex::new(&p).expect("valid choice pattern"), prio))
        .collect()
}

/// Byte index of the balanced `}` closing the `{` at `open`, if any.
pub(crate) fn matching_brace(s: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `(start, end, content)` of every `\boxed{…}` / `\fbox{…}` not nested in another.
pub(crate) fn find_boxes(text: &str) -> Vec<(usize, usize, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find('\\') {
        let start = from + rel;
        let rest = &text[start + 1..];
        let name_len = if rest.starts_with("boxed") {
            5
        } else if rest.starts_with("fbox") {
            4
        } else {
            from = start + 1;
            continue;
        };
        let mut open = start + 1 + name_len;
        while open < b.len() && b[open] == b' ' {
            open += 1;
        }
        if open < b.len() && b[open] == b'{' {
            if let Some(close) = matching_brace(b, open) {
                out.push((start, close + 1, &text[open + 1..close]));
                from = close + 1;
                continue;
            }
            // Unclosed: take the rest of the text.
            out.push((start, b.len(), &text[open + 1..]));
            break;
        }
        from = open;
    }
    out
}

/// Whether the text between two answers only joins them: commas, "and"/"or", LaTeX
/// delimiters and spacing, a few filler words ("papers and").
fn joins(between: &str) -> bool {
    let cleaned: String = between
        .replace("\\text", " ")
        .replace("\\quad", " ")
        .replace("\\qquad", " ")
        .replace(['$', '{', '}', '\\', '(', ')', '[', ']', '.'], " ");
    let words: Vec<&str> = cleaned
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        return true;
    }
    // "… papers and \boxed{2}", "\quad \text{and} \quad": the connector comes last; "and
    // then we get \boxed{2}" is a correction, not a list.
    let mut words = words;
    if between.trim_end().ends_with('=') {
        // "… and y_2 = \boxed{…}": the name being assigned is not filler.
        for _ in 0..2 {
            if words
                .last()
                .is_some_and(|w| !matches!(w.to_ascii_lowercase().as_str(), "and" | "or"))
            {
                words.pop();
            }
        }
    }
    let last_is_connector = words
        .last()
        .is_some_and(|w| matches!(w.to_ascii_lowercase().as_str(), "and" | "or"));
    last_is_connector && words.len() <= 4
}

/// `(start, end, content)` of the math environments, left to right.
fn find_envs(text: &str) -> Vec<(usize, usize, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let prev = |i: usize| if i == 0 { 0 } else { b[i - 1] };
    while i < b.len() {
        let c = b[i];
        if c == b'$' && prev(i) != b'\\' {
            if b.get(i + 1) == Some(&b'$') {
                if let Some(rel) = text[i + 2..].find("$$") {
                    let end = i + 2 + rel;
                    if end > i + 2 {
                        out.push((i, end + 2, &text[i + 2..end]));
                    }
                    i = end + 2;
                    continue;
                }
                i += 2;
                continue;
            }
            if prev(i).is_ascii_digit() {
                i += 1;
                continue;
            }
            // Inline: up to the next unescaped `$` on the same line.
            let mut j = i + 1;
            let mut found = None;
            while j < b.len() {
                if b[j] == b'\n' {
                    break;
                }
                if b[j] == b'$' && b[j - 1] != b'\\' {
                    found = Some(j);
                    break;
                }
                j += 1;
            }
            match found {
                Some(j) if j > i + 1 => {
                    out.push((i, j + 1, &text[i + 1..j]));
                    i = j + 1;
                }
                _ => i += 1,
            }
            continue;
        }
        if c == b'\\' && prev(i) != b'\\' {
            let close = match b.get(i + 1) {
                Some(b'[') => "\\]",
                Some(b'(') => "\\)",
                _ => {
                    i += 1;
                    continue;
                }
            };
            if let Some(rel) = text[i + 2..].find(close) {
                let end = i + 2 + rel;
                let body = &text[i + 2..end];
                if end > i + 2 && (close == "\\]" || !body.contains('\n')) {
                    out.push((i, end + 2, body));
                }
                i = end + 2;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn percent_follows(text: &str, end: usize) -> bool {
    let rest = text[end.min(text.len())..].trim_start_matches(['$', ' ', '\\', ')', ']']);
    rest.starts_with('%') || rest.starts_with("percent") || rest.starts_with("pct")
}

/// Undoes what chat models add around a final answer: the Unicode minus (`−43`) becomes
/// `-`, an escaped dollar (`\$40`) a space, `Answer:-2` gets a space after its colon,
/// and markdown bold markers (`**73**`) go, except between two operands (`2**3`).
pub(crate) fn clean_response(text: &str) -> String {
    if !["**", "\\$", "\u{2212}", "nswer:", "NSWER:"]
        .iter()
        .any(|n| has(text, n))
    {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'*' if bytes.get(i + 1) == Some(&b'*') => {
                let before = text[..i].chars().next_back();
                let after = text[i + 2..].chars().next();
                let operand = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == ')');
                out.push_str(&text[last..i]);
                if operand(before) && operand(after) {
                    out.push_str("**");
                }
                i += 2;
                last = i;
            }
            b'\\' if bytes.get(i + 1) == Some(&b'$') => {
                out.push_str(&text[last..i]);
                out.push(' ');
                i += 2;
                last = i;
            }
            // `Answer:-2`: a space after the colon, so the number has its boundary.
            b':' if i >= 6
                && bytes[i - 6..i].eq_ignore_ascii_case(b"answer")
                && bytes.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) =>
            {
                out.push_str(&text[last..=i]);
                out.push(' ');
                i += 1;
                last = i;
            }
            // U+2212 MINUS SIGN is E2 88 92.
            0xE2 if bytes.get(i + 1) == Some(&0x88) && bytes.get(i + 2) == Some(&0x92) => {
                out.push_str(&text[last..i]);
                out.push('-');
                i += 3;
                last = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Words that may appear in a plain-text answer line (function names, constants,
/// connectors, units); any other word of two or more letters marks the line as prose.
const LINE_WORDS: &[&str] = &[
    "sqrt",
    "pi",
    "sin",
    "cos",
    "tan",
    "sec",
    "csc",
    "cot",
    "arcsin",
    "arccos",
    "arctan",
    "ln",
    "log",
    "exp",
    "infty",
    "infinity",
    "and",
    "or",
    "frac",
    "dfrac",
    "tfrac",
    "text",
    "mathrm",
    "times",
    "cdot",
    "div",
    "pm",
    "mp",
    "le",
    "leq",
    "ge",
    "geq",
    "ne",
    "neq",
    "in",
    "cup",
    "left",
    "right",
    "circ",
    "degree",
    "degrees",
    "percent",
    "binom",
    "dbinom",
    "mathbf",
    "textbf",
    "begin",
    "end",
    "pmatrix",
    "bmatrix",
    "matrix",
    "emptyset",
    "varnothing",
];

/// Whether a plain-text answer line reads as a formula rather than prose: every run of
/// two or more letters is a known word, a unit, or a short product of variables (`xy`).
pub(crate) fn formula_like(line: &str) -> bool {
    let mut ok = true;
    let mut any = false;
    for word in line.split(|c: char| !c.is_ascii_alphabetic()) {
        if word.is_empty() {
            continue;
        }
        any = true;
        let lower = word.to_ascii_lowercase();
        if word.len() == 1
            || LINE_WORDS.contains(&lower.as_str())
            || super::normalize::is_unit_word(&lower)
        {
            continue;
        }
        // Two-letter products of variables (`xy`, `ab`), but not English words.
        if word.len() == 2
            && !matches!(
                lower.as_str(),
                "is" | "of"
                    | "to"
                    | "at"
                    | "so"
                    | "we"
                    | "it"
                    | "be"
                    | "as"
                    | "by"
                    | "an"
                    | "if"
                    | "on"
                    | "no"
                    | "me"
                    | "my"
                    | "he"
                    | "do"
                    | "go"
                    | "us"
                    | "up"
            )
        {
            continue;
        }
        ok = false;
    }
    ok && (any || line.chars().any(|c| c.is_ascii_digit()))
}

static ANSWER_LINE: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: fixed, valid pattern.
    Regex::new(concat!(
        r"(?i)(?P<anchor>####|final\s+answer(?:\s+is)?\s*[:：]?|",
        r"(?:the\s+)?(?:correct\s+)?answer\s+is\s*[:：]?|answer\s*[:：])",
        r"[ \t]*(?P<body>[^\n]{1,300})"
    ))
    .expect("valid pattern")
});

impl Extractor {
    /// Compiles the patterns for `cfg`.
    pub fn new(cfg: &MathConfig) -> Extractor {
        Extractor {
            cfg: cfg.clone(),
            choice_res: choice_patterns(cfg),
        }
    }

    fn limits(&self) -> ParseLimits {
        ParseLimits {
            max_chars: self.cfg.max_answer_chars,
            max_depth: self.cfg.max_depth,
            max_digits: self.cfg.max_digits,
        }
    }

    /// Every candidate answer in `text`, in the order they are tried. The whole text is
    /// searched (the work is bounded by linear scans and by [`MAX_TRIED`] parses, not by
    /// position); a text longer than [`MathConfig::max_response_chars`] yields none.
    pub fn candidates(&self, text: &str) -> Vec<Candidate> {
        if text.len() > self.cfg.max_response_chars {
            return Vec::new();
        }
        let text = clean_response(&collapse_escaped_commands(text));
        let text = text.as_str();
        // Anchored patterns only run where their anchor word occurs at all.
        let answers = answer_positions(text);
        let hints = Hints {
            answer: !answers.is_empty(),
            hashes: has(text, "####"),
        };
        let mut out = Vec::new();
        for target in &self.cfg.targets {
            match target {
                Target::Latex => {
                    // A response that is nothing but one short formula (`2x + 3`,
                    // `(1, 2)`, as a trainer's cons@k compares extracted answers) is that
                    // answer, ahead of its last number but behind every anchor.
                    let t = text.trim();
                    if self.cfg.try_extract_without_anchor
                        && !t.is_empty()
                        && t.len() <= 300
                        && !t.contains(['\n', '$'])
                        && !has(t, "\\boxed")
                        && formula_like(t)
                    {
                        out.push(Candidate {
                            text: t.to_string(),
                            target: Target::Latex,
                            priority: 299,
                            end: text.len(),
                            percent: false,
                        });
                    }
                    self.latex_candidates(text, &answers, &mut out);
                    if hints.answer || hints.hashes {
                        self.line_candidates(text, &answers, &mut out);
                    }
                }
                Target::Expr => self.expr_candidates(text, &answers, hints, &mut out),
                Target::Choice => self.choice_candidates(text, &mut out),
            }
        }
        // By priority, then rightmost end first, then leftmost start (stable).
        out.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.end.cmp(&a.end)));
        out
    }

    fn latex_candidates(&self, text: &str, answers: &[usize], out: &mut Vec<Candidate>) {
        // Boxed answers, adjacent ones joined ("\boxed{1} and \boxed{2}"); all share one
        // priority, so only the rightmost few groups can ever be tried.
        let boxes = find_boxes(text);
        let mut j = boxes.len();
        let mut pushed = 0;
        while j > 0 && pushed < MAX_PER_PATTERN {
            let last = j - 1;
            let mut first = last;
            while first > 0 && last - first < 32 && joins(&text[boxes[first - 1].1..boxes[first].0])
            {
                first -= 1;
            }
            let joined = boxes[first..=last]
                .iter()
                .map(|b| b.2)
                .collect::<Vec<_>>()
                .join(",");
            out.push(Candidate {
                text: joined,
                target: Target::Latex,
                priority: self.cfg.boxed_priority,
                end: boxes[last].1,
                percent: percent_follows(text, boxes[last].1),
            });
            pushed += 1;
            j = first;
        }
        // Math environments, joined when only "and"/"or"/"," separates them. Anchors are
        // located once (sorted positions), so each environment costs a binary search; at
        // most `MAX_PER_PATTERN` candidates per priority are kept (the rightmost).
        let envs = find_envs(text);
        let anchors = Anchors::new(text, answers);
        let mut per_priority: Vec<(u32, usize)> = Vec::new();
        let mut j = envs.len();
        while j > 0 {
            let last = j - 1;
            // Once the unanchored slots are full, only environments right after an anchor
            // word can still count: jump to the nearest one on the left, or stop.
            let unanchored_full = per_priority
                .iter()
                .any(|&(p, n)| p == 300 && n >= MAX_PER_PATTERN)
                || !self.cfg.try_extract_without_anchor;
            if unanchored_full {
                let k = answers.partition_point(|&a| a < envs[last].0);
                if k == 0 {
                    break;
                }
                let reach = answers[k - 1] + 200;
                if envs[last].0 > reach {
                    j = envs.partition_point(|e| e.0 <= reach);
                    continue;
                }
            }
            let mut first = last;
            while first > 0
                && last - first < 5
                && is_env_connector(&text[envs[first - 1].1..envs[first].0])
            {
                first -= 1;
            }
            let (g_start, g_end) = (envs[first].0, envs[last].1);
            j = first;
            let Some(priority) = self.anchor_priority(
                text,
                &anchors,
                g_start,
                g_end,
                envs.get(first.wrapping_sub(1)).map(|e| e.1),
            ) else {
                continue;
            };
            let count = match per_priority.iter_mut().find(|(p, _)| *p == priority) {
                Some((_, n)) => n,
                None => {
                    per_priority.push((priority, 0));
                    &mut per_priority.last_mut().expect("just pushed").1
                }
            };
            if *count >= MAX_PER_PATTERN {
                continue;
            }
            *count += 1;
            let body = envs[first..=last]
                .iter()
                .map(|e| {
                    let inner = find_boxes(e.2);
                    if inner.is_empty() {
                        e.2.to_string()
                    } else {
                        inner.iter().map(|b| b.2).collect::<Vec<_>>().join(",")
                    }
                })
                .collect::<Vec<_>>()
                .join(",");
            out.push(Candidate {
                text: body,
                target: Target::Latex,
                priority,
                end: g_end,
                percent: percent_follows(text, g_end),
            });
        }
        // Bare `\frac{a}{b}` with plain numbers outside any environment (the rightmost).
        if self.cfg.try_extract_without_anchor {
            let mut fracs = Vec::new();
            let mut from = 0;
            while let Some(rel) = text[from..].find("\\frac{") {
                let s = from + rel;
                let bytes = text.as_bytes();
                let Some(c1) = matching_brace(bytes, s + 5) else {
                    break;
                };
                if bytes.get(c1 + 1) == Some(&b'{')
                    && let Some(c2) = matching_brace(bytes, c1 + 1)
                {
                    let simple = |t: &str| {
                        !t.is_empty()
                            && t.trim_start_matches('-')
                                .chars()
                                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
                    };
                    if simple(&text[s + 6..c1]) && simple(&text[c1 + 2..c2]) {
                        let neg = s > 0 && bytes[s - 1] == b'-';
                        let start = if neg { s - 1 } else { s };
                        fracs.push((start, c2));
                    }
                    from = c2;
                    continue;
                }
                from = s + 6;
            }
            let keep = fracs.len().saturating_sub(MAX_PER_PATTERN);
            for &(start, c2) in &fracs[keep..] {
                out.push(Candidate {
                    text: text[start..=c2].to_string(),
                    target: Target::Latex,
                    priority: 300,
                    end: c2 + 1,
                    percent: false,
                });
            }
        }
    }

    /// Plain-text answer lines: `#### 72`, `Answer: 2x + 3`, `Final Answer: 73`, `The
    /// answer is +7.` The whole rest of the line is one candidate (so `2x + 3` is not cut
    /// to `2`), tried just before the number patterns of the same anchor. Lines with math
    /// delimiters are left to the LaTeX environments; prose lines are skipped.
    fn line_candidates(&self, text: &str, answers: &[usize], out: &mut Vec<Candidate>) {
        // Only around the rightmost anchor words (found by a byte scan), each in a window
        // of a few hundred bytes: the work does not grow with the text.
        let mut anchors = answers.to_vec();
        anchors.extend(find_all(text, "####"));
        anchors.sort_unstable();
        anchors.dedup();
        let keep = anchors.len().saturating_sub(MAX_PER_PATTERN);
        let mut seen_end = 0;
        for &p in &anchors[keep..] {
            let lo = floor_boundary(text, p.saturating_sub(24)).max(seen_end);
            let hi = floor_boundary(text, (p + 340).min(text.len()));
            if lo >= hi {
                continue;
            }
            let Some(caps) = ANSWER_LINE.captures(&text[lo..hi]) else {
                continue;
            };
            let Some(m) = caps.get(0) else { continue };
            seen_end = lo + m.end();
            let (Some(anchor), Some(body)) = (caps.name("anchor"), caps.name("body")) else {
                continue;
            };
            let a = anchor.as_str().to_ascii_lowercase();
            let priority = if a.starts_with('#') {
                9
            } else if a.starts_with("final") {
                49
            } else {
                99
            };
            let mut line = body.as_str();
            // "Final Answer: The final answer is X. I hope it is correct." (Minerva).
            for lead in ["the final answer is", "the answer is", "final answer is"] {
                if line.len() >= lead.len()
                    && line.is_char_boundary(lead.len())
                    && line[..lead.len()].eq_ignore_ascii_case(lead)
                {
                    line = line[lead.len()..]
                        .trim_start()
                        .trim_start_matches([':', '：'])
                        .trim_start();
                    break;
                }
            }
            let hope = line.contains("I hope");
            if line.contains('$') || ["\\boxed", "\\(", "\\["].iter().any(|d| line.contains(d)) {
                continue;
            }
            // The sentence ends at ". " or a final period.
            if let Some(k) = line.find(". ") {
                line = &line[..k];
            }
            let line = trim_punctuation(line.trim().trim_matches('*').trim());
            // A plain number is left to the number patterns, which read thousands
            // separators and decimal commas (`1 000`, `1000,99`).
            let plain_number = line
                .chars()
                .all(|c| c.is_ascii_digit() || " ,.+-$%".contains(c));
            if line.is_empty() || plain_number || !formula_like(line) {
                continue;
            }
            // "… is X. I hope it is correct." ranks with its number pattern (priority 0).
            let priority = if hope && priority == 49 { 0 } else { priority };
            out.push(Candidate {
                text: line.to_string(),
                target: Target::Latex,
                priority,
                end: lo + body.end(),
                percent: false,
            });
        }
    }

    /// The best anchor before a math environment, or `None` when it has none and
    /// unanchored answers are off.
    fn anchor_priority(
        &self,
        text: &str,
        anchors: &Anchors,
        start: usize,
        end: usize,
        prev_env_end: Option<usize>,
    ) -> Option<u32> {
        let window_start =
            floor_boundary(text, start.saturating_sub(140)).max(prev_env_end.unwrap_or(0));
        if anchors.final_within(window_start, start) {
            let before = &text[window_start..start];
            if FINAL_IS_BEFORE.is_match(before) && I_HOPE_AFTER.is_match(&text[end..]) {
                return Some(0);
            }
            if FINAL_JUST_IS_BEFORE.is_match(before) {
                return Some(50);
            }
        }
        let near_start = floor_boundary(text, start.saturating_sub(57)).max(window_start);
        match anchors.answer_within(text, near_start, start) {
            Some(true) => return Some(100),
            Some(false) => return Some(200),
            None => {}
        }
        self.cfg.try_extract_without_anchor.then_some(300)
    }

    fn expr_candidates(
        &self,
        text: &str,
        answers: &[usize],
        hints: Hints,
        out: &mut Vec<Candidate>,
    ) {
        // Windows where each pattern can match, found by byte scans: the anchored patterns
        // start at their anchor word, the unanchored one at a number after a boundary.
        // Only the rightmost `MAX_PER_PATTERN` windows per pattern are searched, each a
        // few KiB, so the work does not grow with the text (issue 14: no cut-off by
        // position either).
        let b = text.as_bytes();
        let finals: Vec<usize> = answers
            .iter()
            .filter(|&&p| final_before(b, p))
            .map(|&p| p - 6)
            .collect();
        let hashes: Vec<usize> = if hints.hashes {
            find_all(text, "####")
        } else {
            vec![]
        };
        // An anchored answer sits within a few hundred bytes of its anchor; a longer number
        // is cut here and then rejected by the digit cap, as it would be whole.
        let window = 1024 + self.cfg.max_digits;
        for (re, priority, no_eq_after) in EXPR_RES.iter() {
            let starts: Vec<usize> = match priority {
                300 if self.cfg.try_extract_without_anchor => {
                    number_starts(text, 2 * MAX_PER_PATTERN)
                }
                300 => continue,
                10 => hashes.clone(),
                0 | 50 => finals.clone(),
                _ => answers.to_vec(),
            };
            let keep = starts.len().saturating_sub(2 * MAX_PER_PATTERN);
            let mut found: Vec<Candidate> = Vec::new();
            let mut covered = 0;
            for &lo in &starts[keep..] {
                if lo < covered {
                    continue;
                }
                let hi = floor_boundary(text, (lo + window).min(text.len()));
                let Some(caps) = re.captures(&text[lo..hi]) else {
                    continue;
                };
                let Some(m) = caps.get(0) else { continue };
                let end = lo + m.end();
                covered = end;
                if *no_eq_after && text[end..].trim_start().starts_with('=') {
                    continue;
                }
                let group = |prefix: &str| {
                    (1..=3)
                        .find_map(|k| caps.name(&format!("{prefix}{k}")).map(|g| g.as_str()))
                        .unwrap_or("")
                };
                let (integer, decimal) = (group("integer"), group("decimal"));
                let percent = caps.name("percent").is_some_and(|p| !p.as_str().is_empty());
                let text_value = if !integer.is_empty() || !decimal.is_empty() {
                    let int: String = integer.chars().filter(|c| *c != ',' && *c != ' ').collect();
                    let exponent = caps.name("exponent").map_or("", |e| e.as_str());
                    format!("{int}{}{exponent}", decimal.replace(',', "."))
                } else if let Some(e) = caps.name("expr") {
                    e.as_str().to_string()
                } else {
                    continue;
                };
                found.push(Candidate {
                    text: text_value,
                    target: Target::Expr,
                    priority: *priority,
                    end,
                    percent,
                });
            }
            let keep = found.len().saturating_sub(MAX_PER_PATTERN);
            out.extend(found.drain(keep..));
        }
    }

    fn choice_candidates(&self, text: &str, out: &mut Vec<Candidate>) {
        for (re, priority) in &self.choice_res {
            for (start, _) in rightmost_matches(re, text, MAX_PER_PATTERN) {
                let Some(caps) = re.captures_at(text, start) else {
                    continue;
                };
                let (Some(m), Some(key)) = (caps.get(0), caps.name("key")) else {
                    continue;
                };
                out.push(Candidate {
                    text: key.as_str().to_string(),
                    target: Target::Choice,
                    priority: *priority,
                    end: m.end(),
                    percent: false,
                });
            }
        }
    }

    /// Parses one candidate into its normalised text and tree.
    pub fn parse_candidate(&self, cand: &Candidate) -> (String, Result<Node, ParseError>) {
        let limits = self.limits();
        if cand.text.len() > 4 * limits.max_chars {
            return (String::new(), Err(ParseError::TooLarge));
        }
        match cand.target {
            Target::Choice => {
                let t = if self.cfg.choice_lowercase {
                    cand.text.to_lowercase()
                } else {
                    cand.text.clone()
                };
                (t.clone(), Ok(Node::Text(t)))
            }
            Target::Expr => {
                let t = cand.text.trim().to_string();
                let parsed = if t
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                {
                    let (neg, digits) = match t.strip_prefix('-') {
                        Some(d) => (true, d),
                        None => (false, t.as_str()),
                    };
                    if digits.len() > limits.max_digits {
                        Err(ParseError::TooLarge)
                    } else {
                        parse_decimal(digits)
                            .map(Node::Num)
                            .ok_or(ParseError::Syntax)
                            .map(|n| if neg { Node::Neg(Box::new(n)) } else { n })
                    }
                } else {
                    parse_answer(&t.replace('×', "*").replace('÷', "/"), &limits)
                };
                let parsed = parsed.map(|n| {
                    if cand.percent {
                        Node::Percent(Box::new(n))
                    } else {
                        n
                    }
                });
                (t, parsed)
            }
            Target::Latex => {
                let norm = normalize_latex(&cand.text);
                let mut parsed = parse_answer(&norm, &limits);
                if parsed == Err(ParseError::Syntax) && !norm.contains([',', ';']) {
                    // Chains such as `1 = \zzz = x = 0`: keep the last side (Math-Verify).
                    let parts: Vec<&str> = split_equals(&norm);
                    if parts.len() > 2
                        && let Some(last) = parts.last()
                    {
                        parsed = parse_answer(trim_punctuation(last), &limits);
                    }
                }
                let parsed = parsed.map(|n| {
                    if cand.percent && !matches!(n, Node::Percent(_)) {
                        Node::Percent(Box::new(n))
                    } else {
                        n
                    }
                });
                (norm, parsed)
            }
        }
    }

    /// Extracts the final answer: the first candidate that parses.
    pub fn extract(&self, text: &str) -> Extracted {
        if text.len() > self.cfg.max_response_chars {
            return Extracted {
                parsed: None,
                fallback: None,
                too_large: true,
            };
        }
        let cands = self.candidates(text);
        let mut fallback = None;
        let mut too_large = false;
        let mut tried = 0;
        for cand in &cands {
            // Bound the work on adversarial texts with thousands of candidates.
            tried += 1;
            if tried > MAX_TRIED {
                break;
            }
            let (norm, parsed) = self.parse_candidate(cand);
            if fallback.is_none() && !norm.is_empty() {
                fallback = Some(norm.clone());
            }
            match parsed {
                Ok(node) => {
                    return Extracted {
                        parsed: Some((norm, node)),
                        fallback,
                        too_large,
                    };
                }
                Err(ParseError::TooLarge) => too_large = true,
                Err(ParseError::Syntax) => {}
            }
        }
        Extracted {
            parsed: None,
            fallback,
            too_large,
        }
    }
}

/// The rightmost `limit` matches `(start, end)` of `re` in `text`, left to right. The
/// search runs over growing windows from the end (8 KiB, then ×4), with look-around seeing
/// the whole text, so the work follows where the answers are, not the text's length; a
/// text with no match is scanned about 1.3 times.
pub(crate) fn rightmost_matches(re: &Regex, text: &str, limit: usize) -> Vec<(usize, usize)> {
    let mut window = 8192usize;
    loop {
        let start = floor_boundary(text, text.len().saturating_sub(window));
        let mut found = Vec::new();
        let mut at = start;
        while at <= text.len() {
            let Some(m) = re.find_at(text, at) else { break };
            found.push((m.start(), m.end()));
            at = if m.end() > m.start() {
                m.end()
            } else {
                // An empty match: step over one char.
                m.end() + text[m.end()..].chars().next().map_or(1, char::len_utf8)
            };
        }
        if found.len() >= limit || start == 0 {
            let keep = found.len().saturating_sub(limit);
            return found.split_off(keep);
        }
        window = window.saturating_mul(4);
    }
}

/// Where an unanchored number may start, left to right, the rightmost `limit` only: the
/// byte before a digit (or a sign, `.`, `(` before a digit) that is whitespace, `=`, `*`
/// or a currency sign, or the text's start. Found by a backward byte scan.
fn number_starts(text: &str, limit: usize) -> Vec<usize> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = b.len();
    while i > 0 && out.len() < limit {
        i -= 1;
        let c = b[i];
        let starts_number = c.is_ascii_digit()
            || (matches!(c, b'-' | b'+' | b'.' | b'(')
                && b.get(i + 1).is_some_and(u8::is_ascii_digit));
        if !starts_number {
            continue;
        }
        let boundary = |k: usize| {
            matches!(
                b[k],
                b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C | b'=' | b'*' | b'$'
            ) || b[k] >= 0x80
        };
        if i == 0 {
            out.push(0);
        } else if boundary(i - 1) {
            // Start the window on the boundary byte (its char start, for a currency sign),
            // so the pattern sees the same left context as in the whole text.
            out.push(floor_boundary(text, i - 1));
        }
    }
    out.reverse();
    out
}

/// Which anchor words a text holds at all.
#[derive(Debug, Clone, Copy)]
struct Hints {
    answer: bool,
    hashes: bool,
}

/// Byte positions of "answer", "Answer" and "ANSWER" (SIMD substring search: a
/// case-insensitive regex is many times slower on megabyte texts).
fn answer_positions(text: &str) -> Vec<usize> {
    let mut out: Vec<usize> = ["answer", "Answer", "ANSWER"]
        .iter()
        .flat_map(|w| find_all(text, w))
        .collect();
    out.sort_unstable();
    out
}

/// Every start of `needle` in `hay` (SIMD substring search).
pub(crate) fn find_all(hay: &str, needle: &str) -> Vec<usize> {
    memchr::memmem::find_iter(hay.as_bytes(), needle.as_bytes()).collect()
}

/// Whether `hay` contains `needle` (SIMD substring search).
pub(crate) fn has(hay: &str, needle: &str) -> bool {
    memchr::memmem::find(hay.as_bytes(), needle.as_bytes()).is_some()
}

/// Whether "final answer" (any case, one space) starts at `p`, where "answer" is at `p + 6`.
fn final_before(b: &[u8], answer_at: usize) -> bool {
    answer_at >= 6 && b[answer_at - 6..answer_at].eq_ignore_ascii_case(b"final ")
}

/// Sorted byte positions of "answer" and "final answer" (any case) in a text, found once.
struct Anchors {
    answer: Vec<usize>,
    final_answer: Vec<usize>,
}

impl Anchors {
    fn new(text: &str, answers: &[usize]) -> Anchors {
        let b = text.as_bytes();
        let final_answer = answers
            .iter()
            .filter(|&&p| final_before(b, p))
            .map(|&p| p - 6)
            .collect();
        Anchors {
            answer: answers.to_vec(),
            final_answer,
        }
    }

    /// Whether "final answer" starts in `[lo, hi)`.
    fn final_within(&self, lo: usize, hi: usize) -> bool {
        let k = self.final_answer.partition_point(|&p| p < lo);
        self.final_answer.get(k).is_some_and(|&p| p < hi)
    }

    /// `Some(true)` when "answer:" lies wholly in `[lo, hi)`, `Some(false)` for "answer"
    /// without the colon, `None` for neither.
    fn answer_within(&self, text: &str, lo: usize, hi: usize) -> Option<bool> {
        let k = self.answer.partition_point(|&p| p < lo);
        let mut seen = None;
        for &p in &self.answer[k..] {
            if p + 6 > hi {
                break;
            }
            if p + 7 <= hi && text.as_bytes().get(p + 6) == Some(&b':') {
                return Some(true);
            }
            seen = Some(false);
        }
        seen
    }
}

/// Splits on `=` that is not part of `<=`, `>=`, `!=`, `\le=`.
fn split_equals(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut parts = Vec::new();
    let mut last = 0;
    for i in 0..b.len() {
        if b[i] == b'=' && (i == 0 || !matches!(b[i - 1], b'<' | b'>' | b'!' | b'\\')) {
            parts.push(&s[last..i]);
            last = i + 1;
        }
    }
    parts.push(&s[last..]);
    parts
}

fn is_env_connector(between: &str) -> bool {
    let t = between.trim();
    let t = t.strip_prefix(',').unwrap_or(t).trim();
    t.is_empty() && between.contains(',') || matches!(t, "and" | "or")
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str) -> Option<String> {
        let ex = Extractor::new(&MathConfig::default());
        ex.extract(text).parsed.map(|(t, _)| t)
    }

    #[test]
    fn patterns_compile_and_find_answers() {
        assert_eq!(
            first("so \\boxed{\\frac{1}{2}} is it"),
            Some("\\frac{1}{2}".into())
        );
        assert_eq!(first("\\boxed{1} then \\boxed{2}"), Some("2".into()));
        assert_eq!(first("The answer is 42."), Some("42".into()));
        assert_eq!(first("work ... #### 1,234"), Some("1234".into()));
        assert_eq!(
            first("we get $x=3$ and finally $7$ apples"),
            Some("7".into())
        );
        assert_eq!(first("no numbers here"), None);
    }

    #[test]
    fn a_boxed_answer_far_from_the_end_is_found() {
        // Issue 14: a `\boxed{}` 16 KB before the end was cut off and a later number won.
        let text = format!(
            "\\boxed{{42}} {} step 7 then 9",
            "filler words. ".repeat(3000)
        );
        assert!(text.len() > 32_000);
        assert_eq!(first(&text), Some("42".into()));
        let cfg = MathConfig {
            max_response_chars: 100,
            ..MathConfig::default()
        };
        let ex = Extractor::new(&cfg).extract(&text);
        assert!(ex.parsed.is_none() && ex.too_large);
    }
}
