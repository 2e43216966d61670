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
        r"(?:(?P<integer1>-?[1-9]\d{0,2}(?:[ ,]\d{3})+)(?P<decimal1>\.\d+)?|",
        r"(?P<integer2>-?\d+)(?P<decimal2>[.,]\d+)|",
        r"(?P<decimal3>\.\d+)|",
        r"(?P<integer3>-?\d+))",
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
    let expr = format!(r"(?P<expr>-?\(?-?\d{all}{{0,48}}[{EXPR_OPS}]{all}{{1,48}}\)?)");
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
                Regex::new(&p).expect("valid expression pattern"),
                prio,
                no_eq_after,
            )
        })
        .collect()
});

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
fn matching_brace(s: &[u8], open: usize) -> Option<usize> {
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
fn find_boxes(text: &str) -> Vec<(usize, usize, &str)> {
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

/// Byte offset of the `n`-th char from the end (so slices stay on char boundaries).
fn tail_start(text: &str, max_chars: usize) -> usize {
    text.char_indices()
        .rev()
        .nth(max_chars.saturating_sub(1))
        .map_or(0, |(i, _)| i)
}

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

    /// Every candidate answer in `text`, in the order they are tried.
    pub fn candidates(&self, text: &str) -> Vec<Candidate> {
        let start = if text.len() > self.cfg.max_response_chars {
            tail_start(text, self.cfg.max_response_chars)
        } else {
            0
        };
        let text = collapse_escaped_commands(&text[start..]);
        let text = text.as_ref();
        let mut out = Vec::new();
        for target in &self.cfg.targets {
            match target {
                Target::Latex => self.latex_candidates(text, &mut out),
                Target::Expr => self.expr_candidates(text, &mut out),
                Target::Choice => self.choice_candidates(text, &mut out),
            }
        }
        // By priority, then rightmost end first, then leftmost start (stable).
        out.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.end.cmp(&a.end)));
        out
    }

    fn latex_candidates(&self, text: &str, out: &mut Vec<Candidate>) {
        // Boxed answers, adjacent ones joined ("\boxed{1} and \boxed{2}").
        let boxes = find_boxes(text);
        let mut j = boxes.len();
        while j > 0 {
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
            j = first;
        }
        // Math environments, joined when only "and"/"or"/"," separates them.
        let envs = find_envs(text);
        // Most texts never say "final answer": skip those anchor patterns then.
        let has_final = envs.is_empty() || contains_ignore_case(text, "final answer");
        let mut j = envs.len();
        while j > 0 {
            let last = j - 1;
            let mut first = last;
            while first > 0
                && last - first < 5
                && is_env_connector(&text[envs[first - 1].1..envs[first].0])
            {
                first -= 1;
            }
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
            let (g_start, g_end) = (envs[first].0, envs[last].1);
            if let Some(priority) = self.anchor_priority(
                text,
                g_start,
                g_end,
                envs.get(first.wrapping_sub(1)).map(|e| e.1),
                has_final,
            ) {
                out.push(Candidate {
                    text: body,
                    target: Target::Latex,
                    priority,
                    end: g_end,
                    percent: percent_follows(text, g_end),
                });
            }
            j = first;
        }
        // Bare `\frac{a}{b}` with plain numbers outside any environment.
        if self.cfg.try_extract_without_anchor {
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
                        out.push(Candidate {
                            text: text[start..=c2].to_string(),
                            target: Target::Latex,
                            priority: 300,
                            end: c2 + 1,
                            percent: false,
                        });
                    }
                    from = c2;
                    continue;
                }
                from = s + 6;
            }
        }
    }

    /// The best anchor before a math environment, or `None` when it has none and
    /// unanchored answers are off.
    fn anchor_priority(
        &self,
        text: &str,
        start: usize,
        end: usize,
        prev_env_end: Option<usize>,
        has_final: bool,
    ) -> Option<u32> {
        let window_start =
            floor_boundary(text, start.saturating_sub(140)).max(prev_env_end.unwrap_or(0));
        let before = &text[window_start..start];
        if has_final && FINAL_IS_BEFORE.is_match(before) && I_HOPE_AFTER.is_match(&text[end..]) {
            return Some(0);
        }
        if has_final && FINAL_JUST_IS_BEFORE.is_match(before) {
            return Some(50);
        }
        let near = &text[floor_boundary(text, start.saturating_sub(57)).max(window_start)..start];
        let lower = near.to_ascii_lowercase();
        if lower.contains("answer:") {
            return Some(100);
        }
        if lower.contains("answer") {
            return Some(200);
        }
        self.cfg.try_extract_without_anchor.then_some(300)
    }

    fn expr_candidates(&self, text: &str, out: &mut Vec<Candidate>) {
        for (re, priority, no_eq_after) in EXPR_RES.iter() {
            if *priority == 300 && !self.cfg.try_extract_without_anchor {
                continue;
            }
            // Find spans with the fast engine; resolve groups only for the rightmost few,
            // since at most `MAX_TRIED` candidates are ever parsed.
            let spans: Vec<usize> = re.find_iter(text).map(|m| m.start()).collect();
            let keep = spans.len().saturating_sub(MAX_PER_PATTERN);
            for &start in &spans[keep..] {
                let Some(caps) = re.captures_at(text, start) else {
                    continue;
                };
                let Some(m) = caps.get(0) else { continue };
                if *no_eq_after && text[m.end()..].trim_start().starts_with('=') {
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
                out.push(Candidate {
                    text: text_value,
                    target: Target::Expr,
                    priority: *priority,
                    end: m.end(),
                    percent,
                });
            }
        }
    }

    fn choice_candidates(&self, text: &str, out: &mut Vec<Candidate>) {
        for (re, priority) in &self.choice_res {
            for caps in re.captures_iter(text) {
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

fn contains_ignore_case(text: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    text.as_bytes()
        .windows(n.len())
        .any(|w| w.eq_ignore_ascii_case(n))
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
    fn tail_is_kept() {
        let cfg = MathConfig {
            max_response_chars: 10,
            ..MathConfig::default()
        };
        let ex = Extractor::new(&cfg);
        let text = format!("{} answer 5", "é".repeat(1000));
        assert_eq!(ex.extract(&text).parsed.map(|(t, _)| t), Some("5".into()));
    }
}
