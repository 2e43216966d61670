//! The training loop: config, one XRPO step, warm-up, evaluation, the run directory,
//! checkpoints and the final report.
//!
//! One step ([`Trainer::train_step`]) follows the spec: phase 1 gives every prompt
//! `n_base` rollouts → verify → seed the all-wrong groups with solved exemplars → phases
//! 2..P hand out the rest of the budget by priority Π_q (through the
//! [`xrpo_alloc::RolloutAllocator`]) → group advantages with novelty sharpening → one
//! policy update. Verified successes enter the exemplar bank. Every component is a trait
//! object in [`Components`], so any of them can be replaced.
//!
//! A run leaves a directory with the resolved `config.json`, `metrics.jsonl` (one line per
//! step, TRL metric names plus `alloc/*`, `seed/*`, `time/*`), `samples.jsonl`,
//! checkpoints (weights, optimiser, allocator and exemplar-bank state, data position;
//! written atomically), `eval_before.json` / `eval_after.json`, and `report.md` with SVG
//! plots. Randomness is derived from `(seed, step, phase)`, so a resumed run reproduces
//! the uninterrupted one.

mod components;
mod config;
mod evaluate;
mod report;
mod run_dir;
mod step;
mod update;
mod warmup;

pub use warmup::{WarmupReport, seeded_warmup_prompts};

use std::path::PathBuf;

pub use components::{Components, NoSeeding, StatefulSeeder, UniformPhasedAllocator};
pub use config::{
    Algorithm, EvalConfig, Host, LossConfig, OptimConfig, SeededUpdateContext, TaskConfig,
    TaskKind, TrainConfig, VerifierKind, WarmupConfig, compact_template,
};
pub use evaluate::EvalReport;
pub use report::svg_line_plot;
pub use run_dir::RunDir;
pub use step::{StepRecord, Trainer, build_task};

/// Errors of the trainer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// Occurs when a config key is unknown or its value out of range; names the key.
    #[error("config `{key}`: {message}")]
    Config {
        /// The dotted key (or file) at fault.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Occurs when a file or directory cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The i/o error.
        source: std::io::Error,
    },
    /// Occurs when a checkpoint is missing, malformed or does not match the run.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// Occurs when a component (allocator, seeder, shaper) rejects its input.
    #[error("component: {0}")]
    Component(String),
    /// Occurs when the verifier itself fails (not a wrong answer).
    #[error("verifier failed: {0}")]
    Verify(#[from] xrpo_reward::VerifyError),
    /// Occurs when the task cannot be built or loaded.
    #[error(transparent)]
    Task(Box<crate::task::TaskError>),
    /// Occurs when the model cannot be loaded.
    #[error(transparent)]
    Load(Box<crate::weights::LoadError>),
    /// Occurs when the model fails (shapes, sampling settings).
    #[error(transparent)]
    Model(Box<crate::model::ModelError>),
    /// Occurs when tokenization fails.
    #[error(transparent)]
    Tokenizer(Box<crate::tokenizer::TokenizerError>),
    /// Occurs when the loss rejects its inputs.
    #[error(transparent)]
    Loss(Box<crate::loss::LossError>),
    /// Occurs when the optimiser fails (non-finite gradient norm, state mismatch).
    #[error(transparent)]
    Optim(Box<crate::optim::OptimError>),
    /// Occurs when an evaluation metric cannot be computed.
    #[error(transparent)]
    Eval(#[from] crate::eval::EvalError),
    /// Occurs when a tensor operation fails.
    #[error(transparent)]
    Candle(Box<candle_core::Error>),
}

impl From<xrpo_alloc::Error> for TrainError {
    fn from(e: xrpo_alloc::Error) -> Self {
        TrainError::Component(format!("allocator: {e}"))
    }
}
impl From<xrpo_seed::SeedError> for TrainError {
    fn from(e: xrpo_seed::SeedError) -> Self {
        TrainError::Component(format!("seeder: {e}"))
    }
}
impl From<xrpo_advantage::Error> for TrainError {
    fn from(e: xrpo_advantage::Error) -> Self {
        TrainError::Component(format!("advantage: {e}"))
    }
}

impl From<crate::task::TaskError> for TrainError {
    fn from(e: crate::task::TaskError) -> Self {
        TrainError::Task(Box::new(e))
    }
}

impl From<crate::weights::LoadError> for TrainError {
    fn from(e: crate::weights::LoadError) -> Self {
        TrainError::Load(Box::new(e))
    }
}

impl From<crate::model::ModelError> for TrainError {
    fn from(e: crate::model::ModelError) -> Self {
        TrainError::Model(Box::new(e))
    }
}

impl From<crate::tokenizer::TokenizerError> for TrainError {
    fn from(e: crate::tokenizer::TokenizerError) -> Self {
        TrainError::Tokenizer(Box::new(e))
    }
}

impl From<candle_core::Error> for TrainError {
    fn from(e: candle_core::Error) -> Self {
        TrainError::Candle(Box::new(e))
    }
}

impl From<crate::loss::LossError> for TrainError {
    fn from(e: crate::loss::LossError) -> Self {
        TrainError::Loss(Box::new(e))
    }
}

impl From<crate::optim::OptimError> for TrainError {
    fn from(e: crate::optim::OptimError) -> Self {
        TrainError::Optim(Box::new(e))
    }
}
