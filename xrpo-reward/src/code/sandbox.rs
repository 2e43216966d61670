//! The process sandbox: runs one untrusted program as a confined child process.
//!
//! Each run gets a fresh temporary directory (removed afterwards), an environment holding
//! only `TMPDIR` (the run's own working directory), umask `077`, resource limits
//! (`RLIMIT_CPU`, `RLIMIT_AS`, `RLIMIT_FSIZE`, `RLIMIT_NOFILE`, `RLIMIT_NPROC`,
//! `RLIMIT_CORE`), a seccomp filter (`seccomp.rs`: no sockets unless configured, no
//! namespace creation, ptrace, keyctl, bpf, mount, kexec, …), a wall-clock deadline, capped
//! output, and a whole-tree kill. Two isolation levels exist ([`Isolation`]); the stronger
//! one adds Linux namespaces and a minimal file tree. The threat model, with what each level
//! guarantees and what it does not, is in ARCHITECTURE.md ("Threat model of the code
//! verifier").
//!
//! How the pieces hold, as root (the CI case):
//! - every concurrent run owns a *slot* of the worker pool and runs as its own unprivileged
//!   uid `uid_base + slot` (a range validated to hold no account); so `RLIMIT_NPROC` caps a
//!   fork bomb per run, files closed to others stay closed, and after the run a helper that
//!   switches to that uid sends `kill(-1, SIGKILL)`, which reaches every process of that uid
//!   only (double-forked daemons included);
//! - where cgroups are available ([`MemoryCap`]), each run gets its own cgroup: one memory
//!   cap and one task cap for all its processes together, the OOM verdict, and a kill of
//!   exactly the processes it holds;
//! - at [`Isolation::Rlimits`] the run's files in `/dev/shm`, `/tmp` and `/var/tmp` are
//!   removed after it;
//! - [`Isolation::Namespaces`] adds fresh mount, pid, network, IPC and UTS namespaces and
//!   pivots into a minimal read-only tree (`mounts.rs`): system directories, the
//!   interpreter's own directories, five devices, the run's files and its tmpfs working
//!   directory capped at [`Limits::disk_bytes`](super::Limits::disk_bytes); `/proc` shows
//!   only the run's processes, the network namespace has nothing but a down loopback, and
//!   the program is pid 1 of its namespace, so when it exits the kernel kills everything it
//!   spawned.
//!
//! Without root the uid switch is impossible: [`Isolation::Rlimits`] then runs the program
//! as the caller's uid (no file-system protection, no fork-bomb cap, no sweep, no cgroup);
//! Namespaces is unavailable and a verifier that requires it fails closed.

use super::Limits;
pub use super::config::SocketFamily;
use crate::VerifyError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How strongly a program is confined. Ordered: `Rlimits < Namespaces`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Resource limits, a seccomp filter, a new session, an empty environment, a wall-clock
    /// kill, and (as root) a per-run unprivileged uid and cgroup. The host's file system
    /// stays visible (world-readable files are readable) and world-writable directories
    /// such as `/tmp` stay writable (the run's files there are removed after it).
    Rlimits,
    /// Everything in `Rlimits`, plus fresh mount, pid, network, IPC and UTS namespaces and a
    /// minimal read-only file tree (system and interpreter directories only) around the
    /// run's own directory. Needs root (`CAP_SYS_ADMIN`).
    Namespaces,
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Isolation::Rlimits => "rlimits",
            Isolation::Namespaces => "namespaces",
        })
    }
}

/// One program to run.
#[derive(Debug, Clone)]
pub struct Program<'a> {
    /// Absolute path of the executable (e.g. the Python interpreter).
    pub executable: &'a Path,
    /// Its arguments. The working directory is the run's empty `work` directory; the
    /// program's [`files`](Self::files) sit one level up, so refer to them as `../name`.
    pub args: &'a [&'a str],
    /// Files written next to the working directory before the start, read-only to the run:
    /// `(name, contents)`, reachable as `../name`.
    pub files: &'a [(&'a str, &'a [u8])],
    /// What the program reads on standard input.
    pub stdin: &'a [u8],
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// The program exited with this status code.
    Exited(i32),
    /// The program was killed by this signal (not by the sandbox's wall-clock kill).
    Signaled(i32),
    /// The wall-clock deadline passed; the sandbox killed the process tree.
    WallTimeout,
    /// Standard output or error exceeded the cap; the sandbox killed the process tree.
    OutputLimit,
}

