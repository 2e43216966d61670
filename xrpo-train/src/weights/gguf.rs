//! Reading Llama-architecture GGUF files (llama.cpp's format) into f32 Hugging Face
//! tensors.
//!
//! Three things differ from a Hugging Face checkpoint:
//! - names: `token_embd` → `model.embed_tokens`, `blk.N.attn_q` → `…self_attn.q_proj`,
//!   `attn_norm` → `input_layernorm`, `ffn_norm` → `post_attention_layernorm`,
//!   `ffn_{gate,up,down}` → `mlp.{gate,up,down}_proj`, `output_norm` → `model.norm`,
//!   `output` → `lm_head` (absent when the embeddings are tied);
//! - quantization: every tensor is dequantized to f32 on load (Q4_1, Q8_0, …);
//! - rotary layout: llama.cpp rotates interleaved pairs (2i, 2i+1) of each head, so its
//!   converter stores the q/k projection rows of each head reordered from Hugging
//!   Face's rotate-half order (i, i + d/2). We undo that (see [`unpermute_rows`]) so our
//!   rotate-half RoPE sees the original rows.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::{DType, Device, Tensor};

use super::{LoadError, ModelParts, check_tensors, check_vocab};
use crate::model::ModelConfig;
use crate::tokenizer::{HfTokenizer, TextTokenizer};

