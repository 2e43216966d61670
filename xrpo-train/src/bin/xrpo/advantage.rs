//! `xrpo advantage`: not built yet; its issue fills this module.

use std::process::ExitCode;

/// Arguments of `xrpo advantage`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `xrpo advantage`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`xrpo advantage` is not implemented yet")
}
