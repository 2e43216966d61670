//! The training loop: config, one XRPO step as named stages, warm-up, evaluation, the
//! run directory, checkpoints and the final report.
//!
//! One step ([`Trainer::train_step`], `step.rs`) reads as the spec: **XRPO §1–2**
//! [`collect_rollouts`] runs the phase loop (phase 1 gives every prompt `n_base`
//! rollouts → verify → seed the groups the [`SeedTrigger`] picks, by default the
//! all-wrong ones → phases 2..P hand out the rest of the budget through the
//! [`xrpo_alloc::RolloutAllocator`]: evenly as XRPO ships, by priority Π_q with the paper's
//! allocator) into a [`RolloutBatch`]; **XRPO §3** its
//! advantage batch goes through the [`xrpo_advantage::AdvantageShaper`] (group
//! advantages with novelty sharpening); the **host update** makes `num_iterations` (μ)
//! passes of clipped policy gradient against π_old; **log** writes one
//! [`StepMetrics`] line. Every component is a trait object in [`Components`], so any of
//! them can be replaced.
//!
//! Modules: `config` ([`TrainConfig`], [`Algorithm::preset`]), `components`
//! ([`Components`]), `trainer` ([`Trainer`] construction, resume, the step loop,
//! interrupts), `rollouts` (§1–2 data), `step` (the stages), `update` (gradients, micro-
//! batches), `metrics` ([`StepMetrics`]), `checkpoint` (save, load, atomic publishing,
//! fallback), `run_dir`, `warmup`, `evaluate`, `report`.
//!
//! A run leaves a directory with the resolved `config.json`, `metrics.jsonl` (one line per
//! step, TRL metric names plus `alloc/*`, `seed/*`, `advantage/*`, `time/*`),
//! `samples.jsonl`, checkpoints (weights, optimiser, allocator and seeder state, data
//! position; published atomically), `eval_before.json` / `eval_after.json`, and
//! `report.md` with SVG plots. Randomness is derived from `(seed, step, phase)`, so a
//! resumed run reproduces the uninterrupted one.

mod checkpoint;
mod components;
mod config;
mod evaluate;
mod metrics;
mod report;
mod rollouts;
mod run_dir;
mod step;
#[allow(clippy::module_inception)]
mod trainer;
mod update;
mod warmup;

pub use warmup::{WarmupReport, seeded_warmup_prompts};

use std::path::PathBuf;

pub use components::{BankFactory, Components, lexical_bank_factory};
pub use config::{
    Algorithm, AllocTable, EvalConfig, Host, LossConfig, OptimConfig, Preset, SeededUpdateContext,
    TrainConfig, WarmupConfig, compact_template,
};
pub use evaluate::EvalReport;
pub use metrics::{AllocMetrics, SeedMetrics, StepMetrics, StepRecord, TimeMetrics};
pub use rollouts::{
    AllWrongSoFar, Rollout, RolloutBatch, RolloutTimes, SeedTrigger, StepPrompt, UpdateRows,
    collect_rollouts, mean_logprob,
};
pub use run_dir::RunDir;
pub use trainer::{RunEnd, Trainer, install_interrupt_handler, interrupt_requested};
/// XRPO's default allocator (phases spread evenly) lives in xrpo-alloc with the rest of the family.
pub use xrpo_alloc::UniformPhasedAllocator;

/// Moved to [`crate::task`]; re-exported here for existing users.
pub use crate::task::{TaskConfig, TaskKind, VerifierKind, build_task};

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
