//! `xrpo train`: not built yet; its issue fills this module.

use std::process::ExitCode;

/// Arguments of `xrpo train`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `xrpo train`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`xrpo train` is not implemented yet")
}
