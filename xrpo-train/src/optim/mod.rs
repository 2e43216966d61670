//! Optimisation: AdamW with checkpointable state, global gradient-norm clipping and a
//! warm-up + cosine learning-rate schedule.
//!
//! candle-nn's `AdamW` keeps its moments private, so a resumed run could not continue
//! exactly; [`AdamW`] here owns its first/second moments as named tensors that
//! [`AdamW::save`] writes to safetensors and [`AdamW::load`] reads back.
//!
//! # Example
//!
//! ```
//! use candle_core::{Device, Var};
//! use xrpo_train::optim::{AdamW, AdamWConfig, clip_grad_norm};
//!
//! let w = Var::new(&[1.0f32, -2.0], &Device::Cpu)?;
//! let mut opt = AdamW::new(vec![("w".into(), w.clone())], AdamWConfig::default())?;
//! let loss = w.as_tensor().sqr()?.sum_all()?;
//! let mut grads = loss.backward()?;
//! let norm = clip_grad_norm(&mut grads, &opt.vars(), 1.0)?;
//! assert!(norm.pre_clip > 1.0 && norm.scale < 1.0);
//! opt.step(&grads, 1e-2)?;
//! assert_eq!(opt.steps_taken(), 1);
//! # Ok::<(), xrpo_train::optim::OptimError>(())
//! ```

mod adamw;
mod clip;
mod schedule;

pub use adamw::{AdamW, AdamWConfig};
pub use clip::{GradNorm, clip_grad_norm};
pub use schedule::LrSchedule;

/// Errors of the optimiser, clipping and schedule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OptimError {
    /// Occurs when a hyper-parameter is out of range; names the field.
    #[error("optimizer setting `{name}` = {value} is out of range: {expected}")]
    Parameter {
        /// Field name, e.g. `beta2`.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What it must satisfy.
        expected: &'static str,
    },
    /// Occurs when the global gradient norm is NaN or infinite; the update is refused so
    /// the weights stay finite.
    #[error("global gradient norm is not finite ({norm})")]
    NonFiniteGradNorm {
        /// The computed norm.
        norm: f64,
    },
    /// Occurs when a saved optimiser state lacks a parameter's moment, or its shape differs.
    #[error("optimizer state does not match parameter `{name}`: {detail}")]
    StateMismatch {
        /// Parameter name.
        name: String,
        /// What was wrong (missing, shape).
        detail: String,
    },
    /// Occurs when two parameters share a name.
    #[error("duplicate parameter name `{0}`")]
    DuplicateName(String),
    /// Occurs when a tensor operation or safetensors i/o fails.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}
