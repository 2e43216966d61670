//! The crate's error types: one for configuration, one for everything else.

use crate::PromptId;

/// The error an embedder returns; the bank wraps it in [`SeedError::Embedder`].
pub type EmbedError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An invalid [`SeedConfig`](crate::SeedConfig) field, found by `validate()`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Occurs when `k` (exemplars per seeded prompt) is 0.
    #[error("seed.k must be at least 1 (got 0)")]
    ZeroK,
    /// Occurs when `similarity_threshold` is not a finite number in [0, 1].
    #[error("seed.similarity_threshold must be a finite cosine in [0, 1] (got {value})")]
    Threshold {
        /// The rejected value.
        value: f32,
    },
    /// Occurs when `capacity` is 0.
    #[error("seed.capacity must be at least 1 (got 0)")]
    ZeroCapacity,
    /// Occurs when the solution cap (characters or tokens) is 0.
    #[error("seed.solution_cap must allow at least 1 character or token (got 0)")]
    ZeroSolutionCap,
    /// Occurs when `lexical.hash_bits` is outside 8..=24.
    #[error("seed.lexical.hash_bits must be in 8..=24 (got {value})")]
    HashBits {
        /// The rejected value.
        value: u32,
    },
    /// Occurs when the character n-gram range is empty or starts at 0.
    #[error(
        "seed.lexical n-gram range must satisfy 1 <= ngram_min <= ngram_max <= 8 (got {min}..={max})"
    )]
    NgramRange {
        /// `ngram_min`.
        min: usize,
        /// `ngram_max`.
        max: usize,
    },
    /// Occurs when the lexical embedder would produce no feature at all.
    #[error("seed.lexical must enable character n-grams or word unigrams")]
    NoFeatures,
}

/// Everything that can go wrong while recording, seeding or restoring.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// Occurs when the configuration fails [`SeedConfig::validate`](crate::SeedConfig::validate).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Occurs when a prompt or a solution is empty or only whitespace.
    #[error("prompt {prompt_id}: {field} is empty")]
    EmptyText {
        /// The prompt the text belongs to.
        prompt_id: PromptId,
        /// `"prompt"` or `"solution"`.
        field: &'static str,
    },
    /// Occurs when a prompt id already in the bank arrives with a different prompt text:
    /// ids must be stable, one text per id.
    #[error(
        "prompt {prompt_id}: id already stored with a different text (stored {stored:?}, new {new:?})"
    )]
    PromptIdConflict {
        /// The conflicting id.
        prompt_id: PromptId,
        /// The start of the stored prompt text.
        stored: String,
        /// The start of the new prompt text.
        new: String,
    },
    /// Occurs when curated exemplars would fill more than the bank's capacity while curated
    /// entries are pinned (`evict_curated = false`).
    #[error(
        "curated exemplars exceed the bank capacity ({capacity}); raise capacity or set evict_curated"
    )]
    CuratedOverCapacity {
        /// The configured capacity.
        capacity: usize,
    },
    /// Occurs when the embedder itself fails (e.g. a neural model error).
    #[error("embedder failed on prompt {prompt_id}: {source}")]
    Embedder {
        /// The prompt being embedded.
        prompt_id: PromptId,
        /// The embedder's error.
        #[source]
        source: EmbedError,
    },
    /// Occurs when an embedder returns a vector that does not match the kind it declared
    /// (sparse/dense, dimension) or contains a non-finite or (sparse) negative value.
    #[error("embedder returned an invalid vector for prompt {prompt_id}: {reason}")]
    InvalidEmbedding {
        /// The prompt being embedded.
        prompt_id: PromptId,
        /// What was wrong, with the offending value.
        reason: String,
    },
    /// Occurs when the solution cap is given in tokens but no token counter was supplied.
    #[error(
        "seed.solution_cap is in tokens but no TokenCounter was given (ExemplarBank::with_token_counter)"
    )]
    MissingTokenCounter,
    /// Occurs when a serialized state has a version this build cannot read.
    #[error("bank state version {found} is not supported (this build reads version {supported})")]
    StateVersion {
        /// Version found in the state.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
    /// Occurs when a serialized state lists the same prompt id twice.
    #[error("bank state lists prompt {prompt_id} twice")]
    DuplicateStateEntry {
        /// The duplicated id.
        prompt_id: PromptId,
    },
    /// Occurs when [`ExemplarSeeder::restore`](crate::ExemplarSeeder::restore) gets a
    /// state written by another kind of seeder, or by a bank whose embeddings differ from
    /// this bank's (a dense bank's state restored into a lexical bank, or another vector
    /// size): retrieval would silently change, so the state is refused.
    #[error("seeder state is from {found}, but this seeder is {expected}")]
    IncompatibleState {
        /// What this seeder is (kind and embedding).
        expected: String,
        /// What wrote the state.
        found: String,
    },
}
