//! The policy model: configuration, weights and the differentiable forward pass.

mod config;

pub use config::ModelConfig;
