//! Similarity indexes behind the bank: an inverted index for sparse (lexical) vectors with
//! exact top-K cosine, and a brute-force cosine index for dense (neural) vectors.
//!
//! Both hand out `u32` handles that the bank uses to find its entries; scores are exact
//! functions of the current set of vectors (not of the order they arrived in), so a bank
//! rebuilt from a checkpoint ranks bit-for-bit like the original.

use serde::{Deserialize, Serialize};

use crate::embed::{Embedding, EmbeddingKind, SparseVector};

/// How the sparse index weights raw term frequencies before the cosine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SparseWeighting {
    /// `w = tf · idf(f)` with the smoothed `idf(f) = ln((1 + N) / (1 + df_f)) + 1`
    /// (`N` live entries, `df_f` live entries containing feature `f`), on both the query
    /// and the stored prompts. Default.
    #[default]
    TfIdf,
    /// `w = tf`: the embedder's weights are used as they are (e.g. a learned sparse model).
    Raw,
}

/// One retrieved vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub handle: u32,
    pub score: f32,
}

/// Relative slack on the MaxScore upper bounds, so float rounding in the partial sums can
/// never prune a document whose exact score reaches the cut.
const BOUND_SLACK_REL: f32 = 1e-4;
/// Absolute slack on the MaxScore upper bounds (same purpose as [`BOUND_SLACK_REL`]).
const BOUND_SLACK_ABS: f32 = 1e-6;
/// After admission closes, this many of the best partial documents (at least 2·k) are
/// scored exactly first, so that the cut θ becomes a real k-th score early.
const PHASE_B_LEAD: usize = 8;
/// During admission, the best partial documents are scored exactly every this many terms.
const LEAD_EVERY: usize = 2;
/// Cost of one forward-vector lookup relative to reading one posting (cache misses).
const LOOKUP_COST: usize = 16;
/// Dead postings are compacted away once they exceed this share of all postings.
const COMPACT_DEAD_SHARE: f32 = 0.25;

/// The index kinds, chosen from the embedder's [`EmbeddingKind`].
#[derive(Debug)]
pub(crate) enum VectorIndex {
    Sparse(Box<SparseIndex>),
    Dense(DenseIndex),
}

impl VectorIndex {
    pub fn new(kind: EmbeddingKind, weighting: SparseWeighting) -> Self {
        match kind {
            EmbeddingKind::Sparse { dims } => {
                Self::Sparse(Box::new(SparseIndex::new(dims, weighting)))
            }
            EmbeddingKind::Dense { dim } => Self::Dense(DenseIndex::new(dim)),
        }
    }

    /// Checks that `e` fits this index; the message names the offending value.
    pub fn check(&self, e: &Embedding) -> Result<(), String> {
        match (self, e) {
            (Self::Sparse(s), Embedding::Sparse(v)) => {
                for (f, w) in v.iter() {
                    if f >= s.dims {
                        return Err(format!("feature {f} is outside 0..{}", s.dims));
                    }
                    if !w.is_finite() || w < 0.0 {
                        return Err(format!(
                            "feature {f} has weight {w} (must be finite and >= 0)"
                        ));
                    }
                }
                Ok(())
            }
            (Self::Dense(d), Embedding::Dense(v)) => {
                if v.len() != d.dim {
                    return Err(format!(
                        "dense length {} but the embedder declared {}",
                        v.len(),
                        d.dim
                    ));
                }
                match v.iter().position(|x| !x.is_finite()) {
                    Some(i) => Err(format!("component {i} is {}", v[i])),
                    None => Ok(()),
                }
            }
            (Self::Sparse(_), Embedding::Dense(_)) => {
                Err("dense vector from an embedder that declared sparse".into())
            }
            (Self::Dense(_), Embedding::Sparse(_)) => {
                Err("sparse vector from an embedder that declared dense".into())
            }
        }
    }

