//! Byte-level BPE tokenizers rebuilt from a GGUF file's `tokenizer.*` metadata.
//!
//! A GGUF file carries the vocabulary (`tokenizer.ggml.tokens`), the BPE merges
//! (`tokenizer.ggml.merges`, "left right" pairs in rank order), each token's type
//! (`tokenizer.ggml.token_type`: 1 normal, 3 control, 4 user-defined), the special ids
//! and the pre-tokenizer family (`tokenizer.ggml.pre`). We rebuild the pipeline the
//! original `tokenizer.json` had: the family's split regex, GPT-2 byte-to-unicode
//! mapping, BPE, control tokens as special added tokens (matched whole in text, skipped
//! when decoding).

use std::collections::HashMap;

use candle_core::quantized::gguf_file::Value;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior};

use super::{ChatTemplate, HfTokenizer, TokenizerError};

/// `tokenizer.ggml.token_type` of a control token (`<|im_end|>`, `<|endoftext|>`).
const TOKEN_TYPE_CONTROL: i64 = 3;
/// `tokenizer.ggml.token_type` of a user-defined added token (matched whole, not special).
const TOKEN_TYPE_USER_DEFINED: i64 = 4;

/// Llama 3's split regex (`tokenizer.ggml.pre = "llama-bpe"`): numbers in groups of ≤ 3.
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's split regex (`tokenizer.ggml.pre = "qwen2"`): one digit per piece.
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Tokens that end a turn or a document in the model families we load; those present
/// in the vocabulary as control tokens are EOS ids besides `tokenizer.ggml.eos_token_id`.
const END_TOKENS: [&str; 5] = [
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<|end_of_text|>",
    "<|eom_id|>",
];

fn get<'a>(md: &'a HashMap<String, Value>, key: &str) -> Result<&'a Value, TokenizerError> {
    md.get(key).ok_or_else(|| TokenizerError::GgufMetadata {
        key: key.into(),
        problem: "missing".into(),
    })
}

fn bad(key: &str, e: impl std::fmt::Display) -> TokenizerError {
    TokenizerError::GgufMetadata {
        key: key.into(),
        problem: e.to_string(),
    }
}

fn string_array(md: &HashMap<String, Value>, key: &str) -> Result<Vec<String>, TokenizerError> {
    let values = get(md, key)?.to_vec().map_err(|e| bad(key, e))?;
    values
        .iter()
        .map(|v| v.to_string().cloned().map_err(|e| bad(key, e)))
        .collect()
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::U8(x) => Some(i64::from(*x)),
        Value::I8(x) => Some(i64::from(*x)),
        Value::U16(x) => Some(i64::from(*x)),
        Value::I16(x) => Some(i64::from(*x)),
        Value::U32(x) => Some(i64::from(*x)),
        Value::I32(x) => Some(i64::from(*x)),
        Value::U64(x) => i64::try_from(*x).ok(),
        Value::I64(x) => Some(*x),
        _ => None,
    }
}

fn optional_id(md: &HashMap<String, Value>, key: &str) -> Result<Option<u32>, TokenizerError> {
    match md.get(key) {
        None => Ok(None),
        Some(v) => as_i64(v)
            .and_then(|x| u32::try_from(x).ok())
            .map(Some)
            .ok_or_else(|| bad(key, format!("expected a token id, found {v:?}"))),
    }
}

/// The pre-tokenizer of a `tokenizer.ggml.pre` family.
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper, TokenizerError> {
    let split = |re: &str| -> Result<PreTokenizerWrapper, TokenizerError> {
        let split = Split::new(
            SplitPattern::Regex(re.to_string()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        .map_err(|e| TokenizerError::Unsupported {
            what: format!("split regex of pre-tokenizer {pre:?}: {e}"),
        })?;
        Ok(Sequence::new(vec![
            split.into(),
            ByteLevel::new(false, true, false).into(),
        ])
        .into())
    };
    match pre {
        // GPT-2's regex on byte-level text.
        "default" | "gpt2" | "gpt-2" | "starcoder" | "refact" => {
            Ok(ByteLevel::new(false, true, true).into())
        }
        // SmolLM: every digit on its own, then GPT-2's regex (as the original
        // tokenizer.json and llama.cpp do).
        "smollm" => Ok(Sequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, true, true).into(),
        ])
        .into()),
        "llama-bpe" | "llama3" | "llama-v3" | "smaug-bpe" | "dbrx" | "falcon3" => {
            split(LLAMA3_SPLIT)
        }
        "qwen2" | "deepseek-r1-qwen" | "megrez" => split(QWEN2_SPLIT),
        other => Err(TokenizerError::Unsupported {
            what: format!(
                "GGUF pre-tokenizer tokenizer.ggml.pre = {other:?} (supported: default, gpt2, smollm, llama-bpe, qwen2)"
            ),
        }),
    }
}

