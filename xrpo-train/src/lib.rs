//! The XRPO trainer: a differentiable candle policy (our own Llama/Qwen2-family
//! transformer), a batched sampler, losses, the training loop, checkpoints, metrics and
//! built-in tasks. The `xrpo` command-line tool over it is the `xrpo-cli` crate.
//!
//! The numerical components come from the leaf crates through their traits:
//! [`xrpo_alloc::RolloutAllocator`], [`xrpo_seed::ExemplarSeeder`],
//! [`xrpo_reward::Verifier`] and [`xrpo_advantage::AdvantageShaper`], so any of them can be
//! swapped for a user's own.
#![deny(missing_docs)]

pub mod device;
pub mod eval;
mod kernels;
pub mod loss;
pub mod model;
pub mod optim;
pub mod plot;
pub mod runtime;
pub mod sampler;
pub mod task;
pub mod tokenizer;
pub mod trainer;
pub mod weights;