    /// Inserts a vector that passed [`check`](Self::check); returns its handle.
    pub fn insert(&mut self, e: &Embedding) -> u32 {
        match (self, e) {
            (Self::Sparse(s), Embedding::Sparse(v)) => s.insert(v),
            (Self::Dense(d), Embedding::Dense(v)) => d.insert(v),
            _ => unreachable!("insert is only called after check()"),
        }
    }

    /// Removes the vector behind `handle`.
    pub fn remove(&mut self, handle: u32) {
        match self {
            Self::Sparse(s) => s.remove(handle),
            Self::Dense(d) => d.remove(handle),
        }
    }

    /// Hits with cosine `>= threshold`, excluding `exclude`: the best `k` plus any that tie
    /// the `k`-th score (the caller breaks ties by a stable key), best first.
    pub fn search(&mut self, q: &Embedding, k: usize, threshold: f32, exclude: &[u32]) -> Vec<Hit> {
        let mut hits = match (self, q) {
            (Self::Sparse(s), Embedding::Sparse(v)) => s.search(v, k, threshold, exclude),
            (Self::Dense(d), Embedding::Dense(v)) => d.search(v, threshold, exclude),
            _ => unreachable!("search is only called after check()"),
        };
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.handle.cmp(&b.handle)));
        if hits.len() > k && k > 0 {
            let kth = hits[k - 1].score;
            let keep = hits.iter().take_while(|h| h.score >= kth).count();
            hits.truncate(keep);
        }
        hits
    }
}

/// One posting: a document holding the feature, its raw term frequency, and the weight
/// `w = tf · (1/‖d‖)` as of the last refresh.
#[derive(Debug, Clone, Copy)]
struct Posting {
    handle: u32,
    tf: f32,
    w: f32,
}

/// Search scratch of one handle (stamp and score side by side: one cache access).
#[derive(Debug, Clone, Copy)]
struct Acc {
    stamp: u32,
    score: f32,
}

/// One query term during a search: feature, contribution factor, upper bound.
#[derive(Debug, Clone, Copy)]
struct Term {
    feature: u32,
    /// `c_f = q̂_f · idf_f`: a document's contribution is `c_f · tf · (1/‖d‖)`.
    c: f32,
    /// `c_f · max_d tf_d(f)/‖d‖`: no document gains more than this from the term.
    ub: f32,
}

/// Inverted index over sparse vectors with exact top-K cosine (MaxScore-style pruning).
///
/// A search runs query terms in decreasing order of their score bound `ub_f`:
/// - *admission* (phase A): term-at-a-time accumulation over posting lists; every few
///   terms the best partial documents are scored exactly, and admission closes as soon as
///   the bound of the remaining terms falls below the k-th exact score (or the threshold):
///   no unseen document can make the top K any more;
/// - *scan* (A2): while many admitted candidates remain, the next posting lists are
///   scanned for them only (sequential reads beat random lookups);
/// - *finish* (B): each remaining candidate is completed by binary search in its forward
///   vector and dropped as soon as its partial plus the remaining bound falls below θ.
///
/// Every document's score is the sum of its term contributions in term order whichever
/// phase adds them, so results are exact and independent of handle assignment.
/// Inserts and removals are incremental: O(features of the vector). IDF weights depend on
/// the whole bank, so document norms and per-feature score bounds are refreshed lazily in
/// one O(total postings) pass before the first search after a change (tens of ms at 10⁵
/// entries); dead postings are compacted in that pass once they exceed 25 %.
#[derive(Debug)]
pub(crate) struct SparseIndex {
    weighting: SparseWeighting,
    dims: u32,
    /// Forward vectors `(feature, tf)` by handle, sorted by feature; empty when dead.
    fwd: Vec<Box<[(u32, f32)]>>,
    alive: Vec<bool>,
    /// Posting lists `(handle, tf)` by feature (sized lazily to the largest feature seen).
    postings: Vec<Vec<Posting>>,
    df: Vec<u32>,
    n_live: u32,
    total_postings: usize,
    dead_postings: usize,
    free: Vec<u32>,
    pending_free: Vec<u32>,
    dirty: bool,
    idf: Vec<f32>,
    inv_norm: Vec<f32>,
    max_w: Vec<f32>,
    /// Per-handle search scratch: partial score and the search it belongs to.
    acc: Vec<Acc>,
    generation: u32,
    touched: Vec<u32>,
    scratch_handles: Vec<u32>,
}

