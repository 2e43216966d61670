//! `xrpo`: XRPO from the command line. Each subcommand reads and writes files or JSON
//! lines, so any other framework can call the pieces.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod jsonl;

/// XRPO (eXplore–eXploit GRPO) for RL on verifiable rewards.
#[derive(Parser, Debug)]
#[command(name = "xrpo", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {};
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
