//! [`ExemplarBank`]: verified solutions with provenance, a capacity cap, a leakage guard,
//! similarity retrieval, and checkpoint state.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::SeedConfig;
use crate::embed::{Embedder, Embedding};
use crate::error::SeedError;
use crate::index::VectorIndex;
use crate::lexical::{LexicalEmbedder, text_fingerprint};
use crate::seeder::{
    ExemplarSeeder, PromptId, Provenance, RecordOutcome, Refusal, SeededPrompt, SeederState,
    UsedExemplar, describe_embedding,
};
use crate::template::{SolutionCap, TokenCounter, truncate_solution};

/// Version of [`BankState`] this build writes and reads.
pub const BANK_STATE_VERSION: u32 = 1;

/// Characters of a prompt quoted in an error message.
const QUOTE_CHARS: usize = 80;

/// One stored exemplar: a prompt and its shortest known correct solution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemplar {
    /// Stable prompt id.
    pub id: PromptId,
    /// Prompt text as recorded.
    pub prompt: String,
    /// Shortest verified solution (untruncated; truncation happens at render time).
    pub solution: String,
    /// Where the solution came from.
    pub provenance: Provenance,
    /// Recency: the bank's insertion counter when this entry was inserted or last replaced.
    /// The smallest evictable `seq` is evicted first.
    pub seq: u64,
}

/// One retrieval result.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrieved {
    /// The exemplar's prompt id.
    pub id: PromptId,
    /// Cosine similarity to the query prompt.
    pub similarity: f32,
}

/// Running counters (serialized with the state; feed `seed/*` metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BankStats {
    /// New prompts stored.
    pub inserted: u64,
    /// Stored solutions replaced by shorter ones.
    pub replaced: u64,
    /// Records that kept the stored solution.
    pub kept_existing: u64,
    /// Entries evicted by the capacity cap.
    pub evicted: u64,
    /// Records refused because the prompt is blocked (evaluation set).
    pub refused_blocked: u64,
    /// Records refused because the bank is full of pinned curated entries.
    pub refused_full: u64,
    /// Entries removed because their prompt was blocked after they were stored.
    pub purged_blocked: u64,
    /// Calls to `seed`.
    pub seed_calls: u64,
    /// Calls to `seed` that returned a seeded prompt.
    pub seeded: u64,
}

/// What the leakage guard refused: every blocked prompt someone tried to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakageReport {
    /// Refused records in total.
    pub refused_records: u64,
    /// Entries purged when their prompt was blocked after being stored.
    pub purged_entries: u64,
    /// Each refused prompt id with how often it was refused, by id.
    pub refused_prompts: Vec<(PromptId, u64)>,
}

/// The bank's whole state, for checkpoints. The similarity index is not stored: it is
/// rebuilt deterministically from `entries` on [`ExemplarBank::from_state`] (scores are
/// exact functions of the stored prompts, so retrieval after a resume is bit-identical).
/// Blocked texts are stored as 64-bit FNV-1a fingerprints of their normalised text, so a
/// checkpoint never contains evaluation prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankState {
    /// Format version ([`BANK_STATE_VERSION`]).
    pub version: u32,
    /// The configuration in force.
    pub config: SeedConfig,
    /// Stored exemplars, oldest `seq` first.
    pub entries: Vec<Exemplar>,
    /// Blocked prompt ids.
    pub blocked_ids: Vec<PromptId>,
    /// Fingerprints of blocked normalised prompt texts.
    pub blocked_text_fingerprints: Vec<u64>,
    /// Next value of the recency counter.
    pub next_seq: u64,
    /// Counters.
    pub stats: BankStats,
    /// Refused prompt ids and counts.
    pub refused: Vec<(PromptId, u64)>,
}

struct Slot {
    ex: Exemplar,
    fingerprint: u64,
}

/// The exemplar bank and seeder (XRPO spec §2).
///
/// Keeps, per prompt, the shortest verified solution; caps the number of prompts and evicts
/// the oldest (curated entries are pinned unless `evict_curated`); refuses blocked
/// (evaluation) prompts and reports them; retrieves the top-K most similar *other*
/// prompts by cosine similarity of their embeddings; renders seeded prompts.
pub struct ExemplarBank {
    config: SeedConfig,
    embedder: Arc<dyn Embedder>,
    counter: Option<Arc<dyn TokenCounter>>,
    index: VectorIndex,
    slots: Vec<Option<Slot>>,
    len: usize,
    pinned: usize,
    by_id: HashMap<PromptId, u32>,
    by_text: HashMap<u64, Vec<u32>>,
    blocked_ids: BTreeSet<PromptId>,
    blocked_texts: BTreeSet<u64>,
    /// `(seq, handle)` of evictable entries, oldest first; stale pairs are skipped lazily.
    queue: VecDeque<(u64, u32)>,
    next_seq: u64,
    stats: BankStats,
    refused: BTreeMap<PromptId, u64>,
}

