//! The policy model: configuration, weights and the differentiable forward pass.
//!
//! [`Policy`] is our own Llama/Qwen2-family decoder built from differentiable candle
//! ops (candle's ready-made models use fused kernels that record no backward). Its
//! weights are [`candle_core::Var`]s named as in Hugging Face checkpoints.
//!
//! - [`Policy::token_logprobs`]: log π_θ(o_t | q, o_<t) of given completions in one
//!   batched forward with gradients (the loss input); [`Policy::token_logprobs_detached`]
//!   the same without a graph, for π_old and π_ref.
//! - [`Policy::snapshot`]: a frozen deep copy for π_old / π_ref.
//! - [`Policy::save_safetensors`] / [`Policy::load_safetensors`]: checkpoints.
//! - Sampling lives in [`crate::sampler`].
//!
//! CPU threads: candle's kernels use `RAYON_NUM_THREADS` (default: every core).
//!
//! # Example
//! ```
//! use candle_core::Device;
//! use xrpo_train::model::{ModelConfig, Policy};
//!
//! let policy = Policy::new_random(ModelConfig::tiny(), 0, &Device::Cpu)?;
//! // Two rollouts of different lengths after their prompts.
//! let out = policy.token_logprobs(&[vec![1, 2, 3], vec![4]], &[vec![5, 6], vec![7, 8, 9]])?;
//! assert_eq!(out.logprobs.dims(), &[2, 3]); // right-padded to the longest completion
//! let loss = (out.logprobs.sum_all()? * -1.0)?;
//! let grads = loss.backward()?;
//! for (name, var) in policy.named_vars() {
//!     assert!(grads.get(var.as_tensor()).is_some(), "{name} has a gradient");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod error;
pub(crate) mod forward;
mod logprobs;
mod policy;

pub use config::ModelConfig;
pub use error::ModelError;
pub use forward::ForwardMode;
pub use logprobs::TokenLogprobs;
pub use policy::{INIT_STD, Policy};
