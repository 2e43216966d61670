//! The [`Policy`]: trainable weights held as candle [`Var`]s, built at random or from
//! Hugging Face-named tensors, saved and loaded as safetensors.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use candle_core::{DType, Device, Tensor, Var};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};

use super::{ModelConfig, ModelError};

/// Standard deviation of the random initialisation of projection and embedding matrices
/// (Hugging Face's `initializer_range` default for Llama and Qwen2).
pub const INIT_STD: f64 = 0.02;

/// What a parameter is, which decides how [`Policy::new_random`] initialises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// A matrix drawn from N(0, [`INIT_STD`]²).
    Matrix,
    /// An RMSNorm gain, initialised to ones.
    Norm,
    /// A projection bias, initialised to zeros.
    Bias,
}

/// The weights of one decoder layer.
#[derive(Debug, Clone)]
pub(crate) struct LayerVars {
    pub(crate) input_norm: Var,
    pub(crate) q: Var,
    pub(crate) q_bias: Option<Var>,
    pub(crate) k: Var,
    pub(crate) k_bias: Option<Var>,
    pub(crate) v: Var,
    pub(crate) v_bias: Option<Var>,
    pub(crate) o: Var,
    pub(crate) post_norm: Var,
    pub(crate) gate: Var,
    pub(crate) up: Var,
    pub(crate) down: Var,
}

/// A Llama/Qwen2-family decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU,
/// optional q/k/v bias, optional tied embeddings) whose weights are trainable candle
/// [`Var`]s.
///
/// The same weights serve two forward paths (see [`ForwardMode`](super::ForwardMode)):
/// a differentiable one made only of ops that record a backward pass (training), and a
/// fast one that uses candle's fused kernels (sampling, frozen log-probs).
#[derive(Debug)]
pub struct Policy {
    pub(crate) config: ModelConfig,
    pub(crate) device: Device,
    pub(crate) dtype: DType,
    pub(crate) embed: Var,
    pub(crate) layers: Vec<LayerVars>,
    pub(crate) norm: Var,
    /// `None` when the output head is tied to `embed`.
    pub(crate) lm_head: Option<Var>,
    /// RoPE tables cos(p·θ_i), sin(p·θ_i): `[max_position_embeddings, head_dim / 2]`.
    pub(crate) rope_cos: Tensor,
    pub(crate) rope_sin: Tensor,
    /// Additive causal masks keyed by sequence length, built once per shape.
    pub(crate) causal_masks: Mutex<HashMap<usize, Tensor>>,
}

/// Every parameter of `config` in the stable order of [`Policy::named_vars`]:
/// Hugging Face name, shape, kind.
pub(crate) fn param_specs(config: &ModelConfig) -> Vec<(String, Vec<usize>, ParamKind)> {
    use ParamKind::*;
    let d = config.hidden_size;
    let hd = config.head_dim();
    let q = config.num_attention_heads * hd;
    let kv = config.num_key_value_heads * hd;
    let ff = config.intermediate_size;
    let mut out = vec![(
        "model.embed_tokens.weight".to_string(),
        vec![config.vocab_size, d],
        Matrix,
    )];
    for i in 0..config.num_hidden_layers {
        let p = format!("model.layers.{i}");
        out.push((format!("{p}.input_layernorm.weight"), vec![d], Norm));
        out.push((format!("{p}.self_attn.q_proj.weight"), vec![q, d], Matrix));
        if config.attention_bias {
            out.push((format!("{p}.self_attn.q_proj.bias"), vec![q], Bias));
        }
        out.push((format!("{p}.self_attn.k_proj.weight"), vec![kv, d], Matrix));
        if config.attention_bias {
            out.push((format!("{p}.self_attn.k_proj.bias"), vec![kv], Bias));
        }
        out.push((format!("{p}.self_attn.v_proj.weight"), vec![kv, d], Matrix));
        if config.attention_bias {
            out.push((format!("{p}.self_attn.v_proj.bias"), vec![kv], Bias));
        }
        out.push((format!("{p}.self_attn.o_proj.weight"), vec![d, q], Matrix));
        out.push((
            format!("{p}.post_attention_layernorm.weight"),
            vec![d],
            Norm,
        ));
        out.push((format!("{p}.mlp.gate_proj.weight"), vec![ff, d], Matrix));
        out.push((format!("{p}.mlp.up_proj.weight"), vec![ff, d], Matrix));
        out.push((format!("{p}.mlp.down_proj.weight"), vec![d, ff], Matrix));
    }
    out.push(("model.norm.weight".to_string(), vec![d], Norm));
    if !config.tie_word_embeddings {
        out.push((
            "lm_head.weight".to_string(),
            vec![config.vocab_size, d],
            Matrix,
        ));
    }
    out
}

impl Policy {
    /// A randomly initialised policy: matrices from N(0, 0.02²) drawn with a [`StdRng`]
    /// seeded by `seed` (so the same seed gives bit-identical weights on every device),
    /// RMSNorm gains 1, biases 0. Weights are f32.
    pub fn new_random(
        config: ModelConfig,
        seed: u64,
        device: &Device,
    ) -> Result<Policy, ModelError> {
        Self::new_random_with_dtype(config, seed, DType::F32, device)
    }

