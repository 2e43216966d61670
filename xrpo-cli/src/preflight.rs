//! Checks `train` and `eval` run before they create anything on disk, so that a typo in
//! `--model`, `--device` or `--checkpoint` leaves no directory behind.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xrpo_train::weights::{ModelSource, find_smollm2_gguf};

/// Fails (naming the option and the path) when the model cannot be found or the device
/// cannot be opened. Loading itself (a corrupt file) can still fail later; see
/// [`NewDirs`] for that case.
pub fn model_and_device(model: &str, device: &str) -> anyhow::Result<()> {
    xrpo_train::device::parse(device).with_context(|| format!("--device {device}"))?;
    let source: ModelSource = model.parse().with_context(|| format!("--model {model}"))?;
    match &source {
        ModelSource::Gguf(path) if !path.is_file() => {
            bail!("--model {}: no such GGUF file", path.display())
        }
        ModelSource::HfDir(path) if !path.is_dir() => bail!(
            "--model {}: no such directory (expected tiny, smollm2, a .gguf file or a \
             Hugging Face checkpoint directory)",
            path.display()
        ),
        ModelSource::SmolLM2 => {
            find_smollm2_gguf().context("--model smollm2")?;
        }
        _ => {}
    }
    Ok(())
}

/// Fails unless `path` is a run directory (holds `config.json`) or one checkpoint
/// directory (holds `state.json`).
pub fn run_or_checkpoint(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        bail!("--checkpoint {}: no such directory", path.display());
    }
    if !path.join("config.json").is_file() && !path.join("state.json").is_file() {
        bail!(
            "--checkpoint {}: not a run directory (no config.json) or a checkpoint \
             directory (no state.json)",
            path.display()
        );
    }
    Ok(())
}

/// The directories a run in `root` would newly create: `root` and its missing ancestors.
/// When starting the run fails, [`NewDirs::remove_if_empty`] takes them away again.
pub struct NewDirs {
    /// Missing directories, outermost first.
    missing: Vec<PathBuf>,
    root: PathBuf,
}

impl NewDirs {
    /// Notes which of `root` and its ancestors do not exist yet.
    pub fn before_creating(root: &Path) -> Self {
        let mut missing: Vec<PathBuf> = root
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .take_while(|p| !p.exists())
            .map(Path::to_path_buf)
            .collect();
        missing.reverse();
        Self {
            missing,
            root: root.to_path_buf(),
        }
    }

    /// Removes the directories noted as missing, innermost first, where they are empty
    /// (plus the run's empty `checkpoints/`). Never removes a file or a non-empty
    /// directory; errors are ignored (this only tidies up after another error).
    pub fn remove_if_empty(self) {
        if self.missing.is_empty() {
            return;
        }
        let _ = std::fs::remove_dir(self.root.join("checkpoints"));
        for dir in self.missing.iter().rev() {
            if std::fs::remove_dir(dir).is_err() {
                return;
            }
        }
    }
}
