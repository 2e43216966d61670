//! The run directory: atomic file writes, metrics lines, checkpoints.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::TrainError;

/// A run directory and its well-known files.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl RunDir {
    /// Opens (creating if needed) the directory `root`.
    pub fn create(root: &Path) -> Result<Self, TrainError> {
        std::fs::create_dir_all(root.join("checkpoints")).map_err(io(root))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// The directory `root`, which must exist (nothing is created).
    pub fn open(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the run directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Writes `bytes` to `name` atomically (temporary file, then rename).
    pub fn write_atomic(&self, name: &str, bytes: &[u8]) -> Result<(), TrainError> {
        write_atomic(&self.path(name), bytes)
    }

    /// Appends one line to `name`.
    pub fn append_line(&self, name: &str, line: &str) -> Result<(), TrainError> {
        let path = self.path(name);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        writeln!(f, "{line}").map_err(io(&path))
    }

    /// Keeps only the lines of `metrics.jsonl` whose `step` is at most `step` (used on
    /// resume, so lines written after the checkpoint are replaced, not duplicated).
    pub fn truncate_metrics(&self, step: u64) -> Result<(), TrainError> {
        for name in ["metrics.jsonl", "samples.jsonl"] {
            let path = self.path(name);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| {
                    serde_json::from_str::<serde_json::Value>(l)
                        .ok()
                        .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                        .is_some_and(|s| s <= step)
                })
                .collect();
            let mut out = kept.join("\n");
            if !out.is_empty() {
                out.push('\n');
            }
            write_atomic(&path, out.as_bytes())?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` through a temporary sibling and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let tmp = path.with_extension(format!(
        "{}tmp",
        path.extension()
            .map(|e| format!("{}.", e.to_string_lossy()))
            .unwrap_or_default()
    ));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}
