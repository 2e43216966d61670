//! The XRPO trainer: a differentiable candle policy (our own Llama/Qwen2-family
//! transformer), a batched sampler, losses, the training loop, checkpoints, metrics and
//! built-in tasks. The `xrpo` command-line tool over it is the `xrpo-cli` crate.
//!
//! Roles, one module each:
//! - [`trainer`]: the loop. One step is four named stages (XRPO §1–2 rollouts, §3
//!   advantages, host update, log) over typed data ([`trainer::RolloutBatch`],
//!   [`trainer::StepMetrics`]); config, checkpoints, warm-up, evaluation, report.
//! - [`model`]: the policy (weights as candle `Var`s, forward, log-probs).
//! - `kernels` (internal): our CPU f32 kernels as candle custom ops, one op per file,
//!   which [`model`] calls where they apply.
//! - [`sampler`]: batched generation with the sampler's log-probs.
//! - [`loss`]: the host losses (GRPO token clip, GSPO sequence clip) behind `PolicyLoss`.
//! - [`optim`]: AdamW, gradient clipping, the learning-rate schedule.
//! - [`task`]: problems, built-in task families, the JSON-lines loader, `build_task`.
//! - [`tokenizer`]: `TextTokenizer`, prompt encoding and stop conditions.
//! - [`weights`]: tiny random init, GGUF and Hugging Face checkpoints.
//! - [`eval`]: pass@1, pass@k, cons@k. [`rng`]: the deterministic streams.
//!   [`plot`]: the SVG line plots of the run and benchmark reports.
//!   [`device`] / [`runtime`]: where and how the kernels run.
//!
//! The numerical components come from the leaf crates through their traits:
//! [`xrpo_alloc::RolloutAllocator`], [`xrpo_seed::ExemplarSeeder`],
//! [`xrpo_reward::Verifier`] and [`xrpo_advantage::AdvantageShaper`], so any of them can be
//! swapped for a user's own (see [`trainer::Components`]).
//!
//! # Example
//!
//! One XRPO step of the tiny model on the arithmetic task (16 rollouts):
//!
//! ```
//! use xrpo_train::trainer::{TrainConfig, Trainer};
//!
//! let mut config = TrainConfig { steps: 1, prompts_per_step: 4, n_fixed: 4, ..TrainConfig::default() };
//! config.alloc.config.n_base = Some(2);
//! config.warmup.steps = 0;
//! config.task.arithmetic.train_per_level = 16;
//! config.task.arithmetic.eval_per_level = 2;
//! let dir = std::env::temp_dir().join(format!("xrpo-lib-example-{}", std::process::id()));
//! let mut trainer = Trainer::new(config, &dir)?;
//! let record = trainer.train_step()?;
//! assert_eq!(record.step, 1);
//! assert_eq!(record.metrics.alloc.rollouts, 16.0); // B = n_fixed · |Q|
//! assert!(record.metrics.loss.is_finite());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), xrpo_train::trainer::TrainError>(())
//! ```
#![deny(missing_docs)]

pub mod device;
pub mod eval;
mod kernels;
pub mod loss;
pub mod model;
pub mod optim;
pub mod plot;
pub mod rng;
pub mod runtime;
pub mod sampler;
pub mod task;
pub mod tokenizer;
pub mod trainer;
pub mod weights;
