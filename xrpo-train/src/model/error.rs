//! The error type of the policy model and the sampler.

use std::path::PathBuf;

/// Everything that can go wrong while building, running, saving or loading a [`Policy`]
/// or sampling from it.
///
/// [`Policy`]: crate::model::Policy
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Occurs when a candle tensor operation fails inside the model (a shape, dtype or
    /// device mismatch, or an out-of-memory condition on the device).
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// Occurs when a [`ModelConfig`](crate::model::ModelConfig) field is out of range or
    /// inconsistent with another field.
    #[error("invalid model config: `{field}` {reason}")]
    InvalidConfig {
        /// The offending field (Hugging Face name).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Occurs when a checkpoint lacks a tensor the architecture needs.
    #[error("missing tensor `{name}`")]
    MissingTensor {
        /// The Hugging Face name of the tensor.
        name: String,
    },
    /// Occurs when a checkpoint holds a tensor the architecture does not use.
    #[error("unexpected tensor `{name}` (not part of this architecture)")]
    UnexpectedTensor {
        /// The name found in the checkpoint.
        name: String,
    },
    /// Occurs when a tensor's shape differs from the one the config implies.
    #[error("tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The Hugging Face name of the tensor.
        name: String,
        /// Shape the config implies.
        expected: Vec<usize>,
        /// Shape found.
        actual: Vec<usize>,
    },
    /// Occurs when a token id is not below the vocabulary size.
    #[error(
        "sequence {sequence}, position {position}: token id {token} >= vocab_size {vocab_size}"
    )]
    TokenOutOfRange {
        /// Index of the sequence in the batch.
        sequence: usize,
        /// Position of the token inside that sequence.
        position: usize,
        /// The offending id.
        token: u32,
        /// The model's vocabulary size.
        vocab_size: usize,
    },
    /// Occurs when a prompt is empty (the first completion token needs a context token).
    #[error("sequence {sequence}: empty prompt")]
    EmptyPrompt {
        /// Index of the sequence in the batch.
        sequence: usize,
    },
    /// Occurs when a sequence is longer than `max_position_embeddings`.
    #[error("sequence {sequence}: length {len} exceeds max_position_embeddings {max}")]
    SequenceTooLong {
        /// Index of the sequence in the batch.
        sequence: usize,
        /// Its length in tokens.
        len: usize,
        /// The model's limit.
        max: usize,
    },
    /// Occurs when two per-sequence inputs of one call have different batch sizes.
    #[error("batch size mismatch: {prompts} prompts but {completions} completions")]
    BatchMismatch {
        /// Number of prompts.
        prompts: usize,
        /// Number of completions.
        completions: usize,
    },
    /// Occurs when an input tensor has the wrong rank or dtype.
    #[error("invalid input tensor: expected {expected}, got shape {shape:?} dtype {dtype:?}")]
    InvalidInput {
        /// What was expected.
        expected: &'static str,
        /// Shape found.
        shape: Vec<usize>,
        /// Dtype found.
        dtype: candle_core::DType,
    },
    /// Occurs when a [`SamplingConfig`](crate::sampler::SamplingConfig) field is out of
    /// range, or stop strings are given without a decoder.
    #[error("invalid sampling setting: `{field}` {reason}")]
    InvalidSampling {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Occurs when reading or writing a safetensors file fails.
    #[error("safetensors file {path}: {source}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// The underlying failure.
        source: candle_core::Error,
    },
}
