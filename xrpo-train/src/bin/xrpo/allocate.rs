//! `xrpo allocate`: not built yet; its issue fills this module.

use std::process::ExitCode;

/// Arguments of `xrpo allocate`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `xrpo allocate`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`xrpo allocate` is not implemented yet")
}
