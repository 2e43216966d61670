//! Configuration of the code verifier: per-program limits and the verifier's settings, each
//! validated against a safe range.

use super::Isolation;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
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
    /// Memory cap of a whole run, all its processes together (and its tmpfs files), in
    /// bytes: a per-run cgroup's `memory.max` where the machine has one (see
    /// [`MemoryCap`](super::sandbox::MemoryCap)); reaching it ends the run as a memory-limit
    /// verdict. Default 2 GiB.
    pub run_memory_bytes: u64,
    /// Largest file the program may write (`RLIMIT_FSIZE`), in bytes. Default 16 MiB.
    pub file_size_bytes: u64,
    /// Size cap of the run's working directory, in bytes: a tmpfs of this size under
    /// [`Isolation::Namespaces`]; not enforced under [`Isolation::Rlimits`], where only
    /// `file_size_bytes` bounds each file. Default 64 MiB.
    pub disk_bytes: u64,
    /// Open file descriptors per process (`RLIMIT_NOFILE`). Default 64.
    pub open_files: u64,
    /// Processes and threads of a run: its cgroup's `pids.max` where a cgroup caps runs, and
    /// `RLIMIT_NPROC` of the run's uid when the verifier runs as root and gives each run its
    /// own uid (not enforced otherwise). Default 32.
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
            run_memory_bytes: 2 << 30,
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

/// A socket family a sandboxed program may create sockets of (see
/// [`CodeConfig::socket_families`](CodeConfig::socket_families)). Under
/// [`Isolation::Namespaces`](super::Isolation::Namespaces) the network namespace has only a
/// loopback that is down, so `inet` sockets reach nothing outside the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SocketFamily {
    /// `AF_UNIX` (e.g. Python's `multiprocessing`, `socketpair`).
    Unix,
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
}

/// Configuration of [`CodeVerifier`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodeConfig {
    /// The Python interpreter, as an absolute path. Default `None`: the first `python3` on
    /// `PATH` (resolved through `sys.executable`, so pyenv shims work) that runs inside the
    /// sandbox, then `/usr/bin/python3`. Under [`Isolation::Namespaces`] the interpreter's
    /// own directories are mounted into the run's file tree (so a pyenv under a `0700`
    /// `/root` works); under [`Isolation::Rlimits`] an interpreter under a directory the
    /// sandbox uid cannot enter does not run there and is skipped.
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
    /// never share one) and runs as that uid and gid. Every process of a claimed uid is
    /// killed after each run, so [`validate`](Self::validate) refuses a base below
    /// [`MIN_UID_BASE`] or above [`MAX_UID_BASE`] and a range of [`UID_RANGE`] uids that
    /// holds any id of `/etc/passwd`, `/etc/group`, `/etc/subuid` or `/etc/subgid`. Default
    /// 1879048192 (0x7000_0000).
    pub uid_base: u32,
    /// Where run directories are created. Default `None`: the system temp dir.
    pub tmp_dir: Option<PathBuf>,
    /// Socket families programs may create; every other family (vsock and netlink included)
    /// is refused by the seccomp filter. Default empty: no sockets at all.
    pub socket_families: Vec<SocketFamily>,
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
            socket_families: Vec::new(),
        }
    }
}

/// The lowest accepted [`CodeConfig::uid_base`]: far above system accounts (below 1000),
/// login users (1000–60000), `nobody` (65534) and the usual subordinate-id ranges of
/// rootless containers (from 100000 in steps of 65536).
pub const MIN_UID_BASE: u32 = 0x1000_0000;
/// How many uids from `uid_base` upward a verifier may claim; the whole range must be free of
/// accounts.
pub const UID_RANGE: u32 = 65_536;
/// The highest accepted `uid_base`: its range stays below `(uid_t)-2` (the overflow and
/// "no uid" values).
pub const MAX_UID_BASE: u32 = u32::MAX - 1 - UID_RANGE;

