//! [`TaskConfig`]: which task a run uses, and [`build_task`], which builds it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::arithmetic::{self, ArithmeticConfig};
use super::rewrite::{self, RewriteConfig};
use super::word_problems::{self, WordProblemConfig};
use super::{Problem, SplitMix64, TaskError, TaskSet, jsonl};

/// Which built-in or user task to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// [`crate::task::arithmetic`] (tiny model).
    #[default]
    Arithmetic,
    /// [`crate::task::rewrite`] (tiny model): string rewriting, exemplars demonstrate a
    /// procedure.
    Rewrite,
    /// [`crate::task::word_problems`] (chat models).
    WordProblems,
    /// A JSON-lines file ([`crate::task::jsonl`]).
    Jsonl,
}

/// Which verifier scores responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifierKind {
    /// Exact match of the first line (tiny arithmetic). Default.
    #[default]
    FirstLine,
    /// Exact match of the last integer.
    LastInteger,
    /// xrpo-reward's math verifier (extraction and symbolic equivalence).
    Math,
}

/// Settings of the task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskConfig {
    /// Which task. Default `arithmetic`.
    pub kind: TaskKind,
    /// Settings of the arithmetic family.
    pub arithmetic: ArithmeticConfig,
    /// Settings of the rewriting family.
    pub rewrite: RewriteConfig,
    /// Settings of the word problems.
    pub word_problems: WordProblemConfig,
    /// Training JSON-lines file (for `kind = "jsonl"`).
    pub train_file: Option<PathBuf>,
    /// Eval JSON-lines file; without one, `eval_share` of the training file is held out.
    pub eval_file: Option<PathBuf>,
    /// Share of a JSON-lines file held out for eval when no eval file is given. Default 0.1.
    pub eval_share: f64,
    /// How responses are verified. Default `first_line`.
    pub verifier: VerifierKind,
}

impl Default for TaskConfig {
    fn default() -> Self {
        Self {
            kind: TaskKind::Arithmetic,
            arithmetic: ArithmeticConfig::default(),
            rewrite: RewriteConfig::default(),
            word_problems: WordProblemConfig::default(),
            train_file: None,
            eval_file: None,
            eval_share: 0.1,
            verifier: VerifierKind::FirstLine,
        }
    }
}

/// What a task set is built for: training needs train prompts, evaluation only eval ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskUse {
    /// Training (and evaluation during it): the train split must not be empty.
    Train,
    /// Evaluation only: a JSON-lines eval file may also be the train file (then every row
    /// is an eval row and the train split is empty).
    Eval,
}

/// Builds the task `config` names (`seed` drives the generated families).
///
/// # Errors
/// [`TaskError`] when a file is missing or malformed, a setting is out of range, or (for
/// [`TaskUse::Train`]) the train split is empty.
pub fn build_task(config: &TaskConfig, seed: u64, usage: TaskUse) -> Result<TaskSet, TaskError> {
    Ok(match config.kind {
        TaskKind::Arithmetic => arithmetic::generate(&config.arithmetic, seed)?,
        TaskKind::Rewrite => rewrite::generate(&config.rewrite, seed)?,
        TaskKind::WordProblems => word_problems::generate(&config.word_problems, seed)?,
        TaskKind::Jsonl => match (usage, config.eval_file.as_deref()) {
            // Evaluation of a file: it is the eval split, whatever the train file is; the
            // leakage guard would otherwise remove every training row that repeats it.
            (TaskUse::Eval, Some(eval)) => jsonl::load_eval_task(eval)?,
            _ => {
                let train = config
                    .train_file
                    .as_deref()
                    .ok_or_else(|| TaskError::Setting {
                        name: "task.train_file",
                        message: "required for task.kind = \"jsonl\"".into(),
                    })?;
                jsonl::load_task(train, config.eval_file.as_deref(), config.eval_share)?
            }
        },
    })
}

/// A warm-up example whose rule only its exemplars reveal (an arithmetic operator-inference
/// puzzle or a rewriting procedure-inference puzzle).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmupPuzzle {
    /// `(prompt, answer)` exemplars.
    pub exemplars: Vec<(String, String)>,
    /// The target prompt.
    pub prompt: String,
    /// The target's gold answer.
    pub answer: String,
}

impl TaskConfig {
    /// The training problems of `set` whose gold solutions the supervised warm-up uses:
    /// the built-in ladders' warm-up levels, every problem with a solution otherwise.
    pub fn warmup_pool(&self, set: &TaskSet) -> Vec<Problem> {
        match self.kind {
            TaskKind::Arithmetic => arithmetic::warmup_problems(set, &self.arithmetic)
                .into_iter()
                .cloned()
                .collect(),
            TaskKind::Rewrite => rewrite::warmup_problems(set, &self.rewrite)
                .into_iter()
                .cloned()
                .collect(),
            _ => set
                .train
                .iter()
                .filter(|p| p.solution.is_some())
                .cloned()
                .collect(),
        }
    }

    /// Share of the warm-up's seeded examples that are puzzles
    /// ([`warmup_puzzle`](Self::warmup_puzzle)); 0 for families without puzzles.
    pub fn puzzle_share(&self) -> f64 {
        match self.kind {
            TaskKind::Arithmetic => self.arithmetic.puzzle_share,
            TaskKind::Rewrite => self.rewrite.puzzle_share,
            _ => 0.0,
        }
    }

    /// A warm-up puzzle with `k` exemplars drawn from `rng`, for the families that have
    /// them (`None` otherwise).
    pub fn warmup_puzzle(&self, rng: &mut SplitMix64, k: usize) -> Option<WarmupPuzzle> {
        match self.kind {
            TaskKind::Arithmetic => {
                let p = arithmetic::glyph_puzzle(rng, k);
                Some(WarmupPuzzle {
                    exemplars: p.exemplars,
                    prompt: p.prompt,
                    answer: p.answer,
                })
            }
            TaskKind::Rewrite => {
                let p = rewrite::puzzle(rng, k);
                Some(WarmupPuzzle {
                    exemplars: p.exemplars,
                    prompt: p.prompt,
                    answer: p.answer,
                })
            }
            _ => None,
        }
    }
}
