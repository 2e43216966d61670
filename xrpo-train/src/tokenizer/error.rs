//! Errors of the tokenizers.

use std::path::PathBuf;

/// Boxed error of the `tokenizers` crate.
pub type BoxedError = Box<dyn std::error::Error + Send + Sync>;

/// What went wrong while building or using a tokenizer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenizerError {
    /// Occurs when a `tokenizer.json` (or a sibling config file) cannot be read or parsed.
    #[error("cannot load tokenizer from {path}: {source}")]
    Load {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: BoxedError,
    },
    /// Occurs when the `tokenizers` pipeline fails to encode text.
    #[error("cannot encode text ({chars} chars starting {start:?}): {source}")]
    Encode {
        /// Length of the text in characters.
        chars: usize,
        /// The first characters of the text.
        start: String,
        /// Why.
        #[source]
        source: BoxedError,
    },
    /// Occurs when decoding fails inside the `tokenizers` pipeline.
    #[error("cannot decode {len} ids: {source}")]
    Decode {
        /// Number of ids.
        len: usize,
        /// Why.
        #[source]
        source: BoxedError,
    },
    /// Occurs when an id to decode is not in the vocabulary.
    #[error("token id {id} is outside the vocabulary (size {vocab_size})")]
    IdOutOfRange {
        /// The offending id.
        id: u32,
        /// The vocabulary size.
        vocab_size: usize,
    },
    /// Occurs when a GGUF file lacks a tokenizer field or has it with the wrong type.
    #[error("GGUF tokenizer metadata `{key}`: {problem}")]
    GgufMetadata {
        /// The metadata key (e.g. `tokenizer.ggml.merges`).
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Occurs when a tokenizer kind is not supported (e.g. a SentencePiece GGUF
    /// vocabulary or an unknown pre-tokenizer).
    #[error("unsupported tokenizer: {what}")]
    Unsupported {
        /// What was found.
        what: String,
    },
    /// Occurs when a [`super::CharTokenizer`] alphabet is empty, has a repeated
    /// character or is too large.
    #[error("invalid character alphabet: {reason}")]
    InvalidAlphabet {
        /// Why.
        reason: String,
    },
    /// Occurs when a special token named by the model's configuration is not in the
    /// vocabulary.
    #[error("special token {token:?} (from {source_field}) is not in the vocabulary")]
    UnknownSpecialToken {
        /// The token text.
        token: String,
        /// Where the name came from.
        source_field: String,
    },
}
