//! The policy model: configuration, weights and the differentiable forward pass.
//!
//! [`Policy`] is our own Llama/Qwen2-family decoder built from differentiable candle
//! ops (candle's ready-made models use fused kernels that record no backward). Its
//! weights are [`candle_core::Var`]s named as in Hugging Face checkpoints.

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