/// What one run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// How it ended.
    pub termination: Termination,
    /// Captured standard output (at most the output cap).
    pub stdout: Vec<u8>,
    /// Captured standard error (at most the output cap).
    pub stderr: Vec<u8>,
    /// Wall-clock time from spawn to exit.
    pub wall: Duration,
    /// CPU time (user + system) of the process and the children it waited for.
    pub cpu: Duration,
    /// The isolation level the run had.
    pub isolation: Isolation,
    /// Whether the run's memory cap ([`Limits::run_memory_bytes`]) was reached and the
    /// kernel killed one of its processes (only known where a cgroup caps the run).
    pub memory_cap_hit: bool,
}

/// How the total memory of a run (all its processes together) is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryCap {
    /// A cgroup v2 per run: `memory.max` = [`Limits::run_memory_bytes`], `pids.max` =
    /// [`Limits::processes`].
    CgroupV2,
    /// A cgroup v1 per run (`memory.limit_in_bytes`, `pids.max`), same values.
    CgroupV1,
    /// No cgroup here (not root, or no memory/pids controllers): only `RLIMIT_AS` per
    /// process ([`Limits::memory_bytes`]) times the process count (`RLIMIT_NPROC`, as root
    /// only) bounds a run.
    PerProcess,
}

impl fmt::Display for MemoryCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemoryCap::CgroupV2 => "cgroup2",
            MemoryCap::CgroupV1 => "cgroup1",
            MemoryCap::PerProcess => "per-process",
        })
    }
}

/// A bounded pool of run slots; as root each slot owns one claimed sandbox uid.
struct SlotPool {
    free: Mutex<Vec<u32>>,
    available: Condvar,
    /// Claimed uids (slot `i` runs as `uids[i]`), each held by an open locked file.
    uids: Vec<(u32, std::fs::File)>,
}

struct Slot<'a> {
    pool: &'a SlotPool,
    index: u32,
}

/// Where uid claims live: one fixed, root-only place per machine (`/run` when present), so
/// that verifiers with different `tmp_dir`s still see each other's claims.
fn uid_lock_dir() -> PathBuf {
    let run = Path::new("/run");
    let base = if run.is_dir() {
        run.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join("xrpo-sandbox-uids")
}

impl SlotPool {
    fn new(size: u32, uids: Vec<(u32, std::fs::File)>) -> Self {
        SlotPool {
            free: Mutex::new((0..size).rev().collect()),
            available: Condvar::new(),
            uids,
        }
    }

    /// Claims `count` uids from `base` upward with `flock` on `<lock_dir>/<uid>.lock`; a lock
    /// lives as long as its file is open, and dies with the process.
    fn claim_uids(
        base: u32,
        count: u32,
        lock_dir: &Path,
    ) -> Result<Vec<(u32, std::fs::File)>, VerifyError> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(lock_dir)?;
        // Root opens files in this directory: it must be ours and closed to others, or a
        // planted symlink could redirect a lock file.
        let meta = std::fs::symlink_metadata(lock_dir)?;
        if !meta.is_dir() || meta.uid() != 0 || meta.mode() & 0o022 != 0 {
            return Err(VerifyError::SandboxUnavailable(format!(
                "uid lock directory {} must be a root-owned directory writable only by root",
                lock_dir.display()
            )));
        }
        // Every process of a claimed uid is killed after each run: the range must hold no
        // account (checked here too, for callers that build a `Sandbox` without a config).
        super::config::check_uid_base(base)?;
        let mut claimed = Vec::with_capacity(count as usize);
        let end = base + super::config::UID_RANGE;
        for uid in base..end {
            if claimed.len() == count as usize {
                break;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(lock_dir.join(format!("{uid}.lock")))?;
            if sys::try_lock(&file) {
                // A process left by an earlier holder that died must not share the uid.
                sys::kill_all_of_uid(uid)?;
                claimed.push((uid, file));
            }
        }
        if claimed.len() < count as usize {
            return Err(VerifyError::SandboxUnavailable(format!(
                "could only claim {} of {count} sandbox uids in {base}..{end}",
                claimed.len()
            )));
        }
        Ok(claimed)
    }

    fn acquire(&self) -> Slot<'_> {
        // A poisoned lock only means another thread panicked while holding it; the Vec of
        // free indices is still consistent (push/pop are the only mutations).
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(index) = free.pop() {
                return Slot { pool: self, index };
            }
            free = self.available.wait(free).unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.pool
            .free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.index);
        self.pool.available.notify_one();
    }
}