impl SparseIndex {
    fn new(dims: u32, weighting: SparseWeighting) -> Self {
        Self {
            weighting,
            dims,
            fwd: Vec::new(),
            alive: Vec::new(),
            postings: Vec::new(),
            df: Vec::new(),
            n_live: 0,
            total_postings: 0,
            dead_postings: 0,
            free: Vec::new(),
            pending_free: Vec::new(),
            dirty: false,
            idf: Vec::new(),
            inv_norm: Vec::new(),
            max_w: Vec::new(),
            acc: Vec::new(),
            generation: 0,
            touched: Vec::new(),
            scratch_handles: Vec::new(),
        }
    }

    /// `idf(df) = ln((1 + N)/(1 + df)) + 1` (smoothed, never 0), or 1 for raw weighting.
    fn idf_of(&self, df: u32) -> f32 {
        match self.weighting {
            SparseWeighting::TfIdf => {
                ((1.0 + f64::from(self.n_live)) / (1.0 + f64::from(df))).ln() as f32 + 1.0
            }
            SparseWeighting::Raw => 1.0,
        }
    }

    fn insert(&mut self, v: &SparseVector) -> u32 {
        let h = match self.free.pop() {
            Some(h) => h,
            None => {
                let h = self.fwd.len() as u32;
                self.fwd.push(Box::new([]));
                self.alive.push(false);
                self.inv_norm.push(0.0);
                self.acc.push(Acc {
                    stamp: 0,
                    score: 0.0,
                });
                h
            }
        };
        if let Some(&last) = v.indices().last() {
            let need = last as usize + 1;
            if self.postings.len() < need {
                self.postings.resize_with(need, Vec::new);
                self.df.resize(need, 0);
            }
        }
        for (f, tf) in v.iter() {
            self.postings[f as usize].push(Posting {
                handle: h,
                tf,
                w: 0.0,
            });
            self.df[f as usize] += 1;
        }
        self.fwd[h as usize] = v.iter().collect();
        self.alive[h as usize] = true;
        self.n_live += 1;
        self.total_postings += v.len();
        self.dirty = true;
        h
    }

    fn remove(&mut self, h: u32) {
        let hu = h as usize;
        if !self.alive[hu] {
            return;
        }
        self.alive[hu] = false;
        let fwd = std::mem::take(&mut self.fwd[hu]);
        for &(f, _) in fwd.iter() {
            self.df[f as usize] -= 1;
        }
        self.dead_postings += fwd.len();
        self.n_live -= 1;
        // The handle's stale postings stay until compaction, so it is reused only after it.
        self.pending_free.push(h);
        self.dirty = true;
    }

    /// Recomputes IDF, document norms ‖d‖ and per-feature bounds; compacts dead postings.
    fn refresh(&mut self) {
        if !self.dirty {
            return;
        }
        let nf = self.postings.len();
        self.idf.resize(nf, 0.0);
        self.max_w.resize(nf, 0.0);
        for f in 0..nf {
            let df = self.df[f];
            self.idf[f] = if df > 0 { self.idf_of(df) } else { 0.0 };
        }
        for h in 0..self.fwd.len() {
            if !self.alive[h] {
                continue;
            }
            let mut s = 0.0f64;
            for &(f, tf) in self.fwd[h].iter() {
                let w = f64::from(tf * self.idf[f as usize]);
                s += w * w;
            }
            self.inv_norm[h] = if s > 0.0 {
                (1.0 / s.sqrt()) as f32
            } else {
                0.0
            };
        }
        let compact = self.dead_postings as f32 > COMPACT_DEAD_SHARE * self.total_postings as f32;
        for f in 0..nf {
            let list = &mut self.postings[f];
            if compact {
                let alive = &self.alive;
                list.retain(|p| alive[p.handle as usize]);
            }
            let mut m = 0.0f32;
            for p in list.iter_mut() {
                if self.alive[p.handle as usize] {
                    p.w = p.tf * self.inv_norm[p.handle as usize];
                    m = m.max(p.w);
                }
            }
            self.max_w[f] = m;
        }
        if compact {
            self.total_postings -= self.dead_postings;
            self.dead_postings = 0;
            self.free.append(&mut self.pending_free);
        }
        self.dirty = false;
    }

