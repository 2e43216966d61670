//! `xrpo`: XRPO from the command line. Each subcommand reads and writes files or JSON
//! lines, so any other framework can call the pieces.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod advantage;
mod allocate;
mod eval;
mod generate;
mod jsonl;
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
    Train(train::Args),
    /// Evaluate a checkpoint: pass@1, pass@k, cons@k.
    Eval(eval::Args),
    /// Generate a completion from a model.
    Generate(generate::Args),
    /// Verify responses against references (JSON lines in, JSON lines out).
    Verify(verify::Args),
    /// Allocate one phase of extra rollouts by XRPO priority (JSON in, JSON out).
    Allocate(allocate::Args),
    /// Compute group advantages (JSON lines in, JSON lines out).
    Advantage(advantage::Args),
}

fn main() -> ExitCode {
    // SAFETY: first statement of main; no thread exists yet.
    unsafe { xrpo_train::runtime::prepare_cpu_process() };
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Generate(args) => generate::run(args),
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
