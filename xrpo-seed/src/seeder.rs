//! The [`ExemplarSeeder`] contract, the data it exchanges with a trainer, and a no-op seeder.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bank::BankState;
use crate::embed::EmbeddingKind;
use crate::error::SeedError;
use crate::template::ChatMessage;

/// A stable prompt identity (a dataset row id, a hash, an index). Two records with the
/// same id must carry the same prompt text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PromptId(pub String);

impl fmt::Display for PromptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for PromptId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for PromptId {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<u64> for PromptId {
    fn from(n: u64) -> Self {
        Self(n.to_string())
    }
}

/// Where an exemplar came from (kept for leakage audits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Provenance {
    /// Pre-loaded by the user (e.g. a hand-written or distilled solution).
    Curated {
        /// Free-form origin label (a file name, a dataset), if any.
        source: Option<String>,
    },
    /// A verified-correct rollout of the policy at this training step.
    Training {
        /// Training step that produced the solution.
        step: u64,
    },
}

/// What [`ExemplarSeeder::record`] did with a verified solution.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordOutcome {
    /// A new prompt entered the bank (possibly evicting the oldest entry).
    Inserted {
        /// The entry evicted to make room, if any.
        evicted: Option<PromptId>,
    },
    /// The prompt was known and the new solution is shorter: it replaced the stored one.
    Replaced,
    /// The prompt was known and the stored solution was kept (it is no longer, or it is
    /// curated and curated solutions are never replaced by training ones).
    KeptExisting,
    /// The record was refused; nothing was stored.
    Refused(Refusal),
}

/// Why a record was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The prompt's id is in the blocked (evaluation) set.
    BlockedId,
    /// The prompt's normalised text is in the blocked (evaluation) set.
    BlockedText,
    /// The bank is full of pinned curated entries; nothing can be evicted.
    FullOfPinned,
}

/// An exemplar used in a seeded prompt (for `seed/*` metrics and audits).
#[derive(Debug, Clone, PartialEq)]
pub struct UsedExemplar {
    /// The exemplar's prompt id.
    pub id: PromptId,
    /// Cosine similarity to the target prompt.
    pub similarity: f32,
    /// Where the exemplar came from.
    pub provenance: Provenance,
    /// Whether its solution was truncated to the cap.
    pub truncated: bool,
}

/// A prompt with exemplars prepended, ready for the trainer's chat template.
#[derive(Debug, Clone, PartialEq)]
pub struct SeededPrompt {
    /// Plain rendering ([`TemplateConfig::render`](crate::TemplateConfig::render)): the
    /// text to sample from, or to put into the chat user turn.
    pub text: String,
    /// The same exemplars as few-shot chat turns ([`TemplateConfig::render_chat`](crate::TemplateConfig::render_chat)).
    pub messages: Vec<ChatMessage>,
    /// The exemplars used, most similar first.
    pub exemplars: Vec<UsedExemplar>,
}

/// XRPO's in-context seeding (spec §2), as the trainer sees it.
///
/// Contract:
/// - `record` is called for every verified-correct response; it may store, replace, keep
///   or refuse (blocked evaluation prompts), and says which. It never fails on a refusal.
/// - `seed` is called for a prompt whose group so far is all wrong. `Ok(None)` means "stay
///   zero-shot" (no exemplar similar enough). A returned prompt never uses the target's
///   own entry (same id or same normalised text).
/// - Errors are for broken input (empty text, conflicting ids) or a failing embedder.
///
/// The trait is object-safe: `Box<dyn ExemplarSeeder>` works.
pub trait ExemplarSeeder: Send {
    /// Records a verified-correct `solution` to `prompt`.
    fn record(
        &mut self,
        prompt_id: &PromptId,
        prompt: &str,
        solution: &str,
        provenance: Provenance,
    ) -> Result<RecordOutcome, SeedError>;

    /// Returns `prompt` with up to K similar solved exemplars prepended, or `None`.
    fn seed(
        &mut self,
        prompt_id: &PromptId,
        prompt: &str,
    ) -> Result<Option<SeededPrompt>, SeedError>;

    /// The seeder's whole state, for a checkpoint (like
    /// `RolloutAllocator::state` in xrpo-alloc).
    fn state(&self) -> SeederState;

    /// Restores a state written by [`state`](Self::state) of a seeder of the same kind,
    /// keeping this seeder's own embedder and token counter.
    ///
    /// # Errors
    /// [`SeedError::IncompatibleState`] when another kind of seeder (or a bank with other
    /// embeddings) wrote it; the state's own errors (version, duplicates) otherwise.
    fn restore(&mut self, state: &SeederState) -> Result<(), SeedError>;

    /// Exemplars stored (0 for a seeder without a bank), for metrics.
    fn exemplar_count(&self) -> usize {
        0
    }
}

/// What [`ExemplarSeeder::state`] returns: enough to restore the seeder as itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum SeederState {
    /// A seeder without state ([`NullSeeder`]).
    Empty,
    /// An [`ExemplarBank`](crate::ExemplarBank): its entries and the kind of embedding
    /// its index was built from (a restore into a bank with another embedder is refused).
    Bank {
        /// The embedder's vector kind and size.
        embedding: EmbeddingKind,
        /// The bank's state.
        bank: Box<BankState>,
    },
    /// A user seeder's state in its own encoding.
    Custom {
        /// The seeder's name (checked on restore by the seeder itself).
        seeder: String,
        /// Its encoded state.
        data: String,
    },
}

impl SeederState {
    /// A short description for error messages (`"an exemplar bank (sparse, 65536
    /// features)"`).
    pub fn describe(&self) -> String {
        match self {
            SeederState::Empty => "a seeder without state".into(),
            SeederState::Bank { embedding, .. } => {
                format!("an exemplar bank ({})", describe_embedding(embedding))
            }
            SeederState::Custom { seeder, .. } => format!("seeder `{seeder}`"),
        }
    }
}

/// `"sparse, 65536 features"` / `"dense, 384 dimensions"`.
pub(crate) fn describe_embedding(kind: &EmbeddingKind) -> String {
    match kind {
        EmbeddingKind::Sparse { dims } => format!("sparse, {dims} features"),
        EmbeddingKind::Dense { dim } => format!("dense, {dim} dimensions"),
    }
}

/// A seeder that stores nothing and never seeds (the "no seeding" ablation).
#[derive(Debug, Clone, Copy, Default)]
pub struct NullSeeder;

impl ExemplarSeeder for NullSeeder {
    fn record(
        &mut self,
        _: &PromptId,
        _: &str,
        _: &str,
        _: Provenance,
    ) -> Result<RecordOutcome, SeedError> {
        Ok(RecordOutcome::KeptExisting)
    }

    fn seed(&mut self, _: &PromptId, _: &str) -> Result<Option<SeededPrompt>, SeedError> {
        Ok(None)
    }

    fn state(&self) -> SeederState {
        SeederState::Empty
    }

    fn restore(&mut self, state: &SeederState) -> Result<(), SeedError> {
        match state {
            SeederState::Empty => Ok(()),
            other => Err(SeedError::IncompatibleState {
                expected: SeederState::Empty.describe(),
                found: other.describe(),
            }),
        }
    }
}
