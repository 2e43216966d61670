//! [`ExactAnswerVerifier`]: a cheap exact-answer verifier for generated tasks whose
//! answers are one line or one integer.
//!
//! ```
//! use xrpo_reward::{AnswerExtraction, ExactAnswerVerifier, Reference, Verifier};
//!
//! let v = ExactAnswerVerifier { extraction: AnswerExtraction::LastInteger };
//! let gold = Reference::Math { answer: "12".into() };
//! assert!(v.verify("so 12 apples are left.", &gold)?.correct());
//! assert!(!v.verify("so 13 apples are left.", &gold)?.correct());
//! # Ok::<(), xrpo_reward::VerifyError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::{Outcome, Reason, Reference, Verdict, Verifier, VerifyError};

/// Which part of a response is the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerExtraction {
    /// The first line, trimmed (the tiny model answers `"19"` then stops).
    #[default]
    FirstLine,
    /// The last integer in the text (`"… so 12 apples are left."` → `12`).
    LastInteger,
}

/// Verifies a response by string equality of its extracted answer with the gold
/// `Reference::Math { answer }` (both trimmed; for [`AnswerExtraction::LastInteger`] both
/// parsed as integers). Cheaper than the full math verifier and enough for integer
/// answers; any `Verifier` can replace it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactAnswerVerifier {
    /// How the answer is taken from the response.
    pub extraction: AnswerExtraction,
}

fn last_integer(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut end = None;
    for i in (0..bytes.len()).rev() {
        if bytes[i].is_ascii_digit() {
            end = Some(i + 1);
            break;
        }
    }
    let end = end?;
    let mut start = end;
    while start > 0 && bytes[start - 1].is_ascii_digit() {
        start -= 1;
    }
    if start > 0 && bytes[start - 1] == b'-' {
        start -= 1;
    }
    Some(text[start..end].to_string())
}

impl Verifier for ExactAnswerVerifier {
    fn verify(&self, response: &str, reference: &Reference) -> Result<Verdict, VerifyError> {
        let Reference::Math { answer } = reference else {
            return Err(VerifyError::UnsupportedReference("code"));
        };
        let gold = answer.trim();
        let extracted = match self.extraction {
            AnswerExtraction::FirstLine => {
                let line = response.lines().next().unwrap_or("").trim();
                (!line.is_empty()).then(|| line.to_string())
            }
            AnswerExtraction::LastInteger => last_integer(response),
        };
        let verdict = |reward: f32, outcome, reason| Verdict {
            reward,
            outcome,
            extracted: extracted.clone(),
            reason,
            detail: String::new(),
        };
        if gold.is_empty() {
            return Ok(verdict(0.0, Outcome::Unverifiable, Reason::UnparseableGold));
        }
        let Some(got) = extracted.as_deref() else {
            return Ok(verdict(0.0, Outcome::Wrong, Reason::NoAnswer));
        };
        let same = match self.extraction {
            AnswerExtraction::FirstLine => got == gold,
            AnswerExtraction::LastInteger => match (got.parse::<i128>(), gold.parse::<i128>()) {
                (Ok(a), Ok(b)) => a == b,
                (_, Err(_)) => {
                    return Ok(verdict(0.0, Outcome::Unverifiable, Reason::UnparseableGold));
                }
                _ => false,
            },
        };
        Ok(if same {
            verdict(1.0, Outcome::Correct, Reason::Passed)
        } else {
            verdict(0.0, Outcome::Wrong, Reason::WrongAnswer)
        })
    }
}
