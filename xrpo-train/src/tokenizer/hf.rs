//! A Hugging Face `tokenizers` pipeline plus the model's special tokens and chat format.

use std::path::Path;

use super::{ChatTemplate, TextTokenizer, TokenizerError};

/// A `tokenizers::Tokenizer` (from a `tokenizer.json` or built from GGUF metadata) with
/// the model's EOS ids, optional BOS and [`ChatTemplate`].
#[derive(Clone)]
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    /// Largest id + 1, computed once: `tokenizers` rebuilds the whole vocabulary map on
    /// every `get_vocab_size(true)` call (≈ 7 ms for 49k tokens).
    vocab_size: usize,
    eos_ids: Vec<u32>,
    bos_id: Option<u32>,
    chat: ChatTemplate,
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfTokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("eos_ids", &self.eos_ids)
            .field("bos_id", &self.bos_id)
            .field("chat", &self.chat)
            .finish()
    }
}

impl HfTokenizer {
    /// Wraps a ready pipeline. `eos_ids` end generation; `bos_id` is prepended by
    /// callers when `Some`.
    pub fn new(
        inner: tokenizers::Tokenizer,
        eos_ids: Vec<u32>,
        bos_id: Option<u32>,
        chat: ChatTemplate,
    ) -> HfTokenizer {
        let vocab_size = inner
            .get_vocab(true)
            .values()
            .max()
            .map_or(0, |&m| m as usize + 1);
        HfTokenizer {
            inner,
            vocab_size,
            eos_ids,
            bos_id,
            chat,
        }
    }

    /// Reads a `tokenizer.json`; special tokens and chat format are left empty (the
    /// checkpoint loader fills them from the neighbouring config files).
    pub fn from_file(path: &Path) -> Result<HfTokenizer, TokenizerError> {
        let inner =
            tokenizers::Tokenizer::from_file(path).map_err(|source| TokenizerError::Load {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(HfTokenizer::new(
            inner,
            Vec::new(),
            None,
            ChatTemplate::Plain,
        ))
    }

    /// Builds the tokenizer a GGUF file describes in its `tokenizer.*` metadata
    /// (byte-level BPE, `tokenizer.ggml.model = "gpt2"`).
    pub fn from_gguf_metadata(
        metadata: &std::collections::HashMap<String, candle_core::quantized::gguf_file::Value>,
    ) -> Result<HfTokenizer, TokenizerError> {
        super::gguf::from_metadata(metadata)
    }

    /// The underlying pipeline.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// The chat format.
    pub fn chat_template(&self) -> &ChatTemplate {
        &self.chat
    }

    /// Replaces the EOS ids.
    pub fn with_eos_ids(mut self, eos_ids: Vec<u32>) -> HfTokenizer {
        self.eos_ids = eos_ids;
        self
    }

    /// Replaces the BOS id.
    pub fn with_bos_id(mut self, bos_id: Option<u32>) -> HfTokenizer {
        self.bos_id = bos_id;
        self
    }

    /// Replaces the chat format.
    pub fn with_chat_template(mut self, chat: ChatTemplate) -> HfTokenizer {
        self.chat = chat;
        self
    }

    /// The id of a token spelled exactly `token` (added tokens included).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }
}

impl TextTokenizer for HfTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|source| TokenizerError::Encode {
                chars: text.chars().count(),
                start: text.chars().take(32).collect(),
                source,
            })?;
        Ok(enc.get_ids().to_vec())
    }

    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let vocab_size = self.vocab_size();
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocab_size) {
            return Err(TokenizerError::IdOutOfRange { id, vocab_size });
        }
        self.inner
            .decode(ids, true)
            .map_err(|source| TokenizerError::Decode {
                len: ids.len(),
                source,
            })
    }

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    fn bos_id(&self) -> Option<u32> {
        self.bos_id
    }

    fn apply_chat_template(&self, user: &str) -> String {
        self.chat.apply(user)
    }

    fn is_chat(&self) -> bool {
        self.chat.is_chat()
    }
}
