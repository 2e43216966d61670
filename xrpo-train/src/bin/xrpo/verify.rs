//! `xrpo verify`: not built yet; its issue fills this module.

use std::process::ExitCode;

/// Arguments of `xrpo verify`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `xrpo verify`.
pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`xrpo verify` is not implemented yet")
}
