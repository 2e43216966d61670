//! Built-in tasks and a JSON-lines loader: the prompts a run trains and evaluates on.
//!
//! A [`TaskSet`] holds disjoint train and eval [`Problem`]s. Built-in families are
//! procedurally generated and deterministic per seed:
//!
//! - [`arithmetic`]: a difficulty ladder of expressions (`"12+7="` → `"19"`) for the
//!   tiny character-level model, with gold solutions for a supervised warm-up;
//! - [`rewrite`]: string rewriting (`"<abcd="` → `"dcba"`) for the tiny model, where an
//!   exemplar demonstrates a procedure on another word;
//! - [`word_problems`]: arithmetic word problems in English for chat models (SmolLM2);
//! - [`jsonl`]: the user's own data (`prompt`, `answer`, optional `kind`/`tests`).
//!
//! Train and eval splits are disjoint by construction: a generated problem belongs to the
//! eval split exactly when a hash of its prompt text falls in the eval share
//! ([`in_eval_split`]), so no seed or size setting can leak an eval prompt into training.
//!
//! # Example
//!
//! ```
//! use xrpo_train::task::arithmetic::{ArithmeticConfig, generate};
//!
//! let set = generate(&ArithmeticConfig::default(), 7)?;
//! assert!(set.check_disjoint().is_ok());
//! let p = &set.train[0];
//! assert!(p.prompt.ends_with('='));
//! # Ok::<(), xrpo_train::task::TaskError>(())
//! ```

pub mod arithmetic;
mod config;
pub mod jsonl;
pub mod ladder;
pub mod rewrite;
pub mod word_problems;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use xrpo_reward::Reference;

pub use config::{TaskConfig, TaskKind, TaskUse, VerifierKind, WarmupPuzzle, build_task};
/// Moved to xrpo-reward; re-exported here for existing users.
pub use xrpo_reward::{AnswerExtraction, ExactAnswerVerifier};

/// Moved to [`crate::rng`]; re-exported here for existing users.
pub use crate::rng::SplitMix64;

/// One problem: what the policy is asked and what its response is checked against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Stable identifier, unique within its task set (exemplar-bank key, logs).
    pub id: String,
    /// The problem text as the user writes it, before any chat template.
    pub prompt: String,
    /// The gold final answer as text (`"19"`); empty for code problems.
    pub answer: String,
    /// What the verifier checks a response against.
    pub reference: Reference,
    /// A gold worked solution (the exact completion text the model should produce), for
    /// supervised warm-up and curated exemplars; `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solution: Option<String>,
    /// Difficulty level, where the family has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    /// Free-form family name (`"add"`, `"gsm8k"`, `"code"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Disjoint train and eval problems of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSet {
    /// Task name for logs and reports.
    pub name: String,
    /// Training prompts.
    pub train: Vec<Problem>,
    /// Held-out evaluation prompts (never exemplars, never trained on).
    pub eval: Vec<Problem>,
}

impl TaskSet {
    /// Checks that no eval prompt text appears in the train split and that ids are unique.
    pub fn check_disjoint(&self) -> Result<(), TaskError> {
        let train: std::collections::HashSet<&str> =
            self.train.iter().map(|p| p.prompt.as_str()).collect();
        if let Some(p) = self.eval.iter().find(|p| train.contains(p.prompt.as_str())) {
            return Err(TaskError::Leak {
                prompt: p.prompt.clone(),
            });
        }
        let mut ids = std::collections::HashSet::new();
        for p in self.train.iter().chain(&self.eval) {
            if !ids.insert(p.id.as_str()) {
                return Err(TaskError::DuplicateId { id: p.id.clone() });
            }
        }
        Ok(())
    }
}