/// What a [`Sandbox`] is built from (see [`Sandbox::start`]).
#[derive(Debug, Clone)]
pub struct SandboxSettings {
    /// The isolation level every run gets.
    pub isolation: Isolation,
    /// Per-program limits.
    pub limits: Limits,
    /// Runs in flight at once.
    pub workers: u32,
    /// First uid of the per-run uid range (as root); see
    /// [`CodeConfig::uid_base`](super::CodeConfig::uid_base).
    pub uid_base: u32,
    /// Where run directories are created.
    pub tmp_root: PathBuf,
    /// Host paths (files or directories; symlinks followed) that programs may read under
    /// [`Isolation::Namespaces`], besides the system directories: the interpreter's prefix
    /// and library paths. Nothing else of the host is visible there.
    pub visible: Vec<PathBuf>,
    /// Socket families programs may create (none by default).
    pub socket_families: Vec<SocketFamily>,
}

/// World-writable places a run at [`Isolation::Rlimits`] can write to, swept of the run's
/// files after each run (as root, where runs have their own uid).
const SHARED_SCRATCH: [&str; 3] = ["/dev/shm", "/tmp", "/var/tmp"];

/// Runs programs under a fixed isolation level with a bounded number in flight.
pub struct Sandbox {
    isolation: Isolation,
    limits: Limits,
    /// Whether runs switch to the slot's claimed uid (only as root).
    switch_uid: bool,
    tmp_root: PathBuf,
    pool: SlotPool,
    confinement: sys::Confinement,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("isolation", &self.isolation)
            .field("limits", &self.limits)
            .field("uids", &self.uids())
            .field("tmp_root", &self.tmp_root)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Builds a sandbox at exactly `isolation`, after checking that the level works on this
    /// machine by running `probe` inside it; fails closed with
    /// [`VerifyError::SandboxUnavailable`] otherwise. Programs see the system directories
    /// and the directory of `probe.executable` (symlinks followed); use [`Sandbox::start`]
    /// to make more visible (an interpreter's library paths) or to allow sockets.
    pub fn new(
        isolation: Isolation,
        limits: Limits,
        workers: u32,
        uid_base: u32,
        tmp_root: PathBuf,
        probe: &Program<'_>,
    ) -> Result<Self, VerifyError> {
        let visible = probe
            .executable
            .parent()
            .map(|p| vec![p.to_path_buf()])
            .unwrap_or_default();
        Sandbox::start(
            SandboxSettings {
                isolation,
                limits,
                workers,
                uid_base,
                tmp_root,
                visible,
                socket_families: Vec::new(),
            },
            probe,
        )
    }

