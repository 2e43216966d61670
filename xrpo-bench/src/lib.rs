//! `xrpo-bench` measures whether XRPO beats GRPO here: it trains every arm (GRPO, GSPO,
//! DAPO, XRPO as shipped, XRPO with the Beta-posterior spread or the knapsack allocator,
//! XRPO's single-component ablations) at the same rollout budget per step over several
//! seeds, each seed from its own warm-up checkpoint shared by that seed's arms, and writes
//! a report paired by seed against GRPO: final pass@1 and cons@k, the area under the
//! pass@1 curve, and steps and rollouts to reach GRPO's final pass@1 with a bootstrap
//! interval, plus a closing note drawn from the data.
//!
//! The component micro-benchmarks (allocation, advantage shaping, retrieval, math
//! verification, policy sampling and training) are gathered in `benches/components.rs`:
//! `cargo bench -p xrpo-bench --bench components`.
//!
//! ```
//! use xrpo_bench::curves::first_reaching;
//! use xrpo_bench::seed_stats::Spread;
//!
//! // Final pass@1 of three seeds, and the step at which a curve first reaches 0.3.
//! let s = Spread::of(&[0.30, 0.34, 0.38]).unwrap();
//! assert!((s.mean - 0.34).abs() < 1e-12);
//! assert!((s.std - 0.04).abs() < 1e-12);
//! assert_eq!(first_reaching(&[(0.0, 0.1), (5.0, 0.25), (10.0, 0.31)], 0.3), Some(10.0));
//! ```
//!
//! The end-to-end comparison (`xrpo-bench compare`) is [`compare::run_compare`] followed
//! by [`report::write_report`].
#![deny(missing_docs)]

pub mod compare;
pub mod curves;
pub mod report;
pub mod seed_stats;

use std::path::PathBuf;

/// Errors of the benchmark harness.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Occurs when a comparison setting is invalid; names the field.
    #[error("compare config `{field}`: {message}")]
    Config {
        /// The field (or arm) at fault.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Occurs when a file or directory cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The i/o error.
        source: std::io::Error,
    },
    /// Occurs when a results file cannot be parsed.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Occurs when the trainer fails in a run.
    #[error("trainer: {0}")]
    Train(#[from] xrpo_train::trainer::TrainError),
}
