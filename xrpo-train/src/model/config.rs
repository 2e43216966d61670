//! Architecture hyper-parameters of a Llama/Qwen2-family decoder.

use serde::{Deserialize, Serialize};

/// Architecture of a Llama/Qwen2-family decoder. Field names follow Hugging Face's
/// `config.json` so a checkpoint's config deserializes directly.
///
/// Weights of such a model are named as in Hugging Face checkpoints
/// (`model.embed_tokens.weight`, `model.layers.{i}.self_attn.q_proj.weight`,
/// `model.layers.{i}.mlp.gate_proj.weight`, `model.norm.weight`, `lm_head.weight`, …),
/// whatever file they were loaded from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Number of token ids.
    pub vocab_size: usize,
    /// Model width d.
    pub hidden_size: usize,
    /// SwiGLU inner width.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads.
    pub num_attention_heads: usize,
    /// Key/value heads (grouped-query attention); equal to `num_attention_heads` for MHA.
    pub num_key_value_heads: usize,
    /// Per-head width; `hidden_size / num_attention_heads` when absent.
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// RoPE base θ.
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    /// RMSNorm ε.
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    /// Longest sequence the model is used at.
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    /// Whether the output head shares the embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Whether q/k/v projections carry a bias (Qwen2: yes; Llama: no).
    #[serde(default)]
    pub attention_bias: bool,
}

fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_rms_norm_eps() -> f64 {
    1e-6
}
fn default_max_position_embeddings() -> usize {
    2048
}

impl ModelConfig {
    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads)
    }
}