/// Reads a GGUF file of a `llama`-architecture model: config from the `llama.*`
/// metadata, all tensors dequantized to f32 under Hugging Face names with q/k rows
/// restored to rotate-half order, and the tokenizer from the `tokenizer.*` metadata.
pub fn read_gguf(path: &Path) -> Result<ModelParts, LoadError> {
    let file = File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = BufReader::new(file);
    let gguf_err = |source| LoadError::Gguf {
        path: path.to_path_buf(),
        source,
    };
    let content = Content::read(&mut reader).map_err(gguf_err)?;
    let md = &content.metadata;

    let arch = md_string(path, md, "general.architecture")?;
    if arch != "llama" {
        return Err(LoadError::Unsupported {
            path: path.to_path_buf(),
            what: format!(
                "general.architecture = {arch:?} (only \"llama\" GGUF files are supported; use a Hugging Face directory for Qwen2)"
            ),
        });
    }
    let config = config_from_metadata(path, md, &content)?;
    let head_dim = config.head_dim();
    if let Some(v) = md.get("llama.rope.dimension_count") {
        let rope_dim = md_usize(path, "llama.rope.dimension_count", v)?;
        if rope_dim != head_dim {
            return Err(LoadError::Unsupported {
                path: path.to_path_buf(),
                what: format!(
                    "partial rotary embedding (rope dimension {rope_dim} < head dim {head_dim})"
                ),
            });
        }
    }

    let mut tensors = HashMap::with_capacity(content.tensor_infos.len());
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    for name in names {
        let hf = hf_name(name).ok_or_else(|| LoadError::UnexpectedTensor {
            path: path.to_path_buf(),
            name: name.clone(),
        })?;
        let q = content
            .tensor(&mut reader, name, &Device::Cpu)
            .map_err(gguf_err)?;
        let mut t = q.dequantize(&Device::Cpu).map_err(gguf_err)?;
        if t.dtype() != DType::F32 {
            t = t.to_dtype(DType::F32)?;
        }
        if hf.ends_with("self_attn.q_proj.weight") || hf.ends_with("self_attn.q_proj.bias") {
            t = unpermute_rows(&t, config.num_attention_heads)?;
        } else if hf.ends_with("self_attn.k_proj.weight") || hf.ends_with("self_attn.k_proj.bias") {
            t = unpermute_rows(&t, config.num_key_value_heads)?;
        }
        tensors.insert(hf, t);
    }
    check_tensors(path, &config, &tensors)?;

    let tokenizer = HfTokenizer::from_gguf_metadata(md)?;
    check_vocab(path, &config, &tokenizer)?;
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let model_name = md
        .get("general.name")
        .and_then(|v| v.to_string().ok())
        .cloned()
        .unwrap_or_default();
    let description = format!(
        "{file_name} ({model_name}; llama, {} layers, width {}, vocab {}, {} parameters, dequantized to f32{})",
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

/// Only the tokenizer of a GGUF file (reads the metadata, not the tensors).
pub fn read_gguf_tokenizer(path: &Path) -> Result<HfTokenizer, LoadError> {
    let file = File::open(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let content = Content::read(&mut BufReader::new(file)).map_err(|source| LoadError::Gguf {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(HfTokenizer::from_gguf_metadata(&content.metadata)?)
}

/// Hugging Face name of a GGUF tensor; `None` for names that are no part of a Llama.
fn hf_name(gguf: &str) -> Option<String> {
    let direct = match gguf {
        "token_embd.weight" => Some("model.embed_tokens.weight"),
        "output_norm.weight" => Some("model.norm.weight"),
        "output.weight" => Some("lm_head.weight"),
        _ => None,
    };
    if let Some(n) = direct {
        return Some(n.to_string());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, rest) = rest.split_once('.')?;
    let layer: usize = layer.parse().ok()?;
    let (part, kind) = rest.rsplit_once('.')?;
    if kind != "weight" && kind != "bias" {
        return None;
    }
    let hf_part = match part {
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "attn_norm" => "input_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        _ => return None,
    };
    Some(format!("model.layers.{layer}.{hf_part}.{kind}"))
}

/// Undoes llama.cpp's q/k row permutation.
///
/// Within each of the `n_heads` heads of width `hd`, Hugging Face orders the rows that
/// rotate together as (i, i + hd/2) ("rotate half"); llama.cpp's converter reorders
/// them to (2i, 2i + 1) so its interleaved RoPE pairs neighbours. GGUF row `2i + j`
/// (j ∈ {0, 1}) of a head is therefore Hugging Face row `j·hd/2 + i`: viewing the rows
/// as `[n_heads, hd/2, 2]` and swapping the last two axes gives the original order.
/// Works for weights `[n_heads·hd, in]` and biases `[n_heads·hd]`.
pub(crate) fn unpermute_rows(t: &Tensor, n_heads: usize) -> candle_core::Result<Tensor> {
    let dims = t.dims().to_vec();
    let rows = dims[0];
    let half = rows / n_heads / 2;
    let mut view = vec![n_heads, half, 2];
    view.extend_from_slice(&dims[1..]);
    t.reshape(view)?
        .transpose(1, 2)?
        .contiguous()?
        .reshape(dims)
}

fn md_get<'a>(
    path: &Path,
    md: &'a HashMap<String, Value>,
    key: &str,
) -> Result<&'a Value, LoadError> {
    md.get(key).ok_or_else(|| LoadError::Metadata {
        path: path.to_path_buf(),
        key: key.into(),
        problem: "missing".into(),
    })
}

fn md_string(path: &Path, md: &HashMap<String, Value>, key: &str) -> Result<String, LoadError> {
    md_get(path, md, key)?
        .to_string()
        .cloned()
        .map_err(|e| LoadError::Metadata {
            path: path.to_path_buf(),
            key: key.into(),
            problem: e.to_string(),
        })
}

fn md_usize(path: &Path, key: &str, v: &Value) -> Result<usize, LoadError> {
    let n = match v {
        Value::U8(x) => Some(u64::from(*x)),
        Value::U16(x) => Some(u64::from(*x)),
        Value::U32(x) => Some(u64::from(*x)),
        Value::U64(x) => Some(*x),
        Value::I32(x) => u64::try_from(*x).ok(),
        Value::I64(x) => u64::try_from(*x).ok(),
        _ => None,
    };
    n.and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| LoadError::Metadata {
            path: path.to_path_buf(),
            key: key.into(),
            problem: format!("expected a non-negative integer, found {v:?}"),
        })
}

/// An f32 metadata value widened to f64 through its shortest decimal form, so a stored
/// `1e-5f32` becomes `1e-5`, not `9.99999974738e-6`.
fn md_f64(path: &Path, key: &str, v: &Value) -> Result<f64, LoadError> {
    let err = |problem: String| LoadError::Metadata {
        path: path.to_path_buf(),
        key: key.into(),
        problem,
    };
    match v {
        Value::F32(x) => x.to_string().parse::<f64>().map_err(|e| err(e.to_string())),
        Value::F64(x) => Ok(*x),
        other => Err(err(format!("expected a float, found {other:?}"))),
    }
}

fn config_from_metadata(
    path: &Path,
    md: &HashMap<String, Value>,
    content: &Content,
) -> Result<ModelConfig, LoadError> {
    let u = |key: &str| -> Result<usize, LoadError> { md_usize(path, key, md_get(path, md, key)?) };
    let heads = u("llama.attention.head_count")?;
    let kv_heads = match md.get("llama.attention.head_count_kv") {
        Some(v) => md_usize(path, "llama.attention.head_count_kv", v)?,
        None => heads,
    };
    let hidden = u("llama.embedding_length")?;
    let head_dim = match md.get("llama.attention.key_length") {
        Some(v) => Some(md_usize(path, "llama.attention.key_length", v)?),
        None => None,
    }
    .filter(|&hd| heads == 0 || hd != hidden / heads);
    let embd = content
        .tensor_infos
        .get("token_embd.weight")
        .ok_or_else(|| LoadError::MissingTensor {
            path: path.to_path_buf(),
            name: "token_embd.weight".into(),
        })?;
    // GGUF lists dimensions innermost first; candle's shape is already [vocab, hidden].
    let vocab_size = embd.shape.dims()[0];
    let rope_theta = match md.get("llama.rope.freq_base") {
        Some(v) => md_f64(path, "llama.rope.freq_base", v)?,
        None => 10_000.0,
    };
    let rms_norm_eps = md_f64(
        path,
        "llama.attention.layer_norm_rms_epsilon",
        md_get(path, md, "llama.attention.layer_norm_rms_epsilon")?,
    )?;
    if md.contains_key("llama.rope.scaling.type")
        && md_string(path, md, "llama.rope.scaling.type")? != "none"
    {
        return Err(LoadError::Unsupported {
            path: path.to_path_buf(),
            what: "rope scaling (llama.rope.scaling.type)".into(),
        });
    }
    let max_position_embeddings = match md.get("llama.context_length") {
        Some(v) => md_usize(path, "llama.context_length", v)?,
        None => 2048,
    };
    let config = ModelConfig {
        vocab_size,
        hidden_size: hidden,
        intermediate_size: u("llama.feed_forward_length")?,
        num_hidden_layers: u("llama.block_count")?,
        num_attention_heads: heads,
        num_key_value_heads: kv_heads,
        head_dim,
        rope_theta,
        rms_norm_eps,
        max_position_embeddings,
        tie_word_embeddings: !content.tensor_infos.contains_key("output.weight"),
        attention_bias: content.tensor_infos.contains_key("blk.0.attn_q.bias"),
    };
    config.validate().map_err(|e| LoadError::Metadata {
        path: path.to_path_buf(),
        key: "llama.*".into(),
        problem: e.to_string(),
    })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_gguf_names_to_hugging_face_names() {
        assert_eq!(
            hf_name("blk.12.attn_q.weight").unwrap(),
            "model.layers.12.self_attn.q_proj.weight"
        );
        assert_eq!(
            hf_name("blk.0.ffn_norm.weight").unwrap(),
            "model.layers.0.post_attention_layernorm.weight"
        );
        assert_eq!(hf_name("output.weight").unwrap(), "lm_head.weight");
        assert_eq!(hf_name("blk.0.attn_rot_embd"), None);
        assert_eq!(hf_name("rope_freqs.weight"), None);
    }

    #[test]
    fn unpermute_inverts_llama_cpp_permutation() {
        // One head of width 6 (rows 0..6), two input columns. llama.cpp's converter
        // sends Hugging Face row j·3 + i to GGUF row 2i + j, i.e. GGUF rows are HF rows
        // [0, 3, 1, 4, 2, 5] (worked out by hand).
        let hf: Vec<f32> = (0..12).map(|x| x as f32).collect();
        let hf = Tensor::from_vec(hf, (6, 2), &Device::Cpu).unwrap();
        let order = [0u32, 3, 1, 4, 2, 5];
        let idx = Tensor::new(&order, &Device::Cpu).unwrap();
        let gguf = hf.index_select(&idx, 0).unwrap();
        let back = unpermute_rows(&gguf, 1).unwrap();
        assert_eq!(back.to_vec2::<f32>().unwrap(), hf.to_vec2::<f32>().unwrap());
        // Two heads: the permutation stays inside each head; biases work too.
        let b: Vec<f32> = (0..8).map(|x| x as f32).collect();
        let gguf_b = Tensor::new(&[0f32, 2., 1., 3., 4., 6., 5., 7.], &Device::Cpu).unwrap();
        assert_eq!(
            unpermute_rows(&gguf_b, 2)
                .unwrap()
                .to_vec1::<f32>()
                .unwrap(),
            b
        );
    }
}