    /// Builds a sandbox from `settings`, after checking that its level works on this machine
    /// by running `probe` inside it; fails closed with [`VerifyError::SandboxUnavailable`]
    /// otherwise.
    pub fn start(settings: SandboxSettings, probe: &Program<'_>) -> Result<Self, VerifyError> {
        let SandboxSettings {
            isolation,
            limits,
            workers,
            uid_base,
            tmp_root,
            visible,
            socket_families,
        } = settings;
        let root = sys::is_root();
        if isolation == Isolation::Namespaces && !root {
            return Err(VerifyError::SandboxUnavailable(
                "isolation `namespaces` needs root (CAP_SYS_ADMIN and CAP_SETUID); \
                 this process is not root"
                    .into(),
            ));
        }
        let confinement = sys::Confinement::new(isolation, root, &visible, &socket_families)?;
        let workers = workers.max(1);
        let uids = if root {
            SlotPool::claim_uids(uid_base, workers, &uid_lock_dir())?
        } else {
            Vec::new()
        };
        let sandbox = Sandbox {
            isolation,
            limits,
            switch_uid: root,
            tmp_root,
            pool: SlotPool::new(workers, uids),
            confinement,
        };
        let out = sandbox.run(probe).map_err(|e| {
            VerifyError::SandboxUnavailable(format!(
                "isolation `{isolation}` failed its probe run: {e}"
            ))
        })?;
        if out.termination != Termination::Exited(0) {
            return Err(VerifyError::SandboxUnavailable(format!(
                "isolation `{isolation}`: the probe program ended with {:?}; stderr: {}",
                out.termination,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(sandbox)
    }

    /// The isolation level every run of this sandbox has.
    pub fn isolation(&self) -> Isolation {
        self.isolation
    }

    /// How the total memory of each run is bounded here.
    pub fn memory_cap(&self) -> MemoryCap {
        self.confinement.memory_cap()
    }

    /// The uids runs switch to (empty when not running as root).
    pub fn uids(&self) -> Vec<u32> {
        self.pool.uids.iter().map(|(uid, _)| *uid).collect()
    }

    /// Runs one program; blocks while all slots are busy. `Err` means the sandbox itself
    /// failed (the program may not have run); program failures are in [`RunOutput`].
    pub fn run(&self, program: &Program<'_>) -> Result<RunOutput, VerifyError> {
        let slot = self.pool.acquire();
        let uid = self
            .switch_uid
            .then(|| self.pool.uids.get(slot.index as usize).map(|(uid, _)| *uid))
            .flatten();
        let dir = sys::TempDir::create(&self.tmp_root, uid)?;
        for (name, contents) in program.files {
            if name.contains('/') || name.is_empty() || *name == "." || *name == ".." {
                return Err(VerifyError::Io(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("sandbox file name {name:?} must be a plain file name"),
                )));
            }
            std::fs::write(dir.path().join(name), contents)?;
        }
        let result = sys::run_in(
            self.isolation,
            &self.limits,
            uid,
            &dir,
            &self.confinement,
            program,
        );
        // Whatever happened, nothing of this uid may outlive the run: the next run reuses it.
        if let Some(uid) = uid {
            sys::kill_all_of_uid(uid)?;
            if self.isolation == Isolation::Rlimits {
                // Shared scratch places are writable at this level: what the run left there
                // goes too, so no later run sees it and no RAM (tmpfs) stays taken.
                let mut shared: Vec<&Path> = SHARED_SCRATCH.iter().map(Path::new).collect();
                shared.push(&self.tmp_root);
                sys::remove_files_of_uid(uid, &shared);
            }
        }
        drop(dir);
        result
    }
}

#[cfg(target_os = "linux")]
#[path = "sandbox_linux.rs"]
mod sys;

#[cfg(not(target_os = "linux"))]
mod sys {
    //! Non-Linux platforms have no sandbox: every run fails closed.
    use super::*;

    pub fn is_root() -> bool {
        false
    }

    pub struct TempDir;

    impl TempDir {
        pub fn create(_: &Path, _: Option<u32>) -> Result<Self, VerifyError> {
            Err(VerifyError::SandboxUnavailable(
                "the code sandbox needs Linux".into(),
            ))
        }
        pub fn path(&self) -> &Path {
            Path::new("/")
        }
        pub fn work(&self) -> PathBuf {
            PathBuf::from("/")
        }
    }

    pub struct Confinement;

    impl Confinement {
        pub fn memory_cap(&self) -> MemoryCap {
            MemoryCap::PerProcess
        }

        pub fn new(
            _: Isolation,
            _: bool,
            _: &[PathBuf],
            _: &[SocketFamily],
        ) -> Result<Self, VerifyError> {
            Err(VerifyError::SandboxUnavailable(
                "the code sandbox needs Linux".into(),
            ))
        }
    }

    pub fn run_in(
        _: Isolation,
        _: &Limits,
        _: Option<u32>,
        _: &TempDir,
        _: &Confinement,
        _: &Program<'_>,
    ) -> Result<RunOutput, VerifyError> {
        Err(VerifyError::SandboxUnavailable(
            "the code sandbox needs Linux".into(),
        ))
    }

    pub fn kill_all_of_uid(_: u32) -> Result<(), VerifyError> {
        Ok(())
    }

    pub fn remove_files_of_uid(_: u32, _: &[&Path]) {}

    pub fn try_lock(_: &std::fs::File) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Sandbox::new` takes a raw `uid_base`: a base that would make the sweep signal root's
    /// (or any account's) processes must be refused before any uid is claimed or swept.
    #[test]
    fn uid_claims_refuse_unsafe_bases() {
        let dir = std::env::temp_dir().join(format!("xrpo-uid-claims-{}", std::process::id()));
        for base in [0, 1, 1000, 65_534, super::super::MIN_UID_BASE - 1] {
            let err = SlotPool::claim_uids(base, 1, &dir).expect_err("unsafe base accepted");
            assert!(err.to_string().contains("uid_base"), "{err}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_sweep_refuses_uids_below_the_sandbox_range() {
        for uid in [0, 1000, super::super::MIN_UID_BASE - 1] {
            assert!(sys::kill_all_of_uid(uid).is_err(), "uid {uid} swept");
        }
    }
}
