//! `xrpo-bench`: benchmarks for xrpo — the end-to-end GRPO vs GSPO vs XRPO comparison
//! and the component micro-benchmarks gathered in one place.
//!
//! The component micro-benchmarks are criterion benches inside each crate
//! (`cargo bench -p xrpo-alloc`, …); this binary will host `xrpo-bench compare`.

use clap::Parser;

/// Command line of `xrpo-bench`.
#[derive(Parser, Debug)]
#[command(version, about)]
enum Cli {}

fn main() -> anyhow::Result<()> {
    match Cli::parse() {}
}
