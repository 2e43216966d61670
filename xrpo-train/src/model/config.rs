//! Architecture hyper-parameters of a Llama/Qwen2-family decoder.

use serde::{Deserialize, Serialize};

use super::ModelError;

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
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// The built-in tiny Llama: 4 layers, width 128, 4 query heads, 2 key/value heads,
    /// SwiGLU width 352, vocabulary 64, 512 positions, tied embeddings, RoPE θ = 10 000.
    /// It matches the PyTorch anchor's tiny model, so figures compare directly.
    pub fn tiny() -> ModelConfig {
        ModelConfig {
            vocab_size: 64,
            hidden_size: 128,
            intermediate_size: 352,
            num_hidden_layers: 4,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            head_dim: None,
            rope_theta: 10_000.0,
            rms_norm_eps: 1e-6,
            max_position_embeddings: 512,
            tie_word_embeddings: true,
            attention_bias: false,
        }
    }

    /// The SmolLM2-135M architecture (Llama): vocabulary 49 152, width 576, 30 layers,
    /// 9 query heads, 3 key/value heads, SwiGLU width 1536, tied embeddings,
    /// RoPE θ = 100 000, RMSNorm ε = 1e-5, 8192 positions.
    pub fn smollm2_135m() -> ModelConfig {
        ModelConfig {
            vocab_size: 49_152,
            hidden_size: 576,
            intermediate_size: 1536,
            num_hidden_layers: 30,
            num_attention_heads: 9,
            num_key_value_heads: 3,
            head_dim: None,
            rope_theta: 100_000.0,
            rms_norm_eps: 1e-5,
            max_position_embeddings: 8192,
            tie_word_embeddings: true,
            attention_bias: false,
        }
    }

    /// Number of scalar parameters of a model with this architecture (a tied output
    /// head is counted once).
    pub fn num_params(&self) -> usize {
        let d = self.hidden_size;
        let hd = self.head_dim();
        let q = self.num_attention_heads * hd;
        let kv = self.num_key_value_heads * hd;
        let bias = if self.attention_bias { q + 2 * kv } else { 0 };
        let layer = 2 * d + d * q + 2 * d * kv + q * d + bias + 3 * d * self.intermediate_size;
        let head = if self.tie_word_embeddings {
            0
        } else {
            self.vocab_size * d
        };
        self.vocab_size * d + self.num_hidden_layers * layer + d + head
    }

    /// Checks that every field is in range and the fields agree with each other.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad =
            |field: &'static str, reason: String| Err(ModelError::InvalidConfig { field, reason });
        if self.vocab_size == 0 {
            return bad("vocab_size", "must be > 0".into());
        }
        if self.vocab_size > u32::MAX as usize {
            return bad(
                "vocab_size",
                format!("{} does not fit token ids (u32)", self.vocab_size),
            );
        }
        if self.hidden_size == 0 {
            return bad("hidden_size", "must be > 0".into());
        }
        if self.intermediate_size == 0 {
            return bad("intermediate_size", "must be > 0".into());
        }
        if self.num_attention_heads == 0 {
            return bad("num_attention_heads", "must be > 0".into());
        }
        if self.num_key_value_heads == 0
            || !self
                .num_attention_heads
                .is_multiple_of(self.num_key_value_heads)
        {
            return bad(
                "num_key_value_heads",
                format!(
                    "{} must be > 0 and divide num_attention_heads = {}",
                    self.num_key_value_heads, self.num_attention_heads
                ),
            );
        }
        let hd = self.head_dim();
        if hd == 0 || !hd.is_multiple_of(2) {
            return bad(
                "head_dim",
                format!("{hd} must be even and > 0 (RoPE rotates pairs)"),
            );
        }
        if self.head_dim.is_none() && hd * self.num_attention_heads != self.hidden_size {
            return bad(
                "num_attention_heads",
                format!(
                    "{} does not divide hidden_size = {} (set head_dim explicitly)",
                    self.num_attention_heads, self.hidden_size
                ),
            );
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 0.0) {
            return bad(
                "rope_theta",
                format!("{} must be finite and > 0", self.rope_theta),
            );
        }
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps >= 0.0) {
            return bad(
                "rms_norm_eps",
                format!("{} must be finite and >= 0", self.rms_norm_eps),
            );
        }
        if self.max_position_embeddings == 0 {
            return bad("max_position_embeddings", "must be > 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smollm2_has_135m_params() {
        // 49152·576 (embeddings) + 30·(2·576 + 576·576 + 2·576·192 + 576·576 + 3·576·1536)
        // + 576 (final norm) = 134 515 008.
        assert_eq!(ModelConfig::smollm2_135m().num_params(), 134_515_008);
    }

    #[test]
    fn presets_validate_and_bad_heads_are_named() {
        ModelConfig::tiny().validate().unwrap();
        ModelConfig::smollm2_135m().validate().unwrap();
        let mut c = ModelConfig::tiny();
        c.num_key_value_heads = 3;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("num_key_value_heads"), "{e}");
    }
}