impl fmt::Debug for ExemplarBank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExemplarBank")
            .field("len", &self.len)
            .field("pinned", &self.pinned)
            .field("blocked_ids", &self.blocked_ids.len())
            .field("blocked_texts", &self.blocked_texts.len())
            .field("stats", &self.stats)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn quote(text: &str) -> String {
    text.chars().take(QUOTE_CHARS).collect()
}

impl ExemplarBank {
    /// An empty bank using `embedder` for prompt similarity.
    pub fn new(config: SeedConfig, embedder: Arc<dyn Embedder>) -> Result<Self, SeedError> {
        config.validate()?;
        let index = VectorIndex::new(embedder.kind(), config.weighting);
        Ok(Self {
            config,
            embedder,
            counter: None,
            index,
            slots: Vec::new(),
            len: 0,
            pinned: 0,
            by_id: HashMap::new(),
            by_text: HashMap::new(),
            blocked_ids: BTreeSet::new(),
            blocked_texts: BTreeSet::new(),
            queue: VecDeque::new(),
            next_seq: 0,
            stats: BankStats::default(),
            refused: BTreeMap::new(),
        })
    }

    /// An empty bank with the built-in [`LexicalEmbedder`] configured by `config.lexical`.
    pub fn lexical(config: SeedConfig) -> Result<Self, SeedError> {
        let embedder = LexicalEmbedder::new(config.lexical.clone())?;
        Self::new(config, Arc::new(embedder))
    }