    fn search(&mut self, q: &SparseVector, k: usize, threshold: f32, exclude: &[u32]) -> Vec<Hit> {
        self.refresh();
        if self.n_live == 0 {
            return Vec::new();
        }
        // Query weights q_f = tf · idf_f and ‖q‖ (features unseen in the bank count in ‖q‖).
        let mut raw: Vec<(u32, f32, f32)> = Vec::with_capacity(q.len());
        let mut q_norm2 = 0.0f64;
        for (f, tf) in q.iter() {
            let fu = f as usize;
            let known = fu < self.df.len() && self.df[fu] > 0;
            let idf_f = if known { self.idf[fu] } else { self.idf_of(0) };
            let qw = tf * idf_f;
            q_norm2 += f64::from(qw) * f64::from(qw);
            if known {
                raw.push((f, qw, idf_f));
            }
        }
        if q_norm2 <= 0.0 || raw.is_empty() {
            return Vec::new();
        }
        let q_inv = (1.0 / q_norm2.sqrt()) as f32;
        let mut terms: Vec<Term> = raw
            .into_iter()
            .map(|(f, qw, idf_f)| {
                let c = qw * q_inv * idf_f;
                Term {
                    feature: f,
                    c,
                    ub: c * self.max_w[f as usize],
                }
            })
            .collect();
        terms.sort_by(|a, b| b.ub.total_cmp(&a.ub).then(a.feature.cmp(&b.feature)));
        let mut rest = vec![0.0f32; terms.len() + 1];
        for j in (0..terms.len()).rev() {
            rest[j] = rest[j + 1] + terms[j].ub;
        }
        let bound = |j: usize| rest[j] * (1.0 + BOUND_SLACK_REL) + BOUND_SLACK_ABS;

        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.acc.iter_mut().for_each(|a| a.stamp = 0);
            self.generation = 1;
        }
        let generation = self.generation;
        self.touched.clear();
        // Up to k (handle, partial score) pairs with the largest partials seen, distinct
        // handles. Partials only grow, so the smallest of them is a lower bound on the
        // current k-th best partial, hence on the final k-th best score.
        let mut top: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
        let mut top_min = f32::NEG_INFINITY;

        // Every document's score is the sum of its term contributions in term order, in
        // whichever phase each is added, so scores do not depend on where phases switch.
        let exact_from = |idx: &Self, h: u32, from: usize, theta: f32| -> Option<f32> {
            let hu = h as usize;
            let fwd = &idx.fwd[hu];
            let mut s = idx.acc[hu].score;
            for (i, t) in terms[from..].iter().enumerate() {
                if s + bound(from + i) < theta {
                    return None;
                }
                if let Ok(p) = fwd.binary_search_by_key(&t.feature, |&(f, _)| f) {
                    // Same rounding as the posting weight `w = tf · (1/‖d‖)`.
                    s += t.c * (fwd[p].1 * idx.inv_norm[hu]);
                }
            }
            Some(s)
        };

        // Documents scored exactly so far (distinct handles) and the k-th best of them.
        let mut lead: Vec<(u32, f32)> = Vec::new();
        let kth_lead = |lead: &mut Vec<(u32, f32)>| -> f32 {
            lead.sort_by(|a, b| b.1.total_cmp(&a.1));
            if lead.len() >= k {
                lead[k - 1].1
            } else {
                f32::NEG_INFINITY
            }
        };
        let mut theta_exact = f32::NEG_INFINITY;