    /// [`Policy::new_random`] in another float dtype (f64 for gradient checks, bf16/f16
    /// on GPUs). The random draws are the same as in f32, then cast.
    pub fn new_random_with_dtype(
        config: ModelConfig,
        seed: u64,
        dtype: DType,
        device: &Device,
    ) -> Result<Policy, ModelError> {
        config.validate()?;
        let mut rng = StdRng::seed_from_u64(seed);
        // Invariant: INIT_STD is a finite positive constant, so Normal::new cannot fail.
        let normal = Normal::new(0.0f32, INIT_STD as f32).expect("INIT_STD is finite and > 0");
        let mut tensors = HashMap::new();
        for (name, shape, kind) in param_specs(&config) {
            let n: usize = shape.iter().product();
            let t = match kind {
                ParamKind::Matrix => {
                    let data: Vec<f32> = (0..n).map(|_| normal.sample(&mut rng)).collect();
                    Tensor::from_vec(data, shape, device)?.to_dtype(dtype)?
                }
                ParamKind::Norm => Tensor::ones(shape, dtype, device)?,
                ParamKind::Bias => Tensor::zeros(shape, dtype, device)?,
            };
            tensors.insert(name, t);
        }
        Self::from_tensors(config, tensors, device)
    }

    /// A policy from Hugging Face-named tensors (see [`ModelConfig`] for the names).
    /// Every tensor the config implies must be present with its exact shape and no other
    /// tensor may be; `lm_head.weight` must be absent when embeddings are tied. The
    /// weights take the dtype of `model.embed_tokens.weight` (others are cast to it) and
    /// are copied to `device`.
    pub fn from_tensors(
        config: ModelConfig,
        mut tensors: HashMap<String, Tensor>,
        device: &Device,
    ) -> Result<Policy, ModelError> {
        config.validate()?;
        let specs = param_specs(&config);
        let dtype = match tensors.get("model.embed_tokens.weight") {
            Some(t) => t.dtype(),
            None => {
                return Err(ModelError::MissingTensor {
                    name: "model.embed_tokens.weight".into(),
                });
            }
        };
        let mut vars: HashMap<String, Var> = HashMap::new();
        for (name, shape, _) in &specs {
            let t = tensors
                .remove(name)
                .ok_or_else(|| ModelError::MissingTensor { name: name.clone() })?;
            if t.dims() != shape.as_slice() {
                return Err(ModelError::ShapeMismatch {
                    name: name.clone(),
                    expected: shape.clone(),
                    actual: t.dims().to_vec(),
                });
            }
            let t = t.to_dtype(dtype)?.to_device(device)?.detach();
            // `Var::from_tensor` copies the storage, so the policy never aliases the
            // caller's tensors.
            vars.insert(name.clone(), Var::from_tensor(&t)?);
        }
        if let Some(extra) = tensors.keys().min() {
            return Err(ModelError::UnexpectedTensor {
                name: extra.clone(),
            });
        }
        // Invariant: every name below was inserted from `param_specs(&config)` above.
        let mut take = |name: &str| vars.remove(name).expect("inserted from param_specs");
        let embed = take("model.embed_tokens.weight");
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let bias = config.attention_bias;
            layers.push(LayerVars {
                input_norm: take(&format!("{p}.input_layernorm.weight")),
                q: take(&format!("{p}.self_attn.q_proj.weight")),
                q_bias: bias.then(|| take(&format!("{p}.self_attn.q_proj.bias"))),
                k: take(&format!("{p}.self_attn.k_proj.weight")),
                k_bias: bias.then(|| take(&format!("{p}.self_attn.k_proj.bias"))),
                v: take(&format!("{p}.self_attn.v_proj.weight")),
                v_bias: bias.then(|| take(&format!("{p}.self_attn.v_proj.bias"))),
                o: take(&format!("{p}.self_attn.o_proj.weight")),
                post_norm: take(&format!("{p}.post_attention_layernorm.weight")),
                gate: take(&format!("{p}.mlp.gate_proj.weight")),
                up: take(&format!("{p}.mlp.up_proj.weight")),
                down: take(&format!("{p}.mlp.down_proj.weight")),
            });
        }
        let norm = take("model.norm.weight");
        let lm_head = (!config.tie_word_embeddings).then(|| take("lm_head.weight"));
        let (rope_cos, rope_sin) = rope_tables(&config, dtype, device)?;
        Ok(Policy {
            config,
            device: device.clone(),
            dtype,
            embed,
            layers,
            norm,
            lm_head,
            rope_cos,
            rope_sin,
            causal_masks: Mutex::new(HashMap::new()),
        })
    }

    /// The architecture.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The float dtype of the weights and of every forward output.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Number of scalar parameters (a tied head counted once).
    pub fn num_params(&self) -> usize {
        self.config.num_params()
    }

    /// Every trainable variable with its Hugging Face name, in a stable order (embedding,
    /// layers 0.., final norm, untied head). A tied head is the embedding `Var` itself
    /// and is listed once, so an optimizer updates it once.
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let specs = param_specs(&self.config);
        let mut vars = Vec::with_capacity(specs.len());
        vars.push(self.embed.clone());
        for l in &self.layers {
            vars.push(l.input_norm.clone());
            vars.push(l.q.clone());
            vars.extend(l.q_bias.clone());
            vars.push(l.k.clone());
            vars.extend(l.k_bias.clone());
            vars.push(l.v.clone());
            vars.extend(l.v_bias.clone());
            vars.push(l.o.clone());
            vars.push(l.post_norm.clone());
            vars.push(l.gate.clone());
            vars.push(l.up.clone());
            vars.push(l.down.clone());
        }
        vars.push(self.norm.clone());
        vars.extend(self.lm_head.clone());
        debug_assert_eq!(vars.len(), specs.len());
        specs.into_iter().map(|(n, _, _)| n).zip(vars).collect()
    }

    /// Writes every trainable variable to a safetensors file under its Hugging Face name.
    pub fn save_safetensors(&self, path: &Path) -> Result<(), ModelError> {
        let map: HashMap<String, Tensor> = self
            .named_vars()
            .into_iter()
            .map(|(n, v)| (n, v.as_tensor().detach()))
            .collect();
        candle_core::safetensors::save(&map, path).map_err(|source| ModelError::Safetensors {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Loads a safetensors file written by [`Policy::save_safetensors`] (or any file
    /// with the same Hugging Face names) into the existing variables, in place, so an
    /// optimizer holding them keeps working. Names and shapes are checked before any
    /// variable is overwritten; values are cast to the policy's dtype.
    pub fn load_safetensors(&self, path: &Path) -> Result<(), ModelError> {
        let mut loaded = candle_core::safetensors::load(path, &self.device).map_err(|source| {
            ModelError::Safetensors {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let vars = self.named_vars();
        let mut staged = Vec::with_capacity(vars.len());
        for (name, var) in &vars {
            let t = loaded
                .remove(name)
                .ok_or_else(|| ModelError::MissingTensor { name: name.clone() })?;
            if t.dims() != var.dims() {
                return Err(ModelError::ShapeMismatch {
                    name: name.clone(),
                    expected: var.dims().to_vec(),
                    actual: t.dims().to_vec(),
                });
            }
            staged.push(t.to_dtype(self.dtype)?);
        }
        if let Some(extra) = loaded.keys().min() {
            return Err(ModelError::UnexpectedTensor {
                name: extra.clone(),
            });
        }
        for ((_, var), t) in vars.iter().zip(staged) {
            var.set(&t)?;
        }
        Ok(())
    }

    /// A deep copy with its own storage: later updates to `self` do not reach it. Use it
    /// for the frozen old policy π_old or the reference policy π_ref.
    pub fn snapshot(&self) -> Result<Policy, ModelError> {
        let tensors = self
            .named_vars()
            .into_iter()
            .map(|(n, v)| (n, v.as_tensor().detach()))
            .collect();
        Self::from_tensors(self.config.clone(), tensors, &self.device)
    }

    /// The additive causal mask `[t, t]` (0 on and below the diagonal, −∞ above), built
    /// once per length and cached.
    pub(crate) fn causal_mask(&self, t: usize) -> Result<Tensor, ModelError> {
        // A poisoned lock only means another thread panicked mid-insert; the map is
        // still a valid cache.
        let mut cache = self
            .causal_masks
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(m) = cache.get(&t) {
            return Ok(m.clone());
        }
        let data: Vec<f32> = (0..t * t)
            .map(|ij| {
                if ij % t > ij / t {
                    f32::NEG_INFINITY
                } else {
                    0.0
                }
            })
            .collect();
        let m = Tensor::from_vec(data, (t, t), &self.device)?.to_dtype(self.dtype)?;
        cache.insert(t, m.clone());
        Ok(m)
    }
}

/// RoPE tables: cos(p·θ_i) and sin(p·θ_i) for p < max_position_embeddings and
/// θ_i = rope_theta^(−2i/head_dim), i < head_dim/2 (Su et al., RoFormer; HF Llama's
/// "rotate half" layout). Computed in f64, then cast.
fn rope_tables(
    config: &ModelConfig,
    dtype: DType,
    device: &Device,
) -> Result<(Tensor, Tensor), ModelError> {
    let hd = config.head_dim();
    let half = hd / 2;
    let n = config.max_position_embeddings;
    let inv_freq: Vec<f64> = (0..half)
        .map(|i| 1.0 / config.rope_theta.powf(2.0 * i as f64 / hd as f64))
        .collect();
    let mut cos = Vec::with_capacity(n * half);
    let mut sin = Vec::with_capacity(n * half);
    for p in 0..n {
        for f in &inv_freq {
            let a = p as f64 * f;
            cos.push(a.cos());
            sin.push(a.sin());
        }
    }
    let cos = Tensor::from_vec(cos, (n, half), device)?.to_dtype(dtype)?;
    let sin = Tensor::from_vec(sin, (n, half), device)?.to_dtype(dtype)?;
    Ok((cos, sin))
}
