//! The [`Embedder`] contract and the vectors it returns.

use crate::error::EmbedError;

/// What kind of vector an [`Embedder`] produces; fixed for the embedder's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingKind {
    /// Sparse non-negative term weights over feature ids `0..dims` (lexical embedders).
    /// The bank keeps an inverted index and applies IDF weighting itself (see
    /// [`SparseWeighting`](crate::SparseWeighting)), so return raw term frequencies.
    Sparse {
        /// Size of the feature space; every feature id must be `< dims`.
        dims: u32,
    },
    /// Dense vectors of a fixed dimension (neural embedders); compared by brute-force cosine.
    Dense {
        /// Vector length.
        dim: usize,
    },
}

/// A sparse vector: sorted, distinct feature ids with their weights.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SparseVector {
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl SparseVector {
    /// Builds a vector from `(feature, weight)` pairs in any order; repeated features are
    /// summed and zero weights dropped.
    pub fn from_pairs(mut pairs: Vec<(u32, f32)>) -> Self {
        pairs.sort_unstable_by_key(|&(i, _)| i);
        let mut indices = Vec::with_capacity(pairs.len());
        let mut values: Vec<f32> = Vec::with_capacity(pairs.len());
        for (i, v) in pairs {
            if indices.last() == Some(&i) {
                // Invariant: `indices` and `values` always have the same length.
                *values.last_mut().expect("values parallel to indices") += v;
            } else {
                indices.push(i);
                values.push(v);
            }
        }
        let mut out = Self { indices, values };
        out.retain_nonzero();
        out
    }

    fn retain_nonzero(&mut self) {
        let mut w = 0;
        for r in 0..self.indices.len() {
            if self.values[r] != 0.0 {
                self.indices[w] = self.indices[r];
                self.values[w] = self.values[r];
                w += 1;
            }
        }
        self.indices.truncate(w);
        self.values.truncate(w);
    }

    /// Feature ids, strictly increasing.
    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    /// Weights, parallel to [`indices`](Self::indices).
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// Number of non-zero features.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the vector has no non-zero feature.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Iterates over `(feature, weight)` pairs in feature order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.indices
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }
}

/// An embedding of one prompt text.
#[derive(Debug, Clone, PartialEq)]
pub enum Embedding {
    /// Sparse term weights (see [`EmbeddingKind::Sparse`]).
    Sparse(SparseVector),
    /// A dense vector (see [`EmbeddingKind::Dense`]).
    Dense(Vec<f32>),
}

/// Turns a prompt text into a vector for similarity search.
///
/// Contract:
/// - [`kind`](Self::kind) is constant: every `embed` result has that kind and dimension
///   (the bank checks and reports [`SeedError::InvalidEmbedding`](crate::SeedError)).
/// - `embed` is deterministic (same text, same vector), so a bank restored from a
///   checkpoint rebuilds the same index.
/// - Sparse weights are non-negative raw term frequencies; the bank applies IDF.
/// - Dense vectors need not be normalised; the bank compares them by cosine.
///
/// The trait is object-safe: the bank holds an `Arc<dyn Embedder>`.
pub trait Embedder: Send + Sync {
    /// The kind and dimension of every vector this embedder returns.
    fn kind(&self) -> EmbeddingKind;

    /// Embeds one prompt text.
    fn embed(&self, text: &str) -> Result<Embedding, EmbedError>;
}