        // Phase A (term at a time, highest bound first): admit any document while the
        // bound of the remaining terms can still reach the cut θ = max(threshold, top_min).
        let mut j = 0;
        while j < terms.len() {
            let r = bound(j);
            if r < threshold || (top.len() == k && r < top_min) || r < theta_exact {
                break;
            }
            // Every few terms, score the best partial documents exactly: a real k-th score
            // closes admission much earlier than the partial-score cut.
            if top.len() == k && j % LEAD_EVERY == LEAD_EVERY - 1 {
                let mut added = false;
                for &(h, _) in &top {
                    if !lead.iter().any(|e| e.0 == h)
                        && let Some(s) = exact_from(self, h, j, f32::NEG_INFINITY)
                    {
                        lead.push((h, s));
                        added = true;
                    }
                }
                if added {
                    theta_exact = kth_lead(&mut lead);
                    if r < theta_exact {
                        break;
                    }
                }
            }
            let t = terms[j];
            for p in &self.postings[t.feature as usize] {
                let (h, hu) = (p.handle, p.handle as usize);
                if !self.alive[hu] {
                    continue;
                }
                let a = &mut self.acc[hu];
                if a.stamp != generation {
                    *a = Acc {
                        stamp: generation,
                        score: 0.0,
                    };
                    self.touched.push(h);
                }
                a.score += t.c * p.w;
                let v = a.score;
                if (top.len() < k || v > top_min) && !exclude.contains(&h) {
                    if let Some(e) = top.iter_mut().find(|e| e.0 == h) {
                        e.1 = v;
                    } else if top.len() < k {
                        top.push((h, v));
                    } else if let Some(m) = top.iter_mut().min_by(|a, b| a.1.total_cmp(&b.1)) {
                        *m = (h, v);
                    }
                    if top.len() == k {
                        top_min = top.iter().map(|e| e.1).fold(f32::INFINITY, f32::min);
                    }
                }
            }
            j += 1;
        }

        let mut hits = Vec::new();
        if j == terms.len() {
            for &h in &self.touched {
                let s = self.acc[h as usize].score;
                if s >= threshold && !exclude.contains(&h) {
                    hits.push(Hit {
                        handle: h,
                        score: s,
                    });
                }
            }
            return hits;
        }

        // Lead: score the best partial documents exactly, so θ becomes a real k-th score.
        let mut theta = if top.len() == k {
            threshold.max(top_min)
        } else {
            threshold
        };
        theta = theta.max(theta_exact);
        let mut cands = std::mem::take(&mut self.scratch_handles);
        cands.clear();
        let r = bound(j);
        cands.extend(
            self.touched
                .iter()
                .copied()
                .filter(|&h| self.acc[h as usize].score + r >= theta && !exclude.contains(&h)),
        );
        let lead_n = cands.len().min(PHASE_B_LEAD.max(2 * k));
        if lead_n > 0 && lead_n < cands.len() {
            let acc = &self.acc;
            cands.select_nth_unstable_by(lead_n - 1, |&a, &b| {
                acc[b as usize].score.total_cmp(&acc[a as usize].score)
            });
        }
        for &h in &cands[..lead_n] {
            if !lead.iter().any(|e| e.0 == h)
                && let Some(s) = exact_from(self, h, j, f32::NEG_INFINITY)
            {
                lead.push((h, s));
            }
        }
        theta = theta.max(kth_lead(&mut lead));

        // Phase A2: while the candidates are many, finishing terms by scanning their posting
        // lists (sequential) is cheaper than looking each candidate up (random access).
        loop {
            let r = bound(j);
            cands.retain(|&h| self.acc[h as usize].score + r >= theta);
            if j == terms.len()
                || cands.len() * LOOKUP_COST < self.postings[terms[j].feature as usize].len()
            {
                break;
            }
            let t = terms[j];
            for p in &self.postings[t.feature as usize] {
                let hu = p.handle as usize;
                let a = &mut self.acc[hu];
                if a.stamp == generation && self.alive[hu] {
                    a.score += t.c * p.w;
                }
            }
            j += 1;
        }

