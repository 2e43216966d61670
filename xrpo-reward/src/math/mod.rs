//! Math answers: extraction of the final answer and equivalence with the gold.
//!
//! [`MathVerifier`] implements [`Verifier`] for [`Reference::Math`].
//!
//! **The gold is one answer.** Its whole text is parsed first, bare or inside one pair of
//! delimiters (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`, `\boxed{}`), so `"(1, 2)"`,
//! `"2x + 3"`, `"y = 2x + 3"`, `"x \ge 0"`, `"1, 2"`, `"\$40"` or `"64 square feet"` are
//! golds as they stand. Only a worked solution (GSM8K's `"… #### 72"`, a MATH solution with
//! a `\boxed{}`, several `$…$` among words) goes through the response extractor. A gold
//! that is an option letter `A`–`J` (`"B"`, `"(B)"`, `"\text{(B)}"`) is judged by
//! [`options`]. Undelimited prose of more than two words (`"see the figure"`) is not an
//! answer: such a gold is `unverifiable`.
//!
//! **The response's answer** is the last final answer at the best anchor: `\boxed{}`,
//! "The final answer is … I hope", `#### x`, "Final Answer:", "Answer:" / "The answer
//! is" lines (read whole: `Answer: 2x + 3` is `2x + 3`), `$…$`, then the last number
//! ([`MathConfig::try_extract_without_anchor`] = false gives no credit without an
//! anchor). The whole response is searched, with bounded work.
//!
//! **Equivalence** (see [`equivalence`]): exact rationals and exact polynomial identity
//! first; equations up to a non-zero factor; inequalities against intervals both ways;
//! tuples ordered ([`MathConfig::tuple_order`]), solution sets unordered; decimals to
//! [`MathConfig::precision`] places and significant digits; percentages as documented at
//! [`MathConfig::percent_bare_number`].
//!
//! The pipeline, one module per step:
//! [`extract`] (find candidate answers) → [`normalize`] (clean LaTeX) → [`parse`] (build a
//! [`Node`] tree) → [`equivalence`] (compare, using [`poly`] for exact expansion and
//! [`eval`] on exact rationals or sample points).
//!
//! ```
//! use xrpo_reward::math::{MathConfig, MathVerifier};
//! use xrpo_reward::{Outcome, Reference, Verifier};
//!
//! let verifier = MathVerifier::new(MathConfig::default()).unwrap();
//! let gold = Reference::Math { answer: "\\frac{1}{2}".into() };
//! let verdict = verifier.verify("so the answer is $\\boxed{0.5}$.", &gold).unwrap();
//! assert!(verdict.correct());
//! assert_eq!(verdict.extracted.as_deref(), Some("0.5"));
//!
//! // A bare tuple gold is one answer, and tuples are ordered.
//! let point = Reference::Math { answer: "(1, 2)".into() };
//! assert!(verifier.verify("The answer is $(1,2)$.", &point).unwrap().correct());
//! let swapped = verifier.verify("\\boxed{(2, 1)}", &point).unwrap();
//! assert_eq!(swapped.outcome, Outcome::Wrong);
//!
//! // GSM8K golds are worked solutions; the last inline math does not beat `####`.
//! let gsm = Reference::Math { answer: "48 + 24 = 72 clips.\n#### 72".into() };
//! assert!(verifier.verify("First $n = 16$ …\n#### 72", &gsm).unwrap().correct());
//! ```

pub mod ast;
pub mod config;
pub mod equivalence;
pub mod eval;
pub mod extract;
pub mod normalize;
pub mod number;
pub mod options;
pub mod parse;
pub mod poly;

pub use ast::Node;
pub use config::{ConfigError, MathConfig, Target};
pub use equivalence::Comparison;
pub use extract::{Candidate, Extracted, Extractor};

use crate::{Outcome, Reason, Reference, Verdict, Verifier, VerifyError};

