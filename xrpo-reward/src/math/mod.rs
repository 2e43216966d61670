//! Math answers: extraction of the final answer and equivalence with the gold.
//!
//! [`MathVerifier`] implements [`Verifier`] for [`Reference::Math`]. The gold answer goes
//! through the same extraction as the response (as in Math-Verify), so `"$\\frac12$"`,
//! `"\\boxed{1/2}"` and `"0.5"` are all fine golds; a gold with LaTeX commands but no
//! delimiters (`"\\frac{1}{2}"`) is read as LaTeX whole.
//!
//! The pipeline, one module per step:
//! [`extract`] (find candidate answers) → [`normalize`] (clean LaTeX) → [`parse`] (build a
//! [`Node`] tree) → [`equivalence`] (compare, using [`eval`] on exact rationals or sample
//! points).
//!
//! ```
//! use xrpo_reward::math::{MathConfig, MathVerifier};
//! use xrpo_reward::{Reference, Verifier};
//!
//! let verifier = MathVerifier::new(MathConfig::default()).unwrap();
//! let gold = Reference::Math { answer: "\\frac{1}{2}".into() };
//! let verdict = verifier.verify("so the answer is $\\boxed{0.5}$.", &gold).unwrap();
//! assert!(verdict.correct());
//! assert_eq!(verdict.extracted.as_deref(), Some("0.5"));
//! ```

pub mod ast;
pub mod config;
pub mod equivalence;
pub mod eval;
pub mod extract;
pub mod normalize;
pub mod number;
pub mod parse;

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

/// Whether a gold string has no math delimiters but LaTeX markup (`\`, `^`, `{`, `_`):
/// read it whole as LaTeX.
fn bare_latex_gold(gold: &str) -> bool {
    gold.contains(['\\', '^', '{', '_'])
        && !gold.contains('$')
        && !gold.contains("\\boxed")
        && !gold.contains("\\fbox")
        && !gold.contains("\\[")
        && !gold.contains("\\(")
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

    fn extract_gold(&self, gold: &str) -> Extracted {
        if bare_latex_gold(gold) {
            let wrapped = format!("${gold}$");
            let ex = self.extractor.extract(&wrapped);
            if ex.parsed.is_some() {
                return ex;
            }
        }
        self.extractor.extract(gold)
    }

    /// Judges `response` against the gold answer text.
    pub fn judge(&self, gold: &str, response: &str) -> Verdict {
        let verdict =
            |outcome: Outcome, reason: Reason, extracted: Option<String>, detail: &str| Verdict {
                reward: if outcome == Outcome::Correct {
                    1.0
                } else {
                    0.0
                },
                outcome,
                extracted,
                reason,
                detail: detail.to_string(),
            };
        let g = self.extract_gold(gold);
        let p = self.extractor.extract(response);
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
