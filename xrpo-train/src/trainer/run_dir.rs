//! The run directory: atomic file writes, metrics lines, checkpoints.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::TrainError;

/// A run directory and its well-known files.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
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

    /// Directory of the checkpoint after `step` updates.
    pub fn checkpoint_dir(&self, step: u64) -> PathBuf {
        self.root
            .join("checkpoints")
            .join(format!("step-{step:06}"))
    }

    /// The latest complete checkpoint, from the `checkpoints/latest` pointer.
    pub fn latest_checkpoint(&self) -> Result<PathBuf, TrainError> {
        let pointer = self.root.join("checkpoints").join("latest");
        let name = std::fs::read_to_string(&pointer).map_err(|e| {
            TrainError::Checkpoint(format!("no checkpoint in {}: {e}", self.root.display()))
        })?;
        let dir = self.root.join("checkpoints").join(name.trim());
        if !dir.is_dir() {
            return Err(TrainError::Checkpoint(format!(
                "{} points to missing {}",
                pointer.display(),
                dir.display()
            )));
        }
        Ok(dir)
    }

    /// Publishes a fully written temporary checkpoint directory as the one of `step`
    /// and points `latest` at it; both are renames, so a crash leaves either the old or
    /// the new checkpoint, never half of one.
    pub fn publish_checkpoint(&self, tmp: &Path, step: u64) -> Result<PathBuf, TrainError> {
        let dir = self.checkpoint_dir(step);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::rename(tmp, &dir).map_err(io(&dir))?;
        let name = format!("step-{step:06}");
        write_atomic(
            &self.root.join("checkpoints").join("latest"),
            name.as_bytes(),
        )?;
        Ok(dir)
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
