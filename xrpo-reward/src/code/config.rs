//! Configuration of the code verifier: per-program limits and the verifier's settings, each
//! validated against a safe range.

use super::Isolation;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Resource limits of one sandboxed program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock limit per program, in milliseconds, after which the whole process tree is
    /// killed. Default 5000.
    pub timeout_ms: u64,
    /// CPU-time limit (`RLIMIT_CPU`), in seconds; SIGXCPU at the limit, SIGKILL one second
    /// later. Default 5.
    pub cpu_time_s: u64,
    /// Address-space limit (`RLIMIT_AS`) per process, in bytes. Default 2 GiB.
    pub memory_bytes: u64,
    /// Largest file the program may write (`RLIMIT_FSIZE`), in bytes. Default 16 MiB.
    pub file_size_bytes: u64,
    /// Size cap of the run's working directory, in bytes: a tmpfs of this size under
    /// [`Isolation::Namespaces`]; not enforced under [`Isolation::Rlimits`], where only
    /// `file_size_bytes` bounds each file. Default 64 MiB.
    pub disk_bytes: u64,
    /// Open file descriptors per process (`RLIMIT_NOFILE`). Default 64.
    pub open_files: u64,
    /// Processes and threads of the run's uid (`RLIMIT_NPROC`); enforced only when the
    /// verifier runs as root and can give each run its own uid. Default 32.
    pub processes: u64,
    /// Cap on captured stdout and on captured stderr, each, in bytes; beyond it the tree is
    /// killed and the verdict is a sandbox error. Default 8 MiB.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: 5000,
            cpu_time_s: 5,
            memory_bytes: 2 << 30,
            file_size_bytes: 16 << 20,
            disk_bytes: 64 << 20,
            open_files: 64,
            processes: 32,
            output_bytes: 8 << 20,
        }
    }
}

impl Limits {
    /// The wall-clock limit as a [`Duration`].
    pub fn wall_time(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// Configuration of [`CodeVerifier`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeConfig {
    /// The Python interpreter, as an absolute path. Default `None`: the first `python3` on
    /// `PATH` (resolved through `sys.executable`, so pyenv shims work) that runs inside the
    /// sandbox, then `/usr/bin/python3`. An interpreter under a directory the sandbox uid
    /// cannot enter (e.g. pyenv in a `0700` `/root`) does not run there and is skipped.
    pub python: Option<PathBuf>,
    /// The weakest isolation level accepted; the strongest available level is used. Default
    /// [`Isolation::Namespaces`].
    pub min_isolation: Isolation,
    /// The strongest isolation level tried (set it to [`Isolation::Rlimits`] to trade the
    /// namespaces' protection for start-up speed). Default [`Isolation::Namespaces`].
    pub max_isolation: Isolation,
    /// Per-program resource limits.
    pub limits: Limits,
    /// Programs in flight at once (the worker pool's size). Default 0: one per core.
    pub workers: u32,
    /// Reward stdin/stdout tests with the fraction of cases passed instead of all-or-nothing
    /// (assert-style tests stay all-or-nothing). Default false.
    pub partial_credit: bool,
    /// Start of the range of per-run uids used when running as root: each run slot claims a
    /// free uid from `uid_base` upward (claims are `flock`s, so verifiers in other processes
    /// never share one) and runs as that uid and gid. Pick a range no account or container
    /// uses: every process of a claimed uid is killed after each run. Default 1879048192
    /// (0x7000_0000).
    pub uid_base: u32,
    /// Where run directories are created. Default `None`: the system temp dir.
    pub tmp_dir: Option<PathBuf>,
}

impl Default for CodeConfig {
    fn default() -> Self {
        CodeConfig {
            python: None,
            min_isolation: Isolation::Namespaces,
            max_isolation: Isolation::Namespaces,
            limits: Limits::default(),
            workers: 0,
            partial_credit: false,
            uid_base: 0x7000_0000,
            tmp_dir: None,
        }
    }
}

/// Occurs when a [`CodeConfig`] is inconsistent; carries the field and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Occurs when a limit is zero (it would forbid every program).
    #[error("code config: `limits.{field}` must be positive, got 0")]
    ZeroLimit {
        /// The offending field.
        field: &'static str,
    },
    /// Occurs when `min_isolation` is stronger than `max_isolation`.
    #[error("code config: `min_isolation` ({min}) is stronger than `max_isolation` ({max})")]
    IsolationRange {
        /// The configured minimum.
        min: Isolation,
        /// The configured maximum.
        max: Isolation,
    },
    /// Occurs when `python` is not an absolute path (the sandbox has no `PATH`).
    #[error("code config: `python` must be an absolute path, got {0:?}")]
    RelativePython(PathBuf),
}

impl CodeConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        for (field, value) in [
            ("timeout_ms", l.timeout_ms),
            ("cpu_time_s", l.cpu_time_s),
            ("memory_bytes", l.memory_bytes),
            ("file_size_bytes", l.file_size_bytes),
            ("disk_bytes", l.disk_bytes),
            ("open_files", l.open_files),
            ("processes", l.processes),
            ("output_bytes", l.output_bytes as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroLimit { field });
            }
        }
        if self.min_isolation > self.max_isolation {
            return Err(ConfigError::IsolationRange {
                min: self.min_isolation,
                max: self.max_isolation,
            });
        }
        if let Some(p) = &self.python
            && !p.is_absolute()
        {
            return Err(ConfigError::RelativePython(p.clone()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_validates_and_zero_limits_do_not() {
        assert_eq!(CodeConfig::default().validate(), Ok(()));
        let mut c = CodeConfig::default();
        c.limits.open_files = 0;
        assert_eq!(
            c.validate(),
            Err(ConfigError::ZeroLimit {
                field: "open_files"
            })
        );
        c = CodeConfig {
            python: Some("python3".into()),
            ..CodeConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::RelativePython(_))));
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let err = serde_json::from_str::<CodeConfig>(r#"{"limits": {"timeout": 3}}"#);
        assert!(err.is_err());
        let ok: CodeConfig = serde_json::from_str(r#"{"limits": {"timeout_ms": 3}}"#).unwrap();
        assert_eq!(ok.limits.timeout_ms, 3);
        assert_eq!(ok.limits.cpu_time_s, Limits::default().cpu_time_s);
    }
}