/// Errors of task generation and loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// Occurs when a JSON-lines file has a malformed line; names file and line.
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What was wrong, naming the field.
        message: String,
    },
    /// Occurs when a file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The i/o error.
        source: std::io::Error,
    },
    /// Occurs when a data file or generator yields no problem at all.
    #[error("task `{name}` has no {split} problems")]
    Empty {
        /// Task name.
        name: String,
        /// `train` or `eval`.
        split: &'static str,
    },
    /// Occurs when an eval prompt also appears in the train split.
    #[error("eval prompt also in the train split: {prompt:?}")]
    Leak {
        /// The prompt text.
        prompt: String,
    },
    /// Occurs when two problems share an id.
    #[error("duplicate problem id `{id}`")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// Occurs when a generator setting is out of range; names it.
    #[error("task setting `{name}` is out of range: {message}")]
    Setting {
        /// The setting.
        name: &'static str,
        /// Why.
        message: String,
    },
}

/// FNV-1a 64-bit hash of `text` (stable across platforms and versions).
pub fn fnv1a(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Whether a prompt belongs to the eval split: `fnv1a(prompt) mod 10_000 < share · 10_000`.
/// Independent of seeds and sizes, so a prompt never changes split.
pub fn in_eval_split(prompt: &str, eval_share: f64) -> bool {
    (fnv1a(prompt) % 10_000) < (eval_share * 10_000.0).round() as u64
}

/// Quotas of a generated ladder: per level, `train` and `eval` problems, `eval_share` of
/// the prompt space held out by hash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LadderQuota {
    pub(crate) train: usize,
    pub(crate) eval: usize,
    pub(crate) eval_share: f64,
}

/// Generates a leveled task: for each level, an RNG seeded by `seed ^ (salt + level) ·
/// 0x9e37` draws `(prompt, answer, kind)` until both quotas are full (or 40× the quota in
/// attempts); repeats are skipped, a prompt goes to the split [`in_eval_split`] gives it,
/// and a problem's id is `{id_prefix}{level}:{prompt}`, its gold solution its answer.
pub(crate) fn generate_ladder(
    name: &str,
    levels: &[u32],
    quota: LadderQuota,
    salt: u64,
    id_prefix: char,
    mut draw: impl FnMut(u32, &mut SplitMix64) -> (String, String, &'static str),
    seed: u64,
) -> Result<TaskSet, TaskError> {
    let mut train = Vec::new();
    let mut eval = Vec::new();
    for &level in levels {
        let mut rng = SplitMix64::new(seed ^ (salt + level as u64).wrapping_mul(0x9e37));
        let mut seen = HashSet::new();
        let (mut n_train, mut n_eval) = (0, 0);
        for _ in 0..40 * (quota.train + quota.eval) {
            if n_train >= quota.train && n_eval >= quota.eval {
                break;
            }
            let (prompt, answer, kind) = draw(level, &mut rng);
            if !seen.insert(prompt.clone()) {
                continue;
            }
            let is_eval = in_eval_split(&prompt, quota.eval_share);
            let (count, cap) = if is_eval {
                (&mut n_eval, quota.eval)
            } else {
                (&mut n_train, quota.train)
            };
            if *count >= cap {
                continue;
            }
            *count += 1;
            let problem = Problem {
                id: format!("{id_prefix}{level}:{prompt}"),
                reference: Reference::Math {
                    answer: answer.clone(),
                },
                solution: Some(answer.clone()),
                answer,
                prompt,
                level: Some(level),
                kind: Some(kind.to_string()),
            };
            if is_eval {
                eval.push(problem);
            } else {
                train.push(problem);
            }
        }
    }
    finish_task(name, train, eval)
}

/// The task set of `train` and `eval`, checked: a non-empty train split, disjoint
/// splits, unique ids.
pub(crate) fn finish_task(
    name: &str,
    train: Vec<Problem>,
    eval: Vec<Problem>,
) -> Result<TaskSet, TaskError> {
    if train.is_empty() {
        return Err(TaskError::Empty {
            name: name.to_string(),
            split: "train",
        });
    }
    let set = TaskSet {
        name: name.to_string(),
        train,
        eval,
    };
    set.check_disjoint()?;
    Ok(set)
}
