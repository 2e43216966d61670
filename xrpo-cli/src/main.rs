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
mod preflight;
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
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, `outer: inner: …`, leaving out a cause whose
/// text the line already holds (many library errors print their source in their own
/// message, and `{:#}` would then repeat the OS error once per level).
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_drops_causes_already_quoted() {
        let os = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file (os error 2)");
        #[derive(Debug)]
        struct Quoting(std::io::Error);
        impl std::fmt::Display for Quoting {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "reading a.json: {}", self.0)
            }
        }
        impl std::error::Error for Quoting {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let err = anyhow::Error::new(Quoting(os)).context("--config a.json");
        assert_eq!(
            one_line(&err),
            "--config a.json: reading a.json: No such file (os error 2)"
        );
    }
}
