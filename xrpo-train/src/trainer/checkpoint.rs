//! Checkpoints: what one holds, how it is published so that a kill at any instant
//! leaves a loadable one, and how the newest complete one is found.
//!
//! A checkpoint is a directory `checkpoints/step-NNNNNN/` with `model.safetensors`,
//! `optimizer.safetensors` and `state.json` (step, data position, allocator and seeder
//! state), written last: a directory is *complete* when its `state.json` parses.
//! `checkpoints/latest` names the newest. Publishing:
//!
//! 1. everything is written into `checkpoints/.tmp-step-NNNNNN/`;
//! 2. a new step: the temporary directory is renamed to its final name, then `latest` is
//!    replaced (write + rename). A kill between the two leaves `latest` on the previous
//!    complete checkpoint.
//! 3. a step saved before (a resumed run saving the step it resumed from): the two
//!    directories are exchanged in one `renameat2(RENAME_EXCHANGE)` call where the OS
//!    has it, so the final name always holds a complete checkpoint; elsewhere the old one
//!    is first renamed aside, and a kill in the instant between the two renames is
//!    covered by the fallback below.
//!
//! Loading ([`RunDir::latest_checkpoint`]) follows `latest` when it names a complete
//! checkpoint and otherwise falls back to the newest complete `step-*` directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xrpo_alloc::AllocatorState;
use xrpo_seed::{BankState, ExemplarBank, SeederState};

use super::TrainError;
use super::run_dir::{RunDir, io, write_atomic};
use super::trainer::Trainer;

/// `state.json` of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CheckpointState {
    pub version: u32,
    pub step: u64,
    pub data_pos: u64,
    pub algorithm: String,
    pub allocator: AllocatorState,
    /// The seeder's state: a [`SeederState`]; checkpoints written before it existed hold
    /// a bare [`BankState`] or `null` (read by [`seeder_state`]).
    pub seeder: serde_json::Value,
}

/// The seeder state of a checkpoint, also from the format before [`SeederState`]
/// (a lexical bank's `BankState`, or `null` for no seeding).
fn seeder_state(value: &serde_json::Value) -> Result<SeederState, TrainError> {
    let bad = |e: &dyn std::fmt::Display| TrainError::Checkpoint(format!("seeder state: {e}"));
    if value.is_null() {
        return Ok(SeederState::Empty);
    }
    if value.get("kind").is_some() {
        return serde_json::from_value(value.clone()).map_err(|e| bad(&e));
    }
    let bank: BankState = serde_json::from_value(value.clone()).map_err(|e| bad(&e))?;
    // The old format only ever held lexical banks: rebuild to learn their embedding.
    let lexical = ExemplarBank::lexical_from_state(bank.clone()).map_err(|e| bad(&e))?;
    Ok(xrpo_seed::ExemplarSeeder::state(&lexical))
}

/// Reads and parses `dir/state.json`.
pub(crate) fn read_state(dir: &Path) -> Result<CheckpointState, TrainError> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text)
        .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))
}

fn is_complete(dir: &Path) -> bool {
    dir.join("model.safetensors").is_file()
        && dir.join("optimizer.safetensors").is_file()
        && read_state(dir).is_ok()
}

