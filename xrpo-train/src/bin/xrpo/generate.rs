//! `xrpo generate`: not built yet; its issue fills this module.

use std::process::ExitCode;

/// Arguments of `xrpo generate`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `xrpo generate`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`xrpo generate` is not implemented yet")
}
