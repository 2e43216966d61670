//! Reading a local Hugging Face checkpoint directory (Llama, Qwen2/Qwen2.5).
//!
//! Files read: `config.json` (architecture), every `*.safetensors` (weights, cast to
//! f32), `tokenizer.json` (the pipeline), and, when present, `tokenizer_config.json`
//! (chat template, BOS policy, EOS token) and `generation_config.json` (EOS ids).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use serde_json::Value as Json;

use super::{LoadError, LoadedModel, ModelParts, check_tensors, check_vocab};
use crate::model::{ModelConfig, Policy};
use crate::tokenizer::{CharTokenizer, ChatTemplate, HfTokenizer, TextTokenizer};

/// Architectures (`config.json` `architectures[0]`) we can load.
const SUPPORTED: [&str; 3] = ["LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"];

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_json(path: &Path) -> Result<Json, LoadError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|source| LoadError::Config {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json_if_present(path: &Path) -> Result<Option<Json>, LoadError> {
    if path.is_file() {
        read_json(path).map(Some)
    } else {
        Ok(None)
    }
}

/// Reads `config.json` into a [`ModelConfig`], rejecting features our policy lacks.
fn read_config(path: &Path) -> Result<(ModelConfig, Json), LoadError> {
    let raw = read_json(path)?;
    let unsupported = |what: String| LoadError::Unsupported {
        path: path.to_path_buf(),
        what,
    };
    let arch = raw
        .get("architectures")
        .and_then(|a| a.get(0))
        .and_then(Json::as_str)
        .unwrap_or("");
    if !SUPPORTED.contains(&arch) {
        return Err(unsupported(format!(
            "architecture {arch:?} (supported: {})",
            SUPPORTED.join(", ")
        )));
    }
    if let Some(act) = raw.get("hidden_act").and_then(Json::as_str)
        && act != "silu"
    {
        return Err(unsupported(format!("hidden_act {act:?} (only silu)")));
    }
    if let Some(s) = raw.get("rope_scaling")
        && !s.is_null()
    {
        return Err(unsupported(format!("rope_scaling {s}")));
    }
    if raw.get("mlp_bias").and_then(Json::as_bool) == Some(true) {
        return Err(unsupported("mlp_bias = true".into()));
    }
    if raw.get("use_sliding_window").and_then(Json::as_bool) == Some(true) {
        return Err(unsupported("use_sliding_window = true".into()));
    }
    if arch == "MistralForCausalLM" && raw.get("sliding_window").is_some_and(|w| !w.is_null()) {
        return Err(unsupported("Mistral sliding_window attention".into()));
    }
    let mut config: ModelConfig =
        serde_json::from_value(raw.clone()).map_err(|source| LoadError::Config {
            path: path.to_path_buf(),
            source,
        })?;
    // Qwen2 always has q/k/v biases; its config.json does not say so.
    if arch == "Qwen2ForCausalLM" {
        config.attention_bias = true;
    }
    config.validate().map_err(|e| unsupported(e.to_string()))?;
    Ok((config, raw))
}

/// The `*.safetensors` files of a directory, sorted.
fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(LoadError::MissingTensor {
            path: dir.to_path_buf(),
            name: "*.safetensors (no weight file in the directory)".into(),
        });
    }
    Ok(files)
}

/// Reads the config and all weights; tensors are f32, on the CPU, exactly the ones the
/// config implies (rotary caches dropped, a redundant tied `lm_head` dropped).
fn read_weights(dir: &Path) -> Result<(ModelConfig, Json, HashMap<String, Tensor>), LoadError> {
    let (config, raw) = read_config(&dir.join("config.json"))?;
    let mut tensors = HashMap::new();
    for file in safetensors_files(dir)? {
        let part = candle_core::safetensors::load(&file, &Device::Cpu).map_err(|source| {
            LoadError::Safetensors {
                path: file.clone(),
                source,
            }
        })?;
        for (name, t) in part {
            if name.ends_with("rotary_emb.inv_freq")
                || (config.tie_word_embeddings && name == "lm_head.weight")
            {
                continue;
            }
            let t = if t.dtype() == DType::F32 {
                t
            } else {
                t.to_dtype(DType::F32)?
            };
            tensors.insert(name, t);
        }
    }
    check_tensors(dir, &config, &tensors)?;
    Ok((config, raw, tensors))
}

/// An id from a JSON number or list of numbers.
fn ids_of(v: Option<&Json>) -> Vec<u32> {
    match v {
        Some(Json::Number(n)) => n.as_u64().map(|x| x as u32).into_iter().collect(),
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(Json::as_u64)
            .map(|x| x as u32)
            .collect(),
        _ => Vec::new(),
    }
}

/// A special token as written in `tokenizer_config.json`: a string or `{"content": …}`.
fn token_text(v: Option<&Json>) -> Option<&str> {
    match v? {
        Json::String(s) => Some(s),
        Json::Object(o) => o.get("content").and_then(Json::as_str),
        _ => None,
    }
}