/// The math answer verifier.
#[derive(Debug, Clone)]
pub struct MathVerifier {
    cfg: MathConfig,
    extractor: Extractor,
}

impl Default for MathVerifier {
    fn default() -> Self {
        let cfg = MathConfig::default();
        MathVerifier {
            extractor: Extractor::new(&cfg),
            cfg,
        }
    }
}

/// Every candidate final answer in `text`, in the order they are tried (highest priority
/// first, rightmost first within a priority).
pub fn extract_answers(text: &str, config: &MathConfig) -> Vec<Candidate> {
    Extractor::new(config).candidates(text)
}

/// Whether `pred` (a response) answers `gold` (a gold answer, extracted the same way).
/// `None` when the gold yields no answer.
pub fn equivalent(gold: &str, pred: &str, config: &MathConfig) -> Option<bool> {
    let v = MathVerifier {
        cfg: config.clone(),
        extractor: Extractor::new(config),
    };
    let verdict = v.judge(gold, pred);
    (verdict.outcome != Outcome::Unverifiable).then_some(verdict.outcome == Outcome::Correct)
}

/// The inside of a gold written as one delimited answer: `$…$`, `$$…$$`, `\(…\)`,
/// `\[…\]`, `\boxed{…}`, `\fbox{…}` (nested layers peeled, a trailing period allowed).
fn unwrap_delimiters(gold: &str) -> Option<&str> {
    let mut t = gold.trim().trim_end_matches('.').trim();
    let mut peeled = false;
    loop {
        let inner = if let Some(x) = t.strip_prefix("$$").and_then(|x| x.strip_suffix("$$")) {
            (!x.contains('$')).then_some(x)
        } else if let Some(x) = t.strip_prefix('$').and_then(|x| x.strip_suffix('$')) {
            (!x.contains('$')).then_some(x)
        } else if let Some(x) = t.strip_prefix("\\(").and_then(|x| x.strip_suffix("\\)")) {
            Some(x)
        } else if let Some(x) = t.strip_prefix("\\[").and_then(|x| x.strip_suffix("\\]")) {
            Some(x)
        } else {
            ["\\boxed", "\\fbox"].iter().find_map(|cmd| {
                let rest = t.strip_prefix(cmd)?.trim_start();
                let close = extract::matching_brace(rest.as_bytes(), 0)?;
                (rest.starts_with('{') && close == rest.len() - 1).then(|| &rest[1..close])
            })
        };
        match inner {
            Some(x) if !x.trim().is_empty() => {
                t = x.trim().trim_end_matches('.').trim();
                peeled = true;
            }
            _ => return peeled.then_some(t),
        }
    }
}

/// Whether a gold is a worked solution rather than one answer: it marks its final answer
/// (`#### 72`, a `\boxed{}` inside text, "The answer is") or holds several math
/// environments among words.
fn worked_solution(gold: &str) -> bool {
    gold.contains("####")
        || gold.contains("\\boxed")
        || gold.contains("\\fbox")
        || gold.matches('$').count() >= 2
        || gold.contains("\\(")
        || gold.contains("\\[")
}

/// A verdict: reward 1 exactly when correct.
fn make_verdict(
    outcome: Outcome,
    reason: Reason,
    extracted: Option<String>,
    detail: &str,
) -> Verdict {
    Verdict {
        reward: if outcome == Outcome::Correct {
            1.0
        } else {
            0.0
        },
        outcome,
        extracted,
        reason,
        detail: detail.to_string(),
    }
}

