//! `xrpo eval`: not built yet; its issue fills this module.

use std::process::ExitCode;

/// Arguments of `xrpo eval`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `xrpo eval`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`xrpo eval` is not implemented yet")
}
