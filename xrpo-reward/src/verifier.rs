//! The [`Verifier`] contract shared by every reward kind.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// What a response is checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reference {
    /// A math problem's gold answer, e.g. `"\\frac{1}{2}"` or `"\\boxed{3}"`.
    Math {
        /// The gold answer text: one answer, bare or delimited (`"(1, 2)"`, `"$x+1$"`,
        /// `"\\boxed{3}"`), or a worked solution (`"… #### 72"`) whose final answer is
        /// extracted like a response's.
        answer: String,
    },
    /// A programming problem's tests.
    Code(crate::code::CodeTests),
}

/// The three-way outcome of one verification that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The response is right.
    Correct,
    /// The response is wrong (reward 0, or a partial score below 1 for fractional rewards).
    Wrong,
    /// The response could not be judged (e.g. the gold answer does not parse). Trainers
    /// exclude such responses from the group baseline instead of scoring them 0.
    Unverifiable,
}

/// Why a verdict came out as it did. Serialized in `snake_case` (`"wrong_answer"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// The extracted answer is equivalent to the gold, or every test passed.
    Passed,
    /// The extracted answer differs from the gold, or a test's output was wrong.
    WrongAnswer,
    /// No final answer could be extracted from the response.
    NoAnswer,
    /// The gold answer could not be parsed or extracted.
    UnparseableGold,
    /// The program raised an error or exited non-zero.
    RuntimeError,
    /// The program ran past its wall-clock or CPU-time limit.
    Timeout,
    /// The program ran past its memory limit.
    MemoryLimit,
    /// The program did not compile or parse.
    SyntaxError,
    /// The sandbox refused or killed the program for a reason other than the above
    /// (output cap, file-size limit, process limit).
    SandboxError,
    /// Verification was cut off by a size or time cap on its input.
    TooLarge,
}

/// The verdict of one verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The reward: 1.0 or 0.0, or a fraction in `[0, 1]` where partial credit is enabled.
    /// Meaningless (0.0) when `outcome` is [`Outcome::Unverifiable`].
    pub reward: f32,
    /// Correct, wrong or unverifiable.
    pub outcome: Outcome,
    /// The final answer (or code) taken from the response, if any.
    pub extracted: Option<String>,
    /// Why.
    pub reason: Reason,
    /// Free-text detail for humans (e.g. the stderr tail or the isolation level in force).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Verdict {
    /// Whether the response was judged right.
    pub fn correct(&self) -> bool {
        self.outcome == Outcome::Correct
    }
}

/// Infrastructure failure: the verifier could not do its job. Not a judgement of the response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Occurs when a verifier is handed a [`Reference`] kind it does not handle.
    #[error("this verifier does not handle `{0}` references")]
    UnsupportedReference(&'static str),
    /// Occurs when the sandbox cannot provide the configured isolation level; the program
    /// was not run (fail closed).
    #[error("sandbox unavailable: {0}")]
    SandboxUnavailable(String),
    /// Occurs when a verifier's configuration is inconsistent or unsafe; the error names the
    /// field and the accepted range.
    #[error(transparent)]
    InvalidConfig(#[from] crate::code::ConfigError),
    /// Occurs when spawning or talking to a child process fails.
    #[error("i/o error while verifying: {0}")]
    Io(#[from] std::io::Error),
}

/// Scores model responses against references.
///
/// Contract:
/// - `verify` judges one response; a wrong or unjudgeable response is an `Ok` verdict,
///   `Err` is kept for infrastructure failures only;
/// - `verify_batch` returns one result per input, in input order, and may use all cores;
/// - implementations never panic on any response or reference text.
///
/// The trait is object-safe: `Box<dyn Verifier>` works.
pub trait Verifier: Send + Sync {
    /// Verifies one `response` against `reference`.
    fn verify(&self, response: &str, reference: &Reference) -> Result<Verdict, VerifyError>;

    /// Verifies many responses in parallel; the output has the input's order and length.
    fn verify_batch(&self, items: &[(&str, &Reference)]) -> Vec<Result<Verdict, VerifyError>> {
        items
            .par_iter()
            .map(|(response, reference)| self.verify(response, reference))
            .collect()
    }
}