/// The tokenizer with EOS ids, BOS policy and chat format from the sibling files.
fn read_tokenizer(dir: &Path, config_raw: &Json) -> Result<HfTokenizer, LoadError> {
    let tok = HfTokenizer::from_file(&dir.join("tokenizer.json"))?;
    let tok_cfg = read_json_if_present(&dir.join("tokenizer_config.json"))?;
    let gen_cfg = read_json_if_present(&dir.join("generation_config.json"))?;

    let mut eos = ids_of(gen_cfg.as_ref().and_then(|g| g.get("eos_token_id")));
    for id in ids_of(config_raw.get("eos_token_id")) {
        if !eos.contains(&id) {
            eos.push(id);
        }
    }
    if let Some(text) = token_text(tok_cfg.as_ref().and_then(|c| c.get("eos_token")))
        && let Some(id) = tok.token_to_id(text)
        && !eos.contains(&id)
    {
        eos.push(id);
    }

    // BOS: when tokenizer_config.json says so, or when the pipeline's post-processor
    // prepends a token (Llama 3's tokenizer.json does, with no config flag).
    let bos_text = token_text(tok_cfg.as_ref().and_then(|c| c.get("bos_token")));
    let bos_from_cfg = bos_text
        .and_then(|t| tok.token_to_id(t))
        .or_else(|| ids_of(config_raw.get("bos_token_id")).first().copied());
    let add_bos_flag = tok_cfg
        .as_ref()
        .and_then(|c| c.get("add_bos_token"))
        .and_then(Json::as_bool);
    let bos = match add_bos_flag {
        Some(true) => bos_from_cfg,
        Some(false) => None,
        None => {
            let with = tok.inner().encode_fast("a", true);
            let without = tok.inner().encode_fast("a", false);
            match (with, without) {
                (Ok(w), Ok(wo)) if w.get_ids().len() > wo.get_ids().len() => {
                    let first = w.get_ids()[0];
                    (wo.get_ids().first() != Some(&first)).then_some(first)
                }
                _ => None,
            }
        }
    };

    let chat = match tok_cfg.as_ref().and_then(|c| c.get("chat_template")) {
        Some(Json::String(s)) => ChatTemplate::detect(s).unwrap_or_default(),
        // A list of named templates: use the one named "default".
        Some(Json::Array(list)) => list
            .iter()
            .find(|t| t.get("name").and_then(Json::as_str) == Some("default"))
            .and_then(|t| t.get("template").and_then(Json::as_str))
            .and_then(ChatTemplate::detect)
            .unwrap_or_default(),
        _ => ChatTemplate::Plain,
    };
    Ok(tok
        .with_eos_ids(eos)
        .with_bos_id(bos)
        .with_chat_template(chat))
}

/// Reads a Hugging Face checkpoint directory: `config.json` (`LlamaForCausalLM`,
/// `Qwen2ForCausalLM` or `MistralForCausalLM` without sliding windows), the weights of
/// every `*.safetensors` file cast to f32, and the tokenizer (`tokenizer.json`, with
/// EOS ids from `generation_config.json` / `config.json` / `tokenizer_config.json` and
/// the chat format from `tokenizer_config.json`).
pub fn read_hf_dir(dir: &Path) -> Result<ModelParts, LoadError> {
    let (config, raw, tensors) = read_weights(dir)?;
    let tokenizer = read_tokenizer(dir, &raw)?;
    check_vocab(dir, &config, &tokenizer)?;
    let arch = raw
        .get("architectures")
        .and_then(|a| a.get(0))
        .and_then(Json::as_str)
        .unwrap_or("?");
    let description = format!(
        "{} ({arch}, {} layers, width {}, vocab {}, {} parameters{})",
        dir.display(),
        config.num_hidden_layers,
        config.hidden_size,
        config.vocab_size,
        config.num_params(),
        if tokenizer.is_chat() {
            ", chat template"
        } else {
            ""
        }
    );
    Ok(ModelParts {
        config,
        tensors,
        tokenizer,
        description,
    })
}

/// [`read_hf_dir`] then [`Policy::from_tensors`]. A directory without `tokenizer.json`
/// whose vocabulary is 64 ids (a checkpoint of the tiny model) gets the built-in
/// [`CharTokenizer`].
pub(super) fn load_hf_dir(dir: &Path, device: &Device) -> Result<LoadedModel, LoadError> {
    if !dir.is_dir() {
        return Err(LoadError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a directory (expected tiny, smollm2, a .gguf file or a checkpoint directory)",
            ),
        });
    }
    if dir.join("tokenizer.json").is_file() {
        return read_hf_dir(dir)?.into_loaded(device);
    }
    let (config, _, tensors) = read_weights(dir)?;
    let tokenizer = CharTokenizer::arithmetic();
    if tokenizer.vocab_size() != config.vocab_size {
        return Err(LoadError::TokenizerMismatch {
            path: dir.to_path_buf(),
            problem: format!(
                "no tokenizer.json, and vocab_size {} is not the built-in character tokenizer's {}",
                config.vocab_size,
                tokenizer.vocab_size()
            ),
        });
    }
    let description = format!(
        "{} ({} layers, width {}, character tokenizer)",
        dir.display(),
        config.num_hidden_layers,
        config.hidden_size
    );
    let policy = Policy::from_tensors(config, tensors, device)?;
    Ok(LoadedModel {
        policy,
        tokenizer: Box::new(tokenizer),
        description,
    })
}