/// Occurs when a [`CodeConfig`] is inconsistent or unsafe; carries the field and the value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Occurs when a limit is zero (it would forbid every program).
    #[error("code config: `limits.{field}` must be positive, got 0")]
    ZeroLimit {
        /// The offending field.
        field: &'static str,
    },
    /// Occurs when a numeric field lies outside the range the sandbox can honour safely
    /// (e.g. `uid_base` 0, which would run programs as root and sweep root's processes).
    #[error("code config: `{field}` must be in {min}..={max}, got {value}")]
    OutOfRange {
        /// The offending field, e.g. `limits.memory_bytes` or `uid_base`.
        field: &'static str,
        /// The configured value.
        value: u64,
        /// The smallest accepted value.
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// Occurs when the uid range `uid_base..uid_base + UID_RANGE` contains an id that an
    /// account, group or subordinate-id range of this machine uses: the sandbox kills every
    /// process of the uids it claims.
    #[error(
        "code config: `uid_base` {uid_base} overlaps an existing id: {file} line {line} ({entry})"
    )]
    UidRangeInUse {
        /// The configured base.
        uid_base: u32,
        /// The file that names the id (`/etc/passwd`, `/etc/group`, `/etc/subuid`, …).
        file: PathBuf,
        /// Its 1-based line number.
        line: usize,
        /// The account or group name on that line.
        entry: String,
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
    /// Occurs when `tmp_dir` is not an absolute path.
    #[error("code config: `tmp_dir` must be an absolute path, got {0:?}")]
    RelativeTmpDir(PathBuf),
}

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

impl CodeConfig {
    /// Checks every field against the range the sandbox honours safely, and `uid_base`'s
    /// range against the accounts in `/etc/passwd`, `/etc/group`, `/etc/subuid` and
    /// `/etc/subgid` (a missing file has no accounts).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_fields()?;
        check_uid_base(self.uid_base)
    }

    /// The checks of [`validate`](Self::validate) that read no file.
    pub fn validate_fields(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        for (field, value) in [
            ("timeout_ms", l.timeout_ms),
            ("cpu_time_s", l.cpu_time_s),
            ("memory_bytes", l.memory_bytes),
            ("run_memory_bytes", l.run_memory_bytes),
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
        for (field, value, min, max) in [
            ("limits.timeout_ms", l.timeout_ms, 1, 3_600_000),
            ("limits.cpu_time_s", l.cpu_time_s, 1, 3_600),
            ("limits.memory_bytes", l.memory_bytes, 64 * MIB, 1 << 40),
            (
                "limits.run_memory_bytes",
                l.run_memory_bytes,
                64 * MIB,
                1 << 40,
            ),
            ("limits.file_size_bytes", l.file_size_bytes, KIB, 1 << 40),
            ("limits.disk_bytes", l.disk_bytes, MIB, 1 << 40),
            ("limits.open_files", l.open_files, 16, 65_536),
            ("limits.processes", l.processes, 4, 65_536),
            ("limits.output_bytes", l.output_bytes as u64, KIB, 4 * GIB),
            ("workers", u64::from(self.workers), 0, 1024),
            (
                "uid_base",
                u64::from(self.uid_base),
                u64::from(MIN_UID_BASE),
                u64::from(MAX_UID_BASE),
            ),
        ] {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::OutOfRange {
                    field,
                    value,
                    min,
                    max,
                });
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
        if let Some(p) = &self.tmp_dir
            && !p.is_absolute()
        {
            return Err(ConfigError::RelativeTmpDir(p.clone()));
        }
        Ok(())
    }
}

/// Checks `base` against [`MIN_UID_BASE`]..=[`MAX_UID_BASE`] and its range against the ids
/// in `/etc/passwd`, `/etc/group`, `/etc/subuid` and `/etc/subgid` (a missing file has none).
pub(crate) fn check_uid_base(base: u32) -> Result<(), ConfigError> {
    if !(MIN_UID_BASE..=MAX_UID_BASE).contains(&base) {
        return Err(ConfigError::OutOfRange {
            field: "uid_base",
            value: u64::from(base),
            min: u64::from(MIN_UID_BASE),
            max: u64::from(MAX_UID_BASE),
        });
    }
    for file in ["/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid"] {
        let path = Path::new(file);
        if let Ok(text) = std::fs::read_to_string(path) {
            check_uid_range(base, path, &text)?;
        }
    }
    Ok(())
}

