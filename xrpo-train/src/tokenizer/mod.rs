//! Text ↔ token ids for every model the trainer can load.
//!
//! [`TextTokenizer`] is the one interface the sampler, trainer and CLI use. Two
//! implementations ship:
//! - [`CharTokenizer`]: one id per character of a fixed ≤ 64-symbol alphabet, for the
//!   built-in tiny model and arithmetic tasks;
//! - [`HfTokenizer`]: a Hugging Face `tokenizers` pipeline, read from a checkpoint's
//!   `tokenizer.json` or built from a GGUF file's metadata (byte-level BPE), together
//!   with the model's EOS ids and [`ChatTemplate`].
//!
//! # Example
//! ```
//! use xrpo_train::tokenizer::{CharTokenizer, TextTokenizer};
//!
//! let tok = CharTokenizer::arithmetic();
//! let ids = tok.encode("Q: 12+7=? A: 19").unwrap();
//! assert_eq!(tok.decode(&ids).unwrap(), "Q: 12+7=? A: 19");
//! assert!(tok.vocab_size() <= 64);
//! ```

mod char;
mod chat;
mod error;
mod gguf;
mod hf;

pub use char::{ARITHMETIC_ALPHABET, CharTokenizer};
pub use chat::ChatTemplate;
pub use error::TokenizerError;
pub use hf::HfTokenizer;

/// Turns text into token ids and back, and knows the model's special tokens and chat
/// format.
///
/// Contract:
/// - [`encode`](TextTokenizer::encode) adds no special tokens (no BOS, no EOS); text
///   that spells a special token (e.g. `<|im_end|>`) encodes to that token's id.
/// - [`decode`](TextTokenizer::decode) skips special tokens (EOS, BOS, control
///   tokens), so `decode(encode(s)) == s` for text that contains none; an id outside
///   the vocabulary is an error.
/// - [`bos_id`](TextTokenizer::bos_id) is `Some` only when the model expects a BOS
///   token in front of every sequence; callers prepend it themselves.
pub trait TextTokenizer: Send + Sync {
    /// Token ids of `text`, without special tokens added.
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError>;
    /// Text of `ids`, with special tokens skipped.
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError>;
    /// Number of token ids: the largest id + 1 (the model's embedding rows may be
    /// more, never fewer).
    fn vocab_size(&self) -> usize;
    /// Ids that end a generated sequence.
    fn eos_ids(&self) -> &[u32];
    /// The id to put in front of every sequence, if the model expects one.
    fn bos_id(&self) -> Option<u32>;
    /// `user` wrapped in the model's chat format, ending with the generation prompt
    /// (e.g. ChatML's `<|im_start|>assistant\n`); `user` unchanged for plain models.
    fn apply_chat_template(&self, user: &str) -> String;
    /// Whether [`apply_chat_template`](TextTokenizer::apply_chat_template) changes text.
    fn is_chat(&self) -> bool;

    /// Token ids of a prompt as the policy sees it: `text` in the chat template when the
    /// model has one, BOS first when it expects one.
    fn encode_prompt(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let rendered = self.apply_chat_template(text);
        let mut ids = Vec::new();
        if let Some(bos) = self.bos_id() {
            ids.push(bos);
        }
        ids.extend(self.encode(&rendered)?);
        Ok(ids)
    }

    /// When a sampled response ends: at an EOS id, and for plain (non-chat) models also
    /// at the first newline (their answers are one line).
    fn stop_condition(&self) -> crate::sampler::StopCondition {
        crate::sampler::StopCondition {
            eos_ids: self.eos_ids().to_vec(),
            stop_strings: if self.is_chat() {
                Vec::new()
            } else {
                vec!["\n".to_string()]
            },
        }
    }
}

impl<T: TextTokenizer + ?Sized> TextTokenizer for Box<T> {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        (**self).encode(text)
    }
    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        (**self).decode(ids)
    }
    fn vocab_size(&self) -> usize {
        (**self).vocab_size()
    }
    fn eos_ids(&self) -> &[u32] {
        (**self).eos_ids()
    }
    fn bos_id(&self) -> Option<u32> {
        (**self).bos_id()
    }
    fn apply_chat_template(&self, user: &str) -> String {
        (**self).apply_chat_template(user)
    }
    fn is_chat(&self) -> bool {
        (**self).is_chat()
    }
}
