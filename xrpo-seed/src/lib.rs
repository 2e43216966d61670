//! In-context seeding (XRPO spec §2): keep verified solutions in an exemplar bank, and give
//! a prompt that the policy never solves the K most similar solved prompts as worked
//! examples.
//!
//! A prompt whose rollouts are all wrong yields no GRPO gradient. XRPO (arXiv 2510.06672,
//! §TBD) breaks the symmetry by prepending solved exemplars of *other* prompts, retrieved
//! by prompt similarity, to that prompt's later rollouts in the same step.
//!
//! # Roles
//!
//! - [`ExemplarSeeder`] is what a trainer calls: [`record`](ExemplarSeeder::record) each
//!   verified-correct response, [`seed`](ExemplarSeeder::seed) each all-wrong prompt.
//!   Object-safe; [`NullSeeder`] is the no-seeding ablation.
//! - [`ExemplarBank`] implements it: shortest solution per prompt, capacity cap with
//!   oldest-first eviction, provenance, a leakage guard ([`block_ids`](ExemplarBank::block_ids),
//!   [`block_texts`](ExemplarBank::block_texts), [`leakage_report`](ExemplarBank::leakage_report)),
//!   and a serializable [`BankState`] for checkpoints.
//! - An [`Embedder`] turns prompt text into a vector. The built-in [`LexicalEmbedder`] needs
//!   no model; a neural embedder plugs in through the same trait ([`Embedding::Dense`]).
//! - [`TemplateConfig`] lays out the seeded prompt; [`SolutionCap`] (with an optional
//!   [`TokenCounter`]) truncates long exemplar solutions.
//!
//! # Example
//!
//! ```
//! use xrpo_seed::{ExemplarBank, ExemplarSeeder, PromptId, Provenance, SeedConfig};
//!
//! let mut bank = ExemplarBank::lexical(SeedConfig::default())?;
//! bank.block_texts(["What is 6 times 7?"]); // evaluation prompt: never an exemplar
//!
//! let step = 3;
//! bank.record(&PromptId::from("a"), "Tom has 3 apples and buys 4 more. How many apples?",
//!             "3 + 4 = 7. The answer is 7.", Provenance::Training { step })?;
//! bank.record(&PromptId::from("b"), "A train travels 60 km in 1 hour. How far in 3 hours?",
//!             "60 * 3 = 180 km.", Provenance::Training { step })?;
//!
//! // Prompt "c" got an all-zero group: seed it.
//! let seeded = bank
//!     .seed(&PromptId::from("c"), "Ann has 5 apples and buys 2 more. How many apples?")?
//!     .expect("the apple problem is similar enough");
//! assert_eq!(seeded.exemplars[0].id, PromptId::from("a"));
//! assert!(seeded.text.starts_with("Problem: Tom has 3 apples"));
//! assert!(seeded.text.ends_with("How many apples?\nSolution:"));
//!
//! // The leakage guard refuses (and reports) the evaluation prompt.
//! let out = bank.record(&PromptId::from("e"), "what is 6 times  7?", "42",
//!                       Provenance::Training { step })?;
//! assert!(matches!(out, xrpo_seed::RecordOutcome::Refused(_)));
//! assert_eq!(bank.leakage_report().refused_records, 1);
//!
//! // Checkpoint and resume.
//! let json = serde_json::to_string(&bank.state())?;
//! let restored = ExemplarBank::lexical_from_state(serde_json::from_str(&json)?)?;
//! assert_eq!(restored.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Why a hashed character n-gram TF-IDF embedder
//!
//! The paper retrieves with a neural embedding model; this crate must work with no model
//! and no download, so the default is lexical ([`LexicalEmbedder`]):
//! - *Character trigrams inside word boundaries* match math text well: numbers, variable
//!   names, LaTeX commands (`\frac`, `x^2`) and inflections ("apple"/"apples") share most
//!   of their trigrams, where a word tokenizer would see unrelated tokens. Whole-word
//!   features add exact-token precision.
//! - *TF-IDF with cosine* gives a similarity in [0, 1] (a threshold has a meaning, unlike a
//!   raw BM25 score), and IDF discounts the function words and template phrases every
//!   prompt shares. Smoothed `idf = ln((1+N)/(1+df)) + 1` stays positive.
//! - *Hashing* (FNV-1a into 2^20 buckets) needs no vocabulary, so the index updates
//!   incrementally as prompts arrive and the state stays small.
//!
//! IDF depends on the whole bank, so document frequencies are maintained incrementally and
//! document norms and per-feature score bounds are refreshed lazily, in one pass, before
//! the first query after a change. Retrieval is exact top-K cosine over an inverted index,
//! pruned MaxScore-style (only documents that can still reach the K-th score or the
//! threshold are scored fully). The benchmark `benches/retrieval.rs` runs 1,000 queries
//! against 100,000 entries.
//!
//! A neural embedder implements [`Embedder`] with [`EmbeddingKind::Dense`]; the bank then
//! uses brute-force cosine.
#![deny(missing_docs)]

mod bank;
mod config;
mod embed;
mod error;
mod index;
mod lexical;
mod seeder;
mod template;

pub use bank::{
    BANK_STATE_VERSION, BankState, BankStats, Exemplar, ExemplarBank, LeakageReport, Retrieved,
};
pub use config::SeedConfig;
pub use embed::{Embedder, Embedding, EmbeddingKind, SparseVector};
pub use error::{ConfigError, EmbedError, SeedError};
pub use index::SparseWeighting;
pub use lexical::{LexicalConfig, LexicalEmbedder, normalize_text, text_fingerprint};
pub use seeder::{
    ExemplarSeeder, NullSeeder, PromptId, Provenance, RecordOutcome, Refusal, SeededPrompt,
    SeederState, UsedExemplar,
};
pub use template::{ChatMessage, SolutionCap, TemplateConfig, TokenCounter, truncate_solution};
