//! The built-in, dependency-free lexical embedder: hashed word-bounded character n-grams
//! plus whole-word features, as raw term frequencies (the index applies IDF).

use serde::{Deserialize, Serialize};

use crate::embed::{Embedder, Embedding, EmbeddingKind, SparseVector};
use crate::error::{ConfigError, EmbedError};

/// Settings of [`LexicalEmbedder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LexicalConfig {
    /// Shortest character n-gram, in characters. Default 3.
    pub ngram_min: usize,
    /// Longest character n-gram, in characters. Default 3 (trigrams only: the best
    /// recall/memory trade-off we measured; 3..=4 doubles the index size).
    pub ngram_max: usize,
    /// Also emit one feature per whole word (exact-token precision). Default true.
    pub word_unigrams: bool,
    /// Features are hashed into `2^hash_bits` buckets. Default 20 (about one million
    /// buckets: collisions are rare at the 10⁵ distinct n-grams of a math corpus). 8..=24.
    pub hash_bits: u32,
}

impl Default for LexicalConfig {
    fn default() -> Self {
        Self {
            ngram_min: 3,
            ngram_max: 3,
            word_unigrams: true,
            hash_bits: 20,
        }
    }
}

impl LexicalConfig {
    /// Checks every field; see [`ConfigError`] for what is rejected.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(8..=24).contains(&self.hash_bits) {
            return Err(ConfigError::HashBits {
                value: self.hash_bits,
            });
        }
        if self.ngram_max > 0 || self.ngram_min > 0 {
            if self.ngram_min == 0 || self.ngram_min > self.ngram_max || self.ngram_max > 8 {
                return Err(ConfigError::NgramRange {
                    min: self.ngram_min,
                    max: self.ngram_max,
                });
            }
        } else if !self.word_unigrams {
            return Err(ConfigError::NoFeatures);
        }
        Ok(())
    }
}

/// Canonical form of a prompt for identity and blocking: Unicode-lowercased, whitespace
/// runs collapsed to one space, trimmed.
pub fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over bytes: a stable hash (unlike `std`'s `DefaultHasher`, it is fixed across
/// Rust releases), so feature ids and text fingerprints are reproducible everywhere.
pub(crate) fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Stable 64-bit fingerprint of a prompt's [normalised](normalize_text) text.
pub fn text_fingerprint(text: &str) -> u64 {
    fnv1a(FNV_OFFSET, normalize_text(text).as_bytes())
}

/// Hashed character n-gram embedder (see the crate docs for why this one).
///
/// The text is [normalised](normalize_text) and split on whitespace. Each word, padded with
/// one space on each side, yields its character n-grams of every length in
/// `ngram_min..=ngram_max` (a word shorter than `n` yields itself once); with
/// `word_unigrams`, the whole word is one more feature. Features are hashed (FNV-1a, with
/// the n-gram length as a namespace) into `2^hash_bits` buckets; the value is the count.
#[derive(Debug, Clone, Default)]
pub struct LexicalEmbedder {
    config: LexicalConfig,
}

impl LexicalEmbedder {
    /// An embedder with the given settings.
    pub fn new(config: LexicalConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The settings in use.
    pub fn config(&self) -> &LexicalConfig {
        &self.config
    }

    /// The raw term-frequency vector of `text` (infallible form of [`Embedder::embed`]).
    pub fn features(&self, text: &str) -> SparseVector {
        let mask = (1u64 << self.config.hash_bits) - 1;
        let norm = normalize_text(text);
        let mut pairs: Vec<(u32, f32)> = Vec::with_capacity(norm.len() * 2);
        let mut padded: Vec<char> = Vec::new();
        let mut buf = [0u8; 4];
        for word in norm.split(' ').filter(|w| !w.is_empty()) {
            if self.config.word_unigrams {
                // Namespace 0 is whole words; n-grams use namespace n >= 1.
                let h = fnv1a(fnv1a(FNV_OFFSET, &[0]), word.as_bytes());
                pairs.push(((h & mask) as u32, 1.0));
            }
            if self.config.ngram_min == 0 {
                continue;
            }
            padded.clear();
            padded.push(' ');
            padded.extend(word.chars());
            padded.push(' ');
            for n in self.config.ngram_min..=self.config.ngram_max {
                let n_eff = n.min(padded.len());
                let seed = fnv1a(FNV_OFFSET, &[n as u8]);
                for gram in padded.windows(n_eff) {
                    let mut h = seed;
                    for c in gram {
                        h = fnv1a(h, c.encode_utf8(&mut buf).as_bytes());
                    }
                    pairs.push(((h & mask) as u32, 1.0));
                }
            }
        }
        SparseVector::from_pairs(pairs)
    }
}

impl Embedder for LexicalEmbedder {
    fn kind(&self) -> EmbeddingKind {
        EmbeddingKind::Sparse {
            dims: 1u32 << self.config.hash_bits,
        }
    }

    fn embed(&self, text: &str) -> Result<Embedding, EmbedError> {
        Ok(Embedding::Sparse(self.features(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_collapses_case_and_space() {
        assert_eq!(normalize_text("  What IS\t2 +\n 2? "), "what is 2 + 2?");
        assert_eq!(text_fingerprint("A  b"), text_fingerprint("a b"));
        assert_ne!(text_fingerprint("a b"), text_fingerprint("ab"));
    }

    #[test]
    fn trigram_counts_match_a_hand_count() {
        let e = LexicalEmbedder::new(LexicalConfig {
            word_unigrams: false,
            ..LexicalConfig::default()
        })
        .unwrap();
        // " aa " has trigrams " aa", "aa " ; "aa aa" repeats the word: each count 2.
        let v = e.features("aa aa");
        assert_eq!(v.len(), 2);
        assert!(v.values().iter().all(|&x| x == 2.0));
        // A one-letter word padded is " a " (3 chars): one trigram.
        assert_eq!(e.features("a").len(), 1);
        assert!(e.features("   ").is_empty());
    }

    #[test]
    fn invalid_configs_are_rejected() {
        let bad = LexicalConfig {
            hash_bits: 30,
            ..LexicalConfig::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::HashBits { value: 30 }));
        let bad = LexicalConfig {
            ngram_min: 4,
            ngram_max: 3,
            ..LexicalConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(ConfigError::NgramRange { .. })
        ));
        let bad = LexicalConfig {
            ngram_min: 0,
            ngram_max: 0,
            word_unigrams: false,
            ..LexicalConfig::default()
        };
        assert_eq!(bad.validate(), Err(ConfigError::NoFeatures));
    }
}