    /// Uses `counter` for a token-based [`SolutionCap::Tokens`].
    pub fn with_token_counter(mut self, counter: Arc<dyn TokenCounter>) -> Self {
        self.counter = Some(counter);
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &SeedConfig {
        &self.config
    }

    /// Number of stored prompts.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the bank is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The stored exemplar for `id`, if any.
    pub fn get(&self, id: &PromptId) -> Option<&Exemplar> {
        let h = *self.by_id.get(id)?;
        self.slots[h as usize].as_ref().map(|s| &s.ex)
    }

    /// All stored exemplars, in no particular order.
    pub fn exemplars(&self) -> impl Iterator<Item = &Exemplar> {
        self.slots.iter().flatten().map(|s| &s.ex)
    }

    /// Running counters.
    pub fn stats(&self) -> &BankStats {
        &self.stats
    }

    /// Everything the leakage guard refused or purged so far.
    pub fn leakage_report(&self) -> LeakageReport {
        LeakageReport {
            refused_records: self.stats.refused_blocked,
            purged_entries: self.stats.purged_blocked,
            refused_prompts: self.refused.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }

    /// Blocks prompt ids (e.g. the evaluation set): later records are refused and stored
    /// entries with these ids are purged. Returns how many entries were purged.
    pub fn block_ids<I, P>(&mut self, ids: I) -> usize
    where
        I: IntoIterator<Item = P>,
        P: Into<PromptId>,
    {
        let mut purged = 0;
        for id in ids {
            let id = id.into();
            if let Some(&h) = self.by_id.get(&id) {
                self.remove_handle(h);
                purged += 1;
            }
            self.blocked_ids.insert(id);
        }
        self.stats.purged_blocked += purged as u64;
        purged
    }

    /// Blocks prompt texts (compared after [normalisation](crate::normalize_text)): later
    /// records are refused and stored entries with these texts are purged. Returns how many
    /// entries were purged.
    pub fn block_texts<I, S>(&mut self, texts: I) -> usize
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut purged = 0;
        for t in texts {
            let fp = text_fingerprint(t.as_ref());
            if let Some(hs) = self.by_text.get(&fp).cloned() {
                for h in hs {
                    self.remove_handle(h);
                    purged += 1;
                }
            }
            self.blocked_texts.insert(fp);
        }
        self.stats.purged_blocked += purged as u64;
        purged
    }

    /// Pre-loads a curated exemplar (same rules as [`record`](ExemplarSeeder::record);
    /// curated entries are pinned unless `evict_curated`).
    pub fn add_curated(
        &mut self,
        prompt_id: impl Into<PromptId>,
        prompt: &str,
        solution: &str,
        source: Option<String>,
    ) -> Result<RecordOutcome, SeedError> {
        self.record(
            &prompt_id.into(),
            prompt,
            solution,
            Provenance::Curated { source },
        )
    }

    fn is_pinned(&self, p: &Provenance) -> bool {
        matches!(p, Provenance::Curated { .. }) && !self.config.evict_curated
    }

    fn embed_checked(&self, prompt_id: &PromptId, text: &str) -> Result<Embedding, SeedError> {
        let e = self
            .embedder
            .embed(text)
            .map_err(|source| SeedError::Embedder {
                prompt_id: prompt_id.clone(),
                source,
            })?;
        self.index
            .check(&e)
            .map_err(|reason| SeedError::InvalidEmbedding {
                prompt_id: prompt_id.clone(),
                reason,
            })?;
        Ok(e)
    }

    fn remove_handle(&mut self, h: u32) -> Option<Exemplar> {
        let slot = self.slots.get_mut(h as usize)?.take()?;
        self.index.remove(h);
        self.by_id.remove(&slot.ex.id);
        if let Some(v) = self.by_text.get_mut(&slot.fingerprint) {
            v.retain(|&x| x != h);
            if v.is_empty() {
                self.by_text.remove(&slot.fingerprint);
            }
        }
        self.len -= 1;
        if self.is_pinned(&slot.ex.provenance) {
            self.pinned -= 1;
        }
        Some(slot.ex)
    }

    /// Evicts the oldest evictable entry; `None` when every entry is pinned.
    fn evict_oldest(&mut self) -> Option<PromptId> {
        while let Some((seq, h)) = self.queue.pop_front() {
            let live = matches!(&self.slots.get(h as usize), Some(Some(s)) if s.ex.seq == seq);
            if live {
                self.stats.evicted += 1;
                return self.remove_handle(h).map(|ex| ex.id);
            }
        }
        None
    }

    fn push_queue(&mut self, seq: u64, h: u32) {
        self.queue.push_back((seq, h));
        if self.queue.len() > 2 * self.len + 64 {
            let slots = &self.slots;
            self.queue
                .retain(|&(s, h)| matches!(&slots.get(h as usize), Some(Some(x)) if x.ex.seq == s));
        }
    }

    fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Inserts a new prompt (the caller checked it is absent and not blocked).
    fn insert_new(
        &mut self,
        ex: Exemplar,
        fingerprint: u64,
        embedding: &Embedding,
    ) -> Result<RecordOutcome, SeedError> {
        let pinned = self.is_pinned(&ex.provenance);
        if pinned && self.pinned + 1 > self.config.capacity {
            return Err(SeedError::CuratedOverCapacity {
                capacity: self.config.capacity,
            });
        }
        let mut evicted = None;
        while self.len >= self.config.capacity {
            match self.evict_oldest() {
                Some(id) => evicted = Some(id),
                None => {
                    self.stats.refused_full += 1;
                    return Ok(RecordOutcome::Refused(Refusal::FullOfPinned));
                }
            }
        }
        let h = self.index.insert(embedding);
        let hu = h as usize;
        if self.slots.len() <= hu {
            self.slots.resize_with(hu + 1, || None);
        }
        self.by_id.insert(ex.id.clone(), h);
        self.by_text.entry(fingerprint).or_default().push(h);
        if pinned {
            self.pinned += 1;
        } else {
            self.push_queue(ex.seq, h);
        }
        self.slots[hu] = Some(Slot { ex, fingerprint });
        self.len += 1;
        self.stats.inserted += 1;
        Ok(RecordOutcome::Inserted { evicted })
    }

    /// The top-K stored prompts most similar to `prompt` with similarity at or above the
    /// threshold, excluding the target's own entry (same id or same normalised text); most
    /// similar first, ties broken by prompt id.
    pub fn retrieve(
        &mut self,
        prompt_id: &PromptId,
        prompt: &str,
    ) -> Result<Vec<Retrieved>, SeedError> {
        if prompt.trim().is_empty() {
            return Err(SeedError::EmptyText {
                prompt_id: prompt_id.clone(),
                field: "prompt",
            });
        }
        if self.len == 0 {
            return Ok(Vec::new());
        }
        let q = self.embed_checked(prompt_id, prompt)?;
        let mut exclude: Vec<u32> = Vec::new();
        if let Some(&h) = self.by_id.get(prompt_id) {
            exclude.push(h);
        }
        if let Some(hs) = self.by_text.get(&text_fingerprint(prompt)) {
            for &h in hs {
                if !exclude.contains(&h) {
                    exclude.push(h);
                }
            }
        }
        let k = self.config.k;
        let hits = self
            .index
            .search(&q, k, self.config.similarity_threshold, &exclude);
        let mut out: Vec<Retrieved> = hits
            .into_iter()
            .filter_map(|hit| {
                let slot = self.slots.get(hit.handle as usize)?.as_ref()?;
                Some(Retrieved {
                    id: slot.ex.id.clone(),
                    similarity: hit.score,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| a.id.cmp(&b.id))
        });
        out.truncate(k);
        Ok(out)
    }

    /// The bank's whole state (see [`BankState`]).
    pub fn state(&self) -> BankState {
        let mut entries: Vec<Exemplar> = self.exemplars().cloned().collect();
        entries.sort_by_key(|e| e.seq);
        BankState {
            version: BANK_STATE_VERSION,
            config: self.config.clone(),
            entries,
            blocked_ids: self.blocked_ids.iter().cloned().collect(),
            blocked_text_fingerprints: self.blocked_texts.iter().copied().collect(),
            next_seq: self.next_seq,
            stats: self.stats.clone(),
            refused: self.refused.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        }
    }

    /// Restores a bank from [`state`](Self::state), rebuilding the index with `embedder`
    /// (which must be the embedder the state was built with for identical retrieval).
    pub fn from_state(state: BankState, embedder: Arc<dyn Embedder>) -> Result<Self, SeedError> {
        if state.version != BANK_STATE_VERSION {
            return Err(SeedError::StateVersion {
                found: state.version,
                supported: BANK_STATE_VERSION,
            });
        }
        let mut bank = Self::new(state.config, embedder)?;
        let mut entries = state.entries;
        entries.sort_by_key(|e| e.seq);
        for ex in entries {
            if bank.by_id.contains_key(&ex.id) {
                return Err(SeedError::DuplicateStateEntry { prompt_id: ex.id });
            }
            let e = bank.embed_checked(&ex.id, &ex.prompt)?;
            let fp = text_fingerprint(&ex.prompt);
            bank.insert_new(ex, fp, &e)?;
        }
        bank.blocked_ids = state.blocked_ids.into_iter().collect();
        bank.blocked_texts = state.blocked_text_fingerprints.into_iter().collect();
        bank.next_seq = state.next_seq;
        bank.stats = state.stats;
        bank.refused = state.refused.into_iter().collect();
        Ok(bank)
    }

    /// [`from_state`](Self::from_state) with the built-in lexical embedder.
    pub fn lexical_from_state(state: BankState) -> Result<Self, SeedError> {
        let embedder = LexicalEmbedder::new(state.config.lexical.clone())?;
        Self::from_state(state, Arc::new(embedder))
    }

    fn refuse(&mut self, id: &PromptId, why: Refusal) -> RecordOutcome {
        self.stats.refused_blocked += 1;
        *self.refused.entry(id.clone()).or_insert(0) += 1;
        RecordOutcome::Refused(why)
    }
}

impl ExemplarSeeder for ExemplarBank {
    /// Stores the solution if the prompt is new, or if it is shorter (in characters) than
    /// the stored one; a curated record always replaces a training entry, a training record
    /// never replaces a curated one. Blocked prompts are refused and counted.
    fn record(
        &mut self,
        prompt_id: &PromptId,
        prompt: &str,
        solution: &str,
        provenance: Provenance,
    ) -> Result<RecordOutcome, SeedError> {
        for (field, text) in [("prompt", prompt), ("solution", solution)] {
            if text.trim().is_empty() {
                return Err(SeedError::EmptyText {
                    prompt_id: prompt_id.clone(),
                    field,
                });
            }
        }
        if self.blocked_ids.contains(prompt_id) {
            return Ok(self.refuse(prompt_id, Refusal::BlockedId));
        }
        let fingerprint = text_fingerprint(prompt);
        if self.blocked_texts.contains(&fingerprint) {
            return Ok(self.refuse(prompt_id, Refusal::BlockedText));
        }
        if let Some(&h) = self.by_id.get(prompt_id) {
            let pinned_new = self.is_pinned(&provenance);
            let evict_curated = self.config.evict_curated;
            // Invariant: every handle in `by_id` points at a live slot.
            let slot = self.slots[h as usize]
                .as_ref()
                .expect("by_id points at a live slot");
            if slot.fingerprint != fingerprint {
                return Err(SeedError::PromptIdConflict {
                    prompt_id: prompt_id.clone(),
                    stored: quote(&slot.ex.prompt),
                    new: quote(prompt),
                });
            }
            let old_curated = matches!(slot.ex.provenance, Provenance::Curated { .. });
            let new_curated = matches!(provenance, Provenance::Curated { .. });
            let shorter = solution.chars().count() < slot.ex.solution.chars().count();
            let replace = match (old_curated, new_curated) {
                (false, true) => true,
                (true, false) => false,
                _ => shorter,
            };
            if !replace {
                self.stats.kept_existing += 1;
                return Ok(RecordOutcome::KeptExisting);
            }
            let was_pinned = old_curated && !evict_curated;
            if pinned_new && !was_pinned && self.pinned + 1 > self.config.capacity {
                return Err(SeedError::CuratedOverCapacity {
                    capacity: self.config.capacity,
                });
            }
            let seq = self.take_seq();
            let slot = self.slots[h as usize]
                .as_mut()
                .expect("by_id points at a live slot");
            slot.ex.solution = solution.to_owned();
            slot.ex.provenance = provenance;
            slot.ex.seq = seq;
            match (was_pinned, pinned_new) {
                (false, true) => self.pinned += 1,
                (true, false) => self.pinned -= 1,
                _ => {}
            }
            if !pinned_new {
                self.push_queue(seq, h);
            }
            self.stats.replaced += 1;
            return Ok(RecordOutcome::Replaced);
        }
        let embedding = self.embed_checked(prompt_id, prompt)?;
        let ex = Exemplar {
            id: prompt_id.clone(),
            prompt: prompt.to_owned(),
            solution: solution.to_owned(),
            provenance,
            seq: self.next_seq,
        };
        let out = self.insert_new(ex, fingerprint, &embedding)?;
        if matches!(out, RecordOutcome::Inserted { .. }) {
            self.next_seq += 1;
        }
        Ok(out)
    }

    fn seed(
        &mut self,
        prompt_id: &PromptId,
        prompt: &str,
    ) -> Result<Option<SeededPrompt>, SeedError> {
        self.stats.seed_calls += 1;
        if matches!(self.config.solution_cap, SolutionCap::Tokens(_)) && self.counter.is_none() {
            return Err(SeedError::MissingTokenCounter);
        }
        let hits = self.retrieve(prompt_id, prompt)?;
        if hits.is_empty() {
            return Ok(None);
        }
        let counter = self.counter.as_deref();
        let mut pairs: Vec<(&str, String)> = Vec::with_capacity(hits.len());
        let mut used = Vec::with_capacity(hits.len());
        for hit in hits {
            // Invariant: retrieve() only returns ids of live entries.
            let ex = self.get(&hit.id).expect("retrieved ids are stored");
            let (kept, truncated) =
                truncate_solution(&ex.solution, self.config.solution_cap, counter)
                    .ok_or(SeedError::MissingTokenCounter)?;
            let mut solution = kept.to_owned();
            if truncated {
                // Trailing whitespace of the cut is dropped so the marker reads cleanly.
                solution.truncate(kept.trim_end().len());
                solution.push_str(&self.config.template.truncation_marker);
            }
            pairs.push((ex.prompt.as_str(), solution));
            used.push(UsedExemplar {
                id: hit.id,
                similarity: hit.similarity,
                provenance: ex.provenance.clone(),
                truncated,
            });
        }
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(p, s)| (*p, s.as_str())).collect();
        let text = self.config.template.render(&refs, prompt);
        let messages = self.config.template.render_chat(&refs, prompt);
        self.stats.seeded += 1;
        Ok(Some(SeededPrompt {
            text,
            messages,
            exemplars: used,
        }))
    }

    fn state(&self) -> SeederState {
        SeederState::Bank {
            embedding: self.embedder.kind(),
            bank: Box::new(ExemplarBank::state(self)),
        }
    }

    fn restore(&mut self, state: &SeederState) -> Result<(), SeedError> {
        match state {
            SeederState::Bank { embedding, bank } if *embedding == self.embedder.kind() => {
                let mut restored = Self::from_state((**bank).clone(), Arc::clone(&self.embedder))?;
                restored.counter = self.counter.clone();
                *self = restored;
                Ok(())
            }
            other => Err(SeedError::IncompatibleState {
                expected: format!(
                    "an exemplar bank ({})",
                    describe_embedding(&self.embedder.kind())
                ),
                found: other.describe(),
            }),
        }
    }

    fn exemplar_count(&self) -> usize {
        self.len
    }
}
