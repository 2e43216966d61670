//! `xrpo`: XRPO from the command line. Each subcommand reads and writes files or JSON
//! lines, so any other framework can call the pieces.
//!
//! `verify`, `allocate` and `advantage` need only the candle-free leaf crates; `train`,
//! `eval` and `generate` come with the default `train` feature (xrpo-train, candle).
//! `cargo install --path xrpo-cli --no-default-features` builds the verifier-and-allocator
//! binary without compiling candle.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod advantage;
mod allocate;
#[cfg(feature = "train")]
mod eval;
#[cfg(feature = "train")]
mod generate;
mod jsonl;
#[cfg(feature = "train")]
mod train;
mod verify;

/// XRPO (eXplore–eXploit GRPO) for RL on verifiable rewards.
#[derive(Parser, Debug)]
#[command(name = "xrpo", version, about = "XRPO (eXplore–eXploit GRPO) for RL on verifiable rewards", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a policy with XRPO (or GRPO, GSPO, ablations) on a task.
    #[cfg(feature = "train")]
    Train(train::Args),
    /// Evaluate a checkpoint: pass@1, pass@k, cons@k.
    #[cfg(feature = "train")]
    Eval(eval::Args),
    /// Generate a completion from a model.
    #[cfg(feature = "train")]
    Generate(generate::Args),
    /// `train`, `eval` and `generate` in a build without the `train` feature: an error
    /// that says so instead of clap's "unrecognized subcommand".
    #[cfg(not(feature = "train"))]
    #[command(name = "train", alias = "eval", alias = "generate", hide = true)]
    NeedsTrainFeature {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        rest: Vec<String>,
    },
    /// Verify responses against references (JSON lines in, JSON lines out).
    Verify(verify::Args),
    /// Allocate one phase of extra rollouts by XRPO priority (JSON in, JSON out).
    Allocate(allocate::Args),
    /// Compute group advantages (JSON lines in, JSON lines out).
    Advantage(advantage::Args),
}

fn main() -> ExitCode {
    // SAFETY: first statement of main; no thread exists yet.
    #[cfg(feature = "train")]
    unsafe {
        xrpo_train::runtime::prepare_cpu_process()
    };
    let cli = Cli::parse();
    let result = match cli.command {
        #[cfg(feature = "train")]
        Command::Train(args) => train::run(args),
        #[cfg(feature = "train")]
        Command::Eval(args) => eval::run(args),
        #[cfg(feature = "train")]
        Command::Generate(args) => generate::run(args),
        #[cfg(not(feature = "train"))]
        Command::NeedsTrainFeature { .. } => Err(anyhow::anyhow!(
            "this xrpo was built without the `train` feature (verify, allocate and advantage \
             only); `train`, `eval` and `generate` need a build with default features, \
             e.g. `cargo install --path xrpo-cli`"
        )),
        Command::Verify(args) => verify::run(args),
        Command::Allocate(args) => allocate::run(args),
        Command::Advantage(args) => advantage::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