fn key(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

impl MathVerifier {
    /// A verifier with `cfg`, validated.
    pub fn new(cfg: MathConfig) -> Result<MathVerifier, ConfigError> {
        cfg.validate()?;
        Ok(MathVerifier {
            extractor: Extractor::new(&cfg),
            cfg,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &MathConfig {
        &self.cfg
    }

    /// The gold's answer. A gold is ONE answer: its whole text is parsed first (bare, or
    /// inside one pair of delimiters), so `(1, 2)`, `2x + 3`, `y = 2x + 3`, `x \ge 0` or
    /// `1, 2` are never cut down to a number. Only a worked solution (`… #### 72`, a MATH
    /// solution with a `\boxed{}`) goes through response-style extraction.
    fn extract_gold(&self, gold: &str) -> Extracted {
        // An empty gold (or one of only delimiters and punctuation) states no answer: it is
        // unverifiable, never an empty text answer that every response fails against.
        let bare = gold.trim_matches(|c: char| c.is_whitespace() || "$.,;:()[]{}".contains(c));
        if bare.is_empty() {
            return Extracted {
                parsed: None,
                fallback: None,
                too_large: false,
            };
        }
        let inner = unwrap_delimiters(gold);
        // Without the LaTeX target (plain-number configurations) golds are extracted like
        // responses, so `1,22` reads as a decimal comma there.
        if self.cfg.targets.contains(&Target::Latex) && (inner.is_some() || !worked_solution(gold))
        {
            let body = inner.unwrap_or(gold).trim();
            // Undelimited prose ("see the figure") is not an answer; a short word answer
            // ("Evelyn", "odd") is one.
            let prose = inner.is_none()
                && !body.contains('\\')
                && !extract::formula_like(&extract::clean_response(body));
            let words = body.split_whitespace().count();
            if prose
                && words <= 2
                && body
                    .chars()
                    .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'')
            {
                let t = body.to_lowercase();
                return Extracted {
                    parsed: Some((t.clone(), Node::Text(t.clone()))),
                    fallback: Some(t),
                    too_large: false,
                };
            }
            if !prose {
                let (norm, parsed) = self.parse_whole(body);
                match parsed {
                    Ok(node) => {
                        return Extracted {
                            parsed: Some((norm.clone(), node)),
                            fallback: Some(norm),
                            too_large: false,
                        };
                    }
                    Err(parse::ParseError::TooLarge) => {
                        return Extracted {
                            parsed: None,
                            fallback: None,
                            too_large: true,
                        };
                    }
                    Err(parse::ParseError::Syntax) => {}
                }
            }
        }
        self.extractor.extract(gold)
    }

    /// Judges a multiple-choice response against the gold option `letter`.
    fn judge_option(&self, letter: char, response: &str) -> Verdict {
        let verdict = |outcome: Outcome, reason: Reason, extracted: Option<String>| {
            make_verdict(outcome, reason, extracted, "")
        };
        if response.len() > self.cfg.max_response_chars {
            return verdict(Outcome::Wrong, Reason::TooLarge, None);
        }
        let cleaned = extract::clean_response(response);
        match options::chosen_option(&cleaned) {
            Some(options::Choice::Letter(l)) => {
                let outcome = if l == letter {
                    Outcome::Correct
                } else {
                    Outcome::Wrong
                };
                let reason = if l == letter {
                    Reason::Passed
                } else {
                    Reason::WrongAnswer
                };
                verdict(outcome, reason, Some(l.to_string()))
            }
            Some(options::Choice::Boxed(text)) => {
                // A boxed value: right when it is the text the response lists for the
                // gold option.
                let right = options::option_text(&cleaned, letter)
                    .is_some_and(|opt| self.same_answer(&opt, &text));
                if right {
                    verdict(Outcome::Correct, Reason::Passed, Some(text))
                } else {
                    verdict(Outcome::Wrong, Reason::WrongAnswer, Some(text))
                }
            }
            None => verdict(Outcome::Wrong, Reason::NoAnswer, None),
        }
    }

    /// One answer's whole text, normalised and parsed as LaTeX (no extraction).
    fn parse_whole(&self, text: &str) -> (String, Result<Node, parse::ParseError>) {
        self.extractor.parse_candidate(&Candidate {
            text: extract::clean_response(text),
            target: Target::Latex,
            priority: 0,
            end: text.len(),
            percent: false,
        })
    }

    /// Whether two single answers (no extraction) are equivalent.
    fn same_answer(&self, a: &str, b: &str) -> bool {
        match (self.parse_whole(a), self.parse_whole(b)) {
            ((_, Ok(x)), (_, Ok(y))) => equivalence::compare(&x, &y, &self.cfg).equal,
            ((na, _), (nb, _)) => !na.is_empty() && key(&na) == key(&nb),
        }
    }

    /// Judges `response` against the gold answer text.
    pub fn judge(&self, gold: &str, response: &str) -> Verdict {
        let verdict = make_verdict;
        // Option letters, unless the configuration asks for its own choice extraction.
        if !self.cfg.targets.contains(&Target::Choice)
            && let Some(letter) = options::option_letter(gold)
        {
            return self.judge_option(letter, response);
        }
        let g = self.extract_gold(gold);
        let mut p = self.extractor.extract(response);
        // A bare option letter against a gold that is the option's text: read the option
        // the response lists for that letter (`(B) 15`).
        if let Some((t, _)) = &p.parsed
            && let Some(l) = options::option_letter(t)
            && let Some(text) = options::option_text(&extract::clean_response(response), l)
            && let (norm, Ok(node)) = self.parse_whole(&text)
        {
            p.parsed = Some((norm, node));
        }
        let extracted = p
            .parsed
            .as_ref()
            .map(|(t, _)| t.clone())
            .or_else(|| p.fallback.clone());
        if g.parsed.is_none() && g.fallback.is_none() {
            let reason = if g.too_large {
                Reason::TooLarge
            } else {
                Reason::UnparseableGold
            };
            return verdict(
                Outcome::Unverifiable,
                reason,
                extracted,
                "no answer found in the gold",
            );
        }
        if p.parsed.is_none() && p.fallback.is_none() {
            let reason = if p.too_large {
                Reason::TooLarge
            } else {
                Reason::NoAnswer
            };
            return verdict(Outcome::Wrong, reason, None, "");
        }
        let mut too_large = false;
        if let (Some((_, gn)), Some((_, pn))) = (&g.parsed, &p.parsed) {
            let c = equivalence::compare(gn, pn, &self.cfg);
            if c.equal {
                return verdict(Outcome::Correct, Reason::Passed, extracted, "");
            }
            too_large = c.too_large;
        }
        // String fallback: the first candidates' texts, verbatim up to spacing.
        let g_texts = [g.parsed.as_ref().map(|x| &x.0), g.fallback.as_ref()];
        let p_texts = [p.parsed.as_ref().map(|x| &x.0), p.fallback.as_ref()];
        for gt in g_texts.iter().flatten() {
            for pt in p_texts.iter().flatten() {
                if key(gt) == key(pt) {
                    return verdict(
                        Outcome::Correct,
                        Reason::Passed,
                        extracted,
                        "matched as text",
                    );
                }
            }
        }
        if g.parsed.is_none() {
            let reason = if g.too_large {
                Reason::TooLarge
            } else {
                Reason::UnparseableGold
            };
            return verdict(
                Outcome::Unverifiable,
                reason,
                extracted,
                "the gold answer does not parse",
            );
        }
        if too_large || (p.parsed.is_none() && p.too_large) {
            return verdict(
                Outcome::Wrong,
                Reason::TooLarge,
                extracted,
                "the answer ran past a size cap",
            );
        }
        verdict(Outcome::Wrong, Reason::WrongAnswer, extracted, "")
    }
}

impl Verifier for MathVerifier {
    fn verify(&self, response: &str, reference: &Reference) -> Result<Verdict, VerifyError> {
        match reference {
            Reference::Math { answer } => Ok(self.judge(answer, response)),
            Reference::Code(_) => Err(VerifyError::UnsupportedReference("code")),
        }
    }
}