/// Swaps two existing directories in one step (Linux `renameat2(RENAME_EXCHANGE)`);
/// `false` where the OS or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let (Ok(ca), Ok(cb)) = (
        CString::new(a.as_os_str().as_bytes()),
        CString::new(b.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: both are valid NUL-terminated paths; the call only renames.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> bool {
    false
}

impl RunDir {
    fn checkpoints(&self) -> PathBuf {
        self.root().join("checkpoints")
    }

    /// Directory of the checkpoint after `step` updates.
    pub fn checkpoint_dir(&self, step: u64) -> PathBuf {
        self.checkpoints().join(format!("step-{step:06}"))
    }

    /// The newest complete checkpoint: the one `checkpoints/latest` names when it is
    /// complete, else the highest-step complete `step-*` directory.
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] when the run has no complete checkpoint.
    pub fn latest_checkpoint(&self) -> Result<PathBuf, TrainError> {
        self.resumable_checkpoint()?.ok_or_else(|| {
            TrainError::Checkpoint(format!(
                "no complete checkpoint in {}",
                self.checkpoints().display()
            ))
        })
    }

    /// [`latest_checkpoint`](Self::latest_checkpoint), or `None` when there is none.
    pub fn resumable_checkpoint(&self) -> Result<Option<PathBuf>, TrainError> {
        let pointer = self.checkpoints().join("latest");
        if let Ok(name) = std::fs::read_to_string(&pointer) {
            let dir = self.checkpoints().join(name.trim());
            if !name.trim().is_empty() && is_complete(&dir) {
                return Ok(Some(dir));
            }
        }
        let Ok(entries) = std::fs::read_dir(self.checkpoints()) else {
            return Ok(None);
        };
        let mut best: Option<(u64, PathBuf)> = None;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(step) = name
                .to_str()
                .and_then(|n| n.strip_prefix("step-"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            let dir = entry.path();
            if best.as_ref().is_none_or(|(s, _)| step > *s) && is_complete(&dir) {
                best = Some((step, dir));
            }
        }
        Ok(best.map(|(_, dir)| dir))
    }

    /// Publishes a fully written temporary checkpoint directory as the one of `step` and
    /// points `latest` at it (see the module docs for why every instant is safe).
    pub fn publish_checkpoint(&self, tmp: &Path, step: u64) -> Result<PathBuf, TrainError> {
        let dir = self.checkpoint_dir(step);
        if !dir.exists() {
            std::fs::rename(tmp, &dir).map_err(io(&dir))?;
        } else if exchange(tmp, &dir) {
            // `tmp` now holds the old checkpoint.
            std::fs::remove_dir_all(tmp).map_err(io(tmp))?;
        } else {
            let aside = self.checkpoints().join(format!(".old-step-{step:06}"));
            if aside.exists() {
                std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
            }
            std::fs::rename(&dir, &aside).map_err(io(&dir))?;
            std::fs::rename(tmp, &dir).map_err(io(&dir))?;
            std::fs::remove_dir_all(&aside).map_err(io(&aside))?;
        }
        write_atomic(
            &self.checkpoints().join("latest"),
            format!("step-{step:06}").as_bytes(),
        )?;
        Ok(dir)
    }
}

impl Trainer {
    /// Writes a checkpoint of the current state (weights, optimiser, allocator, seeder,
    /// data position) and returns its directory; see the module docs for the publishing.
    pub fn save_checkpoint(&self) -> Result<PathBuf, TrainError> {
        let tmp = self
            .run_dir
            .root()
            .join("checkpoints")
            .join(format!(".tmp-step-{:06}", self.step));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        self.policy
            .save_safetensors(&tmp.join("model.safetensors"))?;
        self.optimizer.save(&tmp.join("optimizer.safetensors"))?;
        let state = CheckpointState {
            version: 1,
            step: self.step,
            data_pos: self.data_pos,
            algorithm: self.config.algorithm.name().to_string(),
            allocator: self.components.allocator.state(),
            seeder: serde_json::to_value(self.components.seeder.state())
                .map_err(|e| TrainError::Checkpoint(e.to_string()))?,
        };
        let json = serde_json::to_vec(&state).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        // Written last: its presence marks the directory complete.
        std::fs::write(tmp.join("state.json"), json).map_err(io(&tmp.join("state.json")))?;
        self.run_dir.publish_checkpoint(&tmp, self.step)
    }

    /// Restores the state written by [`Trainer::save_checkpoint`].
    pub fn load_checkpoint(&mut self, dir: &Path) -> Result<(), TrainError> {
        let state = read_state(dir)?;
        if state.algorithm != self.config.algorithm.name() {
            return Err(TrainError::Checkpoint(format!(
                "checkpoint is from algorithm `{}`, config says `{}`",
                state.algorithm,
                self.config.algorithm.name()
            )));
        }
        self.policy
            .load_safetensors(&dir.join("model.safetensors"))?;
        self.optimizer.load(&dir.join("optimizer.safetensors"))?;
        self.components.allocator.restore(&state.allocator)?;
        self.components
            .seeder
            .restore(&seeder_state(&state.seeder)?)?;
        self.step = state.step;
        self.data_pos = state.data_pos;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh scratch directory, removed when dropped.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new(name: &str) -> Self {
            let p = std::env::temp_dir().join(format!("xrpo-ckpt-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Self(p)
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn fake_checkpoint(dir: &Path, step: u64) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("model.safetensors"), b"m").unwrap();
        std::fs::write(dir.join("optimizer.safetensors"), b"o").unwrap();
        let state = CheckpointState {
            version: 1,
            step,
            data_pos: step,
            algorithm: "xrpo".into(),
            allocator: AllocatorState::new("fixed", step),
            seeder: serde_json::Value::Null,
        };
        std::fs::write(dir.join("state.json"), serde_json::to_vec(&state).unwrap()).unwrap();
    }

    fn publish(run: &RunDir, step: u64) -> PathBuf {
        let tmp = run
            .root()
            .join("checkpoints")
            .join(format!(".tmp-step-{step:06}"));
        fake_checkpoint(&tmp, step);
        run.publish_checkpoint(&tmp, step).unwrap()
    }

    /// Re-publishing a step that exists swaps it in place: the final name holds the new
    /// checkpoint, nothing temporary is left, `latest` points at it.
    #[test]
    fn republishing_a_step_replaces_it() {
        let root = Scratch::new("republish");
        let run = RunDir::create(&root.0).unwrap();
        publish(&run, 3);
        std::fs::write(run.checkpoint_dir(3).join("marker"), b"old").unwrap();
        let dir = publish(&run, 3);
        assert!(
            !dir.join("marker").exists(),
            "the old checkpoint was replaced"
        );
        assert_eq!(run.latest_checkpoint().unwrap(), dir);
        let left: Vec<_> = std::fs::read_dir(run.root().join("checkpoints"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let mut left = left;
        left.sort();
        assert_eq!(left, ["latest", "step-000003"]);
    }

    /// Every state a kill can leave behind still loads the newest complete checkpoint:
    /// `latest` naming a missing directory (the old publisher's window), an incomplete
    /// one (no `state.json`), garbage, or no `latest` at all.
    #[test]
    fn loading_falls_back_to_the_newest_complete_checkpoint() {
        let root = Scratch::new("fallback");
        let run = RunDir::create(&root.0).unwrap();
        assert!(run.resumable_checkpoint().unwrap().is_none());
        assert!(run.latest_checkpoint().is_err());
        publish(&run, 2);
        publish(&run, 4);
        let ckpts = run.root().join("checkpoints");
        // A half-written step 6: no state.json.
        std::fs::create_dir_all(ckpts.join("step-000006")).unwrap();
        for pointer in ["step-000009", "step-000006", "", "garbage\n"] {
            std::fs::write(ckpts.join("latest"), pointer).unwrap();
            assert_eq!(
                run.latest_checkpoint().unwrap(),
                run.checkpoint_dir(4),
                "{pointer:?}"
            );
        }
        std::fs::remove_file(ckpts.join("latest")).unwrap();
        assert_eq!(run.latest_checkpoint().unwrap(), run.checkpoint_dir(4));
        // The newest goes missing (a kill between the fallback publisher's renames).
        std::fs::rename(run.checkpoint_dir(4), ckpts.join(".old-step-000004")).unwrap();
        assert_eq!(run.latest_checkpoint().unwrap(), run.checkpoint_dir(2));
    }

    /// A checkpoint written before `SeederState` existed (a bare lexical `BankState`, or
    /// `null`) still restores.
    #[test]
    fn old_seeder_states_still_read() {
        assert_eq!(
            seeder_state(&serde_json::Value::Null).unwrap(),
            SeederState::Empty
        );
        let bank = ExemplarBank::lexical(xrpo_seed::SeedConfig::default()).unwrap();
        let old = serde_json::to_value(bank.state()).unwrap();
        assert!(matches!(
            seeder_state(&old).unwrap(),
            SeederState::Bank { .. }
        ));
        let new = serde_json::to_value(xrpo_seed::ExemplarSeeder::state(&bank)).unwrap();
        assert_eq!(seeder_state(&new).unwrap(), seeder_state(&old).unwrap());
    }
}