        // Phase B: finish each candidate by forward-vector lookups, dropping it as soon as
        // its partial plus the remaining bound falls below θ; exact scores raise θ.
        let mut best: Vec<f32> = lead.iter().take(k).map(|e| e.1).collect();
        for &h in &cands {
            let Some(s) = exact_from(self, h, j, theta) else {
                continue;
            };
            if s < threshold {
                continue;
            }
            hits.push(Hit {
                handle: h,
                score: s,
            });
            if lead.iter().any(|e| e.0 == h) {
                continue;
            }
            if best.len() < k {
                best.push(s);
            } else if let Some(m) = best.iter_mut().min_by(|a, b| a.total_cmp(b))
                && s > *m
            {
                *m = s;
            }
            if best.len() == k {
                theta = theta.max(best.iter().copied().fold(f32::INFINITY, f32::min));
            }
        }
        self.scratch_handles = cands;
        hits
    }
}

/// Brute-force cosine over dense vectors (the neural-embedder path).
#[derive(Debug)]
pub(crate) struct DenseIndex {
    dim: usize,
    data: Vec<f32>,
    inv_norm: Vec<f32>,
    alive: Vec<bool>,
    free: Vec<u32>,
}

impl DenseIndex {
    fn new(dim: usize) -> Self {
        Self {
            dim,
            data: Vec::new(),
            inv_norm: Vec::new(),
            alive: Vec::new(),
            free: Vec::new(),
        }
    }

    fn inv_norm_of(v: &[f32]) -> f32 {
        let s: f64 = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
        if s > 0.0 {
            (1.0 / s.sqrt()) as f32
        } else {
            0.0
        }
    }

    fn insert(&mut self, v: &[f32]) -> u32 {
        let h = match self.free.pop() {
            Some(h) => h,
            None => {
                let h = self.alive.len() as u32;
                self.data.resize(self.data.len() + self.dim, 0.0);
                self.inv_norm.push(0.0);
                self.alive.push(false);
                h
            }
        };
        let hu = h as usize;
        self.data[hu * self.dim..(hu + 1) * self.dim].copy_from_slice(v);
        self.inv_norm[hu] = Self::inv_norm_of(v);
        self.alive[hu] = true;
        h
    }

    fn remove(&mut self, h: u32) {
        if std::mem::replace(&mut self.alive[h as usize], false) {
            self.free.push(h);
        }
    }

