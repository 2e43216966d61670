//! The subcommands a build has: `verify`, `allocate` and `advantage` always; `train`,
//! `eval` and `generate` only with the `train` feature, and without it a clear error
//! instead of "unrecognized subcommand".

use std::process::Command;

fn xrpo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .args(args)
        .output()
        .expect("xrpo runs")
}

#[test]
fn help_lists_the_subcommands_of_this_build() {
    let out = xrpo(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for always in ["verify", "allocate", "advantage"] {
        assert!(help.contains(always), "{always} missing:\n{help}");
    }
    for trainer in ["train", "eval", "generate"] {
        assert_eq!(
            help.contains(&format!("  {trainer} ")),
            cfg!(feature = "train"),
            "{trainer} in --help:\n{help}"
        );
    }
}

#[cfg(not(feature = "train"))]
#[test]
fn trainer_subcommands_name_the_missing_feature() {
    for cmd in ["train", "eval", "generate"] {
        let out = xrpo(&[cmd, "--steps", "1"]);
        assert!(!out.status.success(), "{cmd} must fail without the feature");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("`train` feature"), "{cmd}: {stderr}");
    }
}