/// Checks that no id named in `text` (an `/etc/passwd` or `/etc/group` file: the third
/// field; an `/etc/subuid` or `/etc/subgid` file: `name:start:count` ranges) falls in
/// `base..base + UID_RANGE`.
pub fn check_uid_range(base: u32, file: &Path, text: &str) -> Result<(), ConfigError> {
    let ours = u64::from(base)..u64::from(base) + u64::from(UID_RANGE);
    let sub = file
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("sub"));
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split(':').collect();
        let (start, count) = if sub {
            match (fields.get(1), fields.get(2)) {
                (Some(s), Some(c)) => match (s.trim().parse::<u64>(), c.trim().parse::<u64>()) {
                    (Ok(s), Ok(c)) => (s, c),
                    _ => continue,
                },
                _ => continue,
            }
        } else {
            match fields.get(2).and_then(|f| f.trim().parse::<u64>().ok()) {
                Some(id) => (id, 1),
                None => continue,
            }
        };
        if start < ours.end && ours.start < start.saturating_add(count) {
            return Err(ConfigError::UidRangeInUse {
                uid_base: base,
                file: file.to_path_buf(),
                line: i + 1,
                entry: fields.first().unwrap_or(&"").to_string(),
            });
        }
    }
    Ok(())
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
    fn unsafe_uid_bases_are_refused_with_the_field_named() {
        for base in [
            0,
            1,
            1000,
            65_534,
            100_000,
            MIN_UID_BASE - 1,
            MAX_UID_BASE + 1,
            u32::MAX,
        ] {
            let c = CodeConfig {
                uid_base: base,
                ..CodeConfig::default()
            };
            match c.validate_fields() {
                Err(ConfigError::OutOfRange { field, value, .. }) => {
                    assert_eq!((field, value), ("uid_base", u64::from(base)));
                }
                other => panic!("uid_base {base}: {other:?}"),
            }
            assert!(c.validate().is_err());
        }
        let json: CodeConfig = serde_json::from_str(r#"{"uid_base": 0}"#).unwrap();
        let err = json.validate().unwrap_err().to_string();
        assert!(err.contains("`uid_base`"), "{err}");
    }

    #[test]
    fn uid_ranges_that_hold_an_account_are_refused() {
        let base = 0x2000_0000_u32;
        let passwd = format!(
            "root:x:0:0::/root:/bin/sh\nsvc:x:{}:1::/:/bin/false\n",
            base + 7
        );
        let err = check_uid_range(base, Path::new("/etc/passwd"), &passwd).unwrap_err();
        assert_eq!(
            err,
            ConfigError::UidRangeInUse {
                uid_base: base,
                file: "/etc/passwd".into(),
                line: 2,
                entry: "svc".into()
            }
        );
        // A subordinate range that starts below and reaches into ours.
        let subuid = format!("alice:{}:65536\n", base - 100);
        assert!(check_uid_range(base, Path::new("/etc/subuid"), &subuid).is_err());
        // Ranges that end just before or start just after ours are fine.
        let fine = format!(
            "a:{}:100\nb:{}:5\n",
            base - 100,
            u64::from(base) + u64::from(UID_RANGE)
        );
        assert!(check_uid_range(base, Path::new("/etc/subgid"), &fine).is_ok());
        assert!(check_uid_range(base, Path::new("/etc/group"), "bad line\n::x\n").is_ok());
    }

    #[test]
    fn every_limit_has_a_range() {
        type Set = fn(&mut CodeConfig);
        let cases: [(&str, Set); 6] = [
            ("limits.memory_bytes", |c| c.limits.memory_bytes = 1 << 20),
            ("limits.timeout_ms", |c| c.limits.timeout_ms = u64::MAX),
            ("limits.open_files", |c| c.limits.open_files = 3),
            ("limits.processes", |c| c.limits.processes = 1 << 40),
            ("limits.output_bytes", |c| c.limits.output_bytes = 10),
            ("workers", |c| c.workers = 100_000),
        ];
        for (want, set) in cases {
            let mut c = CodeConfig::default();
            set(&mut c);
            match c.validate_fields() {
                Err(ConfigError::OutOfRange { field, .. }) => assert_eq!(field, want),
                other => panic!("{want}: {other:?}"),
            }
        }
        let c = CodeConfig {
            tmp_dir: Some("relative".into()),
            ..CodeConfig::default()
        };
        assert!(matches!(c.validate(), Err(ConfigError::RelativeTmpDir(_))));
    }

    #[test]
    fn config_rejects_unknown_fields() {
        let err = serde_json::from_str::<CodeConfig>(r#"{"limits": {"timeout": 3}}"#);
        assert!(err.is_err());
        let ok: CodeConfig = serde_json::from_str(r#"{"limits": {"timeout_ms": 3}}"#).unwrap();
        assert_eq!(ok.validate_fields(), Ok(()));
        assert_eq!(ok.limits.timeout_ms, 3);
        assert_eq!(ok.limits.cpu_time_s, Limits::default().cpu_time_s);
    }
}