    fn search(&self, q: &[f32], threshold: f32, exclude: &[u32]) -> Vec<Hit> {
        let q_inv = Self::inv_norm_of(q);
        if q_inv == 0.0 || self.dim == 0 {
            return Vec::new();
        }
        let mut hits = Vec::new();
        for (hu, row) in self.data.chunks_exact(self.dim).enumerate() {
            let h = hu as u32;
            if !self.alive[hu] || exclude.contains(&h) {
                continue;
            }
            let dot: f32 = row.iter().zip(q).map(|(a, b)| a * b).sum();
            let score = dot * self.inv_norm[hu] * q_inv;
            if score >= threshold && self.inv_norm[hu] > 0.0 {
                hits.push(Hit { handle: h, score });
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: plain TF-IDF cosine computed densely, independently of the index.
    fn reference(docs: &[Vec<(u32, f32)>], q: &[(u32, f32)]) -> Vec<f64> {
        let n = docs.len() as f64;
        let df = |f: u32| {
            docs.iter()
                .filter(|d| d.iter().any(|&(g, _)| g == f))
                .count() as f64
        };
        let idf = |f: u32| ((1.0 + n) / (1.0 + df(f))).ln() + 1.0;
        let vecn = |v: &[(u32, f32)]| -> Vec<(u32, f64)> {
            let w: Vec<(u32, f64)> = v.iter().map(|&(f, t)| (f, f64::from(t) * idf(f))).collect();
            let norm = w.iter().map(|x| x.1 * x.1).sum::<f64>().sqrt();
            w.into_iter().map(|(f, x)| (f, x / norm)).collect()
        };
        let qn = vecn(q);
        docs.iter()
            .map(|d| {
                let dn = vecn(d);
                qn.iter()
                    .map(|&(f, x)| {
                        dn.iter()
                            .find(|&&(g, _)| g == f)
                            .map_or(0.0, |&(_, y)| x * y)
                    })
                    .sum()
            })
            .collect()
    }

    #[test]
    fn sparse_scores_match_a_dense_reference() {
        let docs = vec![
            vec![(1, 2.0), (2, 1.0), (5, 1.0)],
            vec![(1, 1.0), (3, 4.0)],
            vec![(2, 1.0), (3, 1.0), (4, 1.0), (5, 2.0)],
            vec![(7, 1.0)],
        ];
        let q = vec![(1, 1.0), (2, 1.0), (3, 1.0), (6, 1.0)];
        let mut idx = VectorIndex::new(EmbeddingKind::Sparse { dims: 8 }, SparseWeighting::TfIdf);
        for d in &docs {
            idx.insert(&Embedding::Sparse(SparseVector::from_pairs(d.clone())));
        }
        let want = reference(&docs, &q);
        let hits = idx.search(
            &Embedding::Sparse(SparseVector::from_pairs(q)),
            10,
            0.0,
            &[],
        );
        assert_eq!(hits.len(), 3, "doc 3 shares no feature with the query");
        for h in hits {
            let w = want[h.handle as usize];
            assert!(
                (f64::from(h.score) - w).abs() < 1e-5,
                "handle {} {} vs {w}",
                h.handle,
                h.score
            );
        }
    }

    #[test]
    fn removed_vectors_are_never_returned_and_handles_are_reused_after_compaction() {
        let mut idx = VectorIndex::new(EmbeddingKind::Sparse { dims: 4 }, SparseWeighting::TfIdf);
        let a = idx.insert(&Embedding::Sparse(SparseVector::from_pairs(vec![(0, 1.0)])));
        let b = idx.insert(&Embedding::Sparse(SparseVector::from_pairs(vec![
            (0, 1.0),
            (1, 1.0),
        ])));
        idx.remove(a);
        let q = Embedding::Sparse(SparseVector::from_pairs(vec![(0, 1.0)]));
        let hits = idx.search(&q, 5, 0.0, &[]);
        assert_eq!(hits.iter().map(|h| h.handle).collect::<Vec<_>>(), vec![b]);
        // Half the postings were dead, so the search compacted them and freed `a`.
        let c = idx.insert(&Embedding::Sparse(SparseVector::from_pairs(vec![(2, 1.0)])));
        assert_eq!(c, a);
        let hits = idx.search(&q, 5, 0.0, &[]);
        assert_eq!(hits.len(), 1);
    }

    #[test]
    fn dense_cosine_matches_hand_computation() {
        let mut idx = VectorIndex::new(EmbeddingKind::Dense { dim: 2 }, SparseWeighting::TfIdf);
        idx.insert(&Embedding::Dense(vec![1.0, 0.0]));
        idx.insert(&Embedding::Dense(vec![1.0, 1.0]));
        idx.insert(&Embedding::Dense(vec![0.0, -1.0]));
        let hits = idx.search(&Embedding::Dense(vec![2.0, 0.0]), 2, 0.0, &[]);
        // cos((1,0),(1,0)) = 1; cos((1,1),(1,0)) = 1/√2; (0,-1) is at 0 -> kept at threshold 0.
        assert_eq!(hits.len(), 2);
        assert!((hits[0].score - 1.0).abs() < 1e-6);
        assert!((hits[1].score - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert!(idx.check(&Embedding::Dense(vec![1.0])).is_err());
        assert!(idx.check(&Embedding::Dense(vec![f32::NAN, 0.0])).is_err());
    }
}