/// Builds the tokenizer described by a GGUF file's metadata.
pub(super) fn from_metadata(md: &HashMap<String, Value>) -> Result<HfTokenizer, TokenizerError> {
    let model_key = "tokenizer.ggml.model";
    let model = get(md, model_key)?
        .to_string()
        .map_err(|e| bad(model_key, e))?;
    if model != "gpt2" {
        return Err(TokenizerError::Unsupported {
            what: format!(
                "GGUF tokenizer.ggml.model = {model:?}; only byte-level BPE (\"gpt2\") vocabularies are supported"
            ),
        });
    }
    let tokens = string_array(md, "tokenizer.ggml.tokens")?;
    let merges_raw = string_array(md, "tokenizer.ggml.merges")?;
    let types_key = "tokenizer.ggml.token_type";
    let types: Vec<i64> = match md.get(types_key) {
        None => vec![1; tokens.len()],
        Some(v) => v
            .to_vec()
            .map_err(|e| bad(types_key, e))?
            .iter()
            .map(|t| as_i64(t).ok_or_else(|| bad(types_key, format!("non-integer entry {t:?}"))))
            .collect::<Result<_, _>>()?,
    };
    if types.len() != tokens.len() {
        return Err(bad(
            types_key,
            format!("{} entries for {} tokens", types.len(), tokens.len()),
        ));
    }

    let mut vocab = Vocab::default();
    for (id, tok) in tokens.iter().enumerate() {
        // A repeated spelling keeps its first id, as llama.cpp does.
        vocab.entry(tok.clone()).or_insert(id as u32);
    }
    let mut merges = Vec::with_capacity(merges_raw.len());
    for (rank, m) in merges_raw.iter().enumerate() {
        let (a, b) = m.split_once(' ').ok_or_else(|| {
            bad(
                "tokenizer.ggml.merges",
                format!("entry {rank} ({m:?}) is not two space-separated pieces"),
            )
        })?;
        merges.push((a.to_string(), b.to_string()));
    }
    let pre_name = match md.get("tokenizer.ggml.pre") {
        Some(v) => v
            .to_string()
            .map_err(|e| bad("tokenizer.ggml.pre", e))?
            .clone(),
        None => "default".to_string(),
    };
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        // Llama 3's tokenizer.json looks whole pieces up before merging.
        .ignore_merges(matches!(
            pre_name.as_str(),
            "llama-bpe" | "llama3" | "llama-v3"
        ))
        .build()
        .map_err(|e| bad("tokenizer.ggml.merges", e))?;
    let mut inner = tokenizers::Tokenizer::new(bpe);
    inner.with_pre_tokenizer(Some(pre_tokenizer(&pre_name)?));
    inner.with_decoder(Some(ByteLevelDecoder::default()));

    let control: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, t)| **t == TOKEN_TYPE_CONTROL)
        .map(|(s, _)| AddedToken::from(s.clone(), true).normalized(false))
        .collect();
    inner.add_special_tokens(&control);
    let user: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, t)| **t == TOKEN_TYPE_USER_DEFINED)
        .map(|(s, _)| AddedToken::from(s.clone(), false).normalized(false))
        .collect();
    inner.add_tokens(&user);

    let n = tokens.len() as u32;
    let check = |id: Option<u32>, key: &str| -> Result<Option<u32>, TokenizerError> {
        match id {
            Some(i) if i >= n => Err(bad(key, format!("id {i} >= vocabulary size {n}"))),
            other => Ok(other),
        }
    };
    let eos = check(
        optional_id(md, "tokenizer.ggml.eos_token_id")?,
        "tokenizer.ggml.eos_token_id",
    )?;
    let bos = check(
        optional_id(md, "tokenizer.ggml.bos_token_id")?,
        "tokenizer.ggml.bos_token_id",
    )?;
    let add_bos = match md.get("tokenizer.ggml.add_bos_token") {
        Some(v) => v
            .to_bool()
            .map_err(|e| bad("tokenizer.ggml.add_bos_token", e))?,
        // llama.cpp adds no BOS to byte-level vocabularies that do not ask for one.
        None => false,
    };
    let mut eos_ids: Vec<u32> = eos.into_iter().collect();
    for name in END_TOKENS {
        if let Some(id) = tokens.iter().position(|t| t == name)
            && types[id] == TOKEN_TYPE_CONTROL
            && !eos_ids.contains(&(id as u32))
        {
            eos_ids.push(id as u32);
        }
    }
    let chat = match md.get("tokenizer.chat_template") {
        Some(v) => {
            let jinja = v
                .to_string()
                .map_err(|e| bad("tokenizer.chat_template", e))?;
            ChatTemplate::detect(jinja).unwrap_or_default()
        }
        None => ChatTemplate::Plain,
    };
    Ok(HfTokenizer::new(
        inner,
        eos_ids,
        if add_bos { bos } else { None },
        chat,
    ))
}
