//! Linux implementation of the sandbox: `pre_exec` confinement, a `poll` loop over the
//! child's pipes and its pidfd, and whole-tree kills.

use super::{Isolation, MemoryCap, Program, RunOutput, SocketFamily, Termination};
use crate::VerifyError;
use crate::code::cgroup::{CgroupParent, CgroupVersion, RunCgroup};
use crate::code::mounts::{Plan, Tree};
use crate::code::seccomp::Filter;
use crate::code::{Limits, MIN_UID_BASE};
use std::ffi::CString;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long the pipes may stay open after the program exited and its tree was killed.
const DRAIN_GRACE: Duration = Duration::from_millis(200);
/// Bytes moved per `read`/`write` call.
const CHUNK: usize = 64 * 1024;

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Takes an exclusive, non-blocking `flock` on `file`; false if another holder has it.
pub fn try_lock(file: &std::fs::File) -> bool {
    // SAFETY: flock on a descriptor we own.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// A fresh run directory, removed on drop: the directory itself (mode 0711, the caller's)
/// holds the program's files, read-only to the run; its `work` subdirectory (mode 0700, the
/// run's uid) is the run's working directory.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn create(root: &Path, uid: Option<u32>) -> Result<Self, VerifyError> {
        use std::os::unix::fs::PermissionsExt;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        // An unpredictable suffix: another user of a shared /tmp cannot pre-create the name.
        let random = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            h.finish()
        };
        let name = format!("xrpo-code-{}-{random:016x}", std::process::id());
        let path = root.join(name);
        std::fs::create_dir(&path)?;
        let dir = TempDir(path);
        std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o711))?;
        let work = dir.work();
        std::fs::create_dir(&work)?;
        std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o700))?;
        if let Some(uid) = uid {
            std::os::unix::fs::chown(&work, Some(uid), Some(uid))?;
        }
        std::fs::create_dir(dir.new_root())?;
        std::fs::set_permissions(dir.new_root(), std::fs::Permissions::from_mode(0o700))?;
        Ok(dir)
    }

    /// Where the program's files go.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The run's working directory.
    pub fn work(&self) -> PathBuf {
        self.0.join("work")
    }

    /// Where the minimal file tree of `namespaces` is built (an empty directory).
    pub fn new_root(&self) -> PathBuf {
        self.0.join("root")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a failure leaves a directory behind but must not fail the verdict.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills every process owned by `uid`: a forked helper switches to that uid and sends
/// `kill(-1, SIGKILL)`, which reaches all processes it may signal (never itself), in this
/// pid namespace and all below it. The signal is scoped to the sandbox's own processes
/// because `uid` is a claimed sandbox uid, which [`CodeConfig::validate`] keeps clear of every
/// account; as a second guard the helper refuses a uid below [`MIN_UID_BASE`] and checks,
/// after the switch, that no id it holds is still root's before it signals.
///
/// [`CodeConfig::validate`]: crate::code::CodeConfig::validate
pub fn kill_all_of_uid(uid: u32) -> Result<(), VerifyError> {
    if uid < MIN_UID_BASE {
        return Err(VerifyError::SandboxUnavailable(format!(
            "refusing to sweep uid {uid}: below the sandbox range starting at {MIN_UID_BASE}"
        )));
    }
    // SAFETY: the child only makes raw syscalls and exits; no allocation, no locks.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(VerifyError::Io(io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: raw syscalls on the single thread of the forked child.
        unsafe {
            let (mut r, mut e, mut saved) = (0, 0, 0);
            if libc::syscall(libc::SYS_setresgid, uid, uid, uid) == 0
                && libc::syscall(libc::SYS_setresuid, uid, uid, uid) == 0
                && libc::getresuid(&mut r, &mut e, &mut saved) == 0
                && r == uid
                && e == uid
                && saved == uid
            {
                libc::kill(-1, libc::SIGKILL);
                libc::_exit(0);
            }
            libc::_exit(1);
        }
    }
    let status = wait_pid(pid, None)?;
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(VerifyError::SandboxUnavailable(format!(
            "could not switch to sandbox uid {uid} to kill its leftover processes (status {status})"
        )))
    }
}

/// Removes every entry directly inside `dirs` owned by `uid` (a directory with all it holds:
/// `remove_dir_all` does not follow symlinks). Best effort: a failure leaves a file behind
/// but must not fail the verdict. Refuses uids outside the sandbox range.
pub fn remove_files_of_uid(uid: u32, dirs: &[&Path]) {
    use std::os::unix::fs::MetadataExt;
    if uid < MIN_UID_BASE {
        return;
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.uid() != uid {
                continue;
            }
            let _ = if meta.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
}

fn wait_pid(pid: libc::pid_t, rusage: Option<&mut libc::rusage>) -> Result<i32, VerifyError> {
    let mut status = 0;
    let usage = rusage.map_or(std::ptr::null_mut(), |r| r as *mut libc::rusage);
    loop {
        // SAFETY: `status` and `usage` (or null) are valid for writes.
        let r = unsafe { libc::wait4(pid, &mut status, 0, usage) };
        if r == pid {
            return Ok(status);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(VerifyError::Io(err));
        }
    }
}

/// Everything the child needs, prepared before `fork` so that the `pre_exec` hook only
/// makes syscalls (it must not allocate).
struct ChildPlan {
    uid: Option<u32>,
    /// Under namespaces: the minimal file tree to build and pivot into.
    tree: Option<Plan>,
    /// The working directory, as the program sees it.
    work: CString,
    rlimits: Vec<(libc::__rlimit_resource_t, u64, u64)>,
    filter: Filter,
    /// `cgroup.procs` of the run's cgroup(s): the child writes itself in first.
    cgroup_fds: Vec<RawFd>,
}

fn check(r: libc::c_long) -> io::Result<()> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl ChildPlan {
    /// Runs in the forked child, before `exec`. Async-signal-safe calls only.
    fn setup(&self) -> io::Result<()> {
        // SAFETY (whole function): raw syscalls with pointers to live, NUL-terminated
        // strings and initialised structs owned by `self` or the stack.
        unsafe {
            check(libc::setsid() as libc::c_long)?;
            for &fd in &self.cgroup_fds {
                // "0" is the writing process itself.
                check(libc::write(fd, c"0".as_ptr() as *const libc::c_void, 1) as libc::c_long)?;
            }
            if let Some(tree) = &self.tree {
                let flags = libc::CLONE_NEWNS
                    | libc::CLONE_NEWPID
                    | libc::CLONE_NEWNET
                    | libc::CLONE_NEWIPC
                    | libc::CLONE_NEWUTS;
                check(libc::unshare(flags) as libc::c_long)?;
                // Private first, so nothing below propagates back to the host.
                check(libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) as libc::c_long)?;
                tree.build()?;
                let pid = libc::fork();
                if pid < 0 {
                    return Err(io::Error::last_os_error());
                }
                if pid > 0 {
                    shim(pid);
                }
                // We are pid 1 of the new pid namespace: a /proc that shows only our tree.
                check(libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    std::ptr::null(),
                ) as libc::c_long)?;
            }
            for &(resource, soft, hard) in &self.rlimits {
                let lim = libc::rlimit {
                    rlim_cur: soft,
                    rlim_max: hard,
                };
                check(libc::setrlimit(resource, &lim) as libc::c_long)?;
            }
            if let Some(uid) = self.uid {
                check(libc::syscall(
                    libc::SYS_setgroups,
                    0,
                    std::ptr::null::<libc::gid_t>(),
                ))?;
                check(libc::syscall(libc::SYS_setresgid, uid, uid, uid))?;
                check(libc::syscall(libc::SYS_setresuid, uid, uid, uid))?;
            }
            // Files the run creates (in shared places such as /dev/shm under `rlimits`) are
            // private to its uid.
            libc::umask(0o077);
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) as libc::c_long)?;
            if self.tree.is_some() {
                // Set after the uid switch, which clears it. If the shim dies, so do we.
                check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) as libc::c_long)?;
            }
            check(libc::chdir(self.work.as_ptr()) as libc::c_long)?;
            // Last: from here on only the filtered system calls are possible.
            self.filter.install()?;
        }
        Ok(())
    }
}

/// The parent side of the namespace fork: holds no file descriptors, waits for pid 1 of the
/// new namespace and mirrors its exit status or signal, so the caller sees the program's.
unsafe fn shim(child: libc::pid_t) -> ! {
    // SAFETY: raw syscalls in a single-threaded forked child; never returns.
    unsafe {
        libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        let mut status = 0;
        loop {
            let r = libc::waitpid(child, &mut status, 0);
            if r == child {
                break;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                libc::_exit(125);
            }
        }
        if libc::WIFEXITED(status) {
            libc::_exit(libc::WEXITSTATUS(status));
        }
        if libc::WIFSIGNALED(status) {
            let sig = libc::WTERMSIG(status);
            libc::signal(sig, libc::SIG_DFL);
            libc::kill(libc::getpid(), sig);
            libc::_exit(128 + sig);
        }
        libc::_exit(125)
    }
}

fn rlimits(limits: &Limits, cap_processes: bool) -> Vec<(libc::__rlimit_resource_t, u64, u64)> {
    let mut v = vec![
        // Soft limit sends SIGXCPU; the hard limit one second later sends SIGKILL.
        (
            libc::RLIMIT_CPU,
            limits.cpu_time_s,
            limits.cpu_time_s.saturating_add(1),
        ),
        (libc::RLIMIT_AS, limits.memory_bytes, limits.memory_bytes),
        (
            libc::RLIMIT_FSIZE,
            limits.file_size_bytes,
            limits.file_size_bytes,
        ),
        (libc::RLIMIT_NOFILE, limits.open_files, limits.open_files),
        (libc::RLIMIT_CORE, 0, 0),
    ];
    if cap_processes {
        v.push((libc::RLIMIT_NPROC, limits.processes, limits.processes));
    }
    v
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        check(flags as libc::c_long)?;
        check(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) as libc::c_long)
    }
}

/// Kills the run's process group (its session leader's pid), every process of its cgroup,
/// and, as root, every process of its uid.
fn kill_tree(
    pgid: libc::pid_t,
    uid: Option<u32>,
    cgroup: Option<&RunCgroup>,
) -> Result<(), VerifyError> {
    // SAFETY: kill has no memory-safety preconditions; `-pgid` is the process group the
    // run's first process created (it is not reaped yet, so the id cannot be reused).
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    if let Some(cgroup) = cgroup {
        cgroup.kill_all();
    }
    match uid {
        Some(uid) => kill_all_of_uid(uid),
        None => Ok(()),
    }
}

/// Reads what is available from `fd` into `buf`; `Ok(true)` at end of file. Stops reading
/// (returning `Ok(false)`) once `buf` holds more than `cap` bytes.
fn drain(pipe: &mut impl Read, buf: &mut Vec<u8>, cap: usize) -> io::Result<bool> {
    let mut chunk = [0u8; CHUNK];
    loop {
        match pipe.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.len() > cap {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The per-sandbox parts of the confinement: the file tree (namespaces) and the seccomp
/// filter.
pub struct Confinement {
    tree: Option<Tree>,
    filter: Filter,
    /// Where each run's cgroup goes (as root, where controllers are available).
    cgroups: Option<CgroupParent>,
}

impl Confinement {
    pub fn memory_cap(&self) -> MemoryCap {
        match self.cgroups.as_ref().map(CgroupParent::version) {
            Some(CgroupVersion::V2) => MemoryCap::CgroupV2,
            Some(CgroupVersion::V1) => MemoryCap::CgroupV1,
            None => MemoryCap::PerProcess,
        }
    }

    pub fn new(
        isolation: Isolation,
        root: bool,
        visible: &[PathBuf],
        families: &[SocketFamily],
    ) -> Result<Self, VerifyError> {
        if !crate::code::seccomp::SUPPORTED {
            return Err(VerifyError::SandboxUnavailable(
                "the sandbox's seccomp filter supports x86-64 and aarch64 only".into(),
            ));
        }
        let tree = match isolation {
            Isolation::Namespaces => Some(Tree::new(visible).map_err(|e| {
                VerifyError::SandboxUnavailable(format!("building the file tree: {e}"))
            })?),
            Isolation::Rlimits => None,
        };
        Ok(Confinement {
            tree,
            filter: Filter::new(families),
            cgroups: if root { CgroupParent::detect() } else { None },
        })
    }
}

pub fn run_in(
    isolation: Isolation,
    limits: &Limits,
    uid: Option<u32>,
    dir: &TempDir,
    confinement: &Confinement,
    program: &Program<'_>,
) -> Result<RunOutput, VerifyError> {
    let (tree, filter) = (confinement.tree.as_ref(), &confinement.filter);
    // The run's own cgroup: every process it starts is capped together and killed together.
    let cgroup = match &confinement.cgroups {
        Some(parent) => Some(
            parent
                .create(limits.run_memory_bytes, limits.processes)
                .map_err(|e| {
                    VerifyError::SandboxUnavailable(format!("creating the run's cgroup: {e}"))
                })?,
        ),
        None => None,
    };
    let cgroup = cgroup.as_ref();
    let unavailable = |e: io::Error| VerifyError::SandboxUnavailable(format!("run directory: {e}"));
    let work_options = match uid {
        Some(uid) => format!("size={},mode=0700,uid={uid},gid={uid}", limits.disk_bytes),
        None => format!("size={},mode=0700", limits.disk_bytes),
    };
    let (tree, work) = match (isolation, tree) {
        (Isolation::Namespaces, Some(tree)) => (
            Some(Plan::new(tree, &dir.new_root(), dir.path(), &work_options).map_err(unavailable)?),
            PathBuf::from(Plan::work().to_string_lossy().as_ref()),
        ),
        (Isolation::Namespaces, None) => {
            return Err(VerifyError::SandboxUnavailable(
                "isolation `namespaces` needs a file tree".into(),
            ));
        }
        (Isolation::Rlimits, _) => (None, dir.work()),
    };
    let plan = ChildPlan {
        uid,
        tree,
        work: CString::new(work.as_os_str().as_bytes()).map_err(|_| {
            VerifyError::SandboxUnavailable(format!("temp dir {work:?} contains a NUL byte"))
        })?,
        rlimits: rlimits(limits, uid.is_some()),
        filter: filter.clone(),
        cgroup_fds: cgroup.map(RunCgroup::join_fds).unwrap_or_default(),
    };
    let mut cmd = Command::new(program.executable);
    cmd.args(program.args)
        .env_clear()
        .env("TMPDIR", &work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: `setup` makes only async-signal-safe syscalls and does not allocate.
    unsafe { cmd.pre_exec(move || plan.setup()) };
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| {
        VerifyError::SandboxUnavailable(format!(
            "could not start {:?} under isolation `{isolation}`: {e}",
            program.executable
        ))
    })?;
    let pid = child.id() as libc::pid_t;
    // From here on the child runs; every exit path below must kill and reap it.
    let tree = RunTree {
        pid,
        uid,
        cgroup,
        namespaces: isolation == Isolation::Namespaces,
    };
    let result = supervise(&mut child, &tree, limits, program.stdin, start);
    if result.is_err() {
        let _ = tree.kill();
    }
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let status = wait_pid(pid, Some(&mut usage))?;
    let wall = start.elapsed();
    let (termination, stdout, stderr) = result?;
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let termination = termination.unwrap_or(if libc::WIFEXITED(status) {
        Termination::Exited(libc::WEXITSTATUS(status))
    } else {
        Termination::Signaled(libc::WTERMSIG(status))
    });
    Ok(RunOutput {
        termination,
        stdout,
        stderr,
        wall,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        isolation,
        memory_cap_hit: cgroup.is_some_and(RunCgroup::oom_killed),
    })
}

/// The processes of one run, for killing.
struct RunTree<'a> {
    pid: libc::pid_t,
    uid: Option<u32>,
    cgroup: Option<&'a RunCgroup>,
    namespaces: bool,
}

impl RunTree<'_> {
    /// Kills everything the run started.
    fn kill(&self) -> Result<(), VerifyError> {
        kill_tree(self.pid, self.uid, self.cgroup)
    }

    /// After the first process exited: under namespaces its descendants died with it (it was
    /// pid 1), and the caller sweeps the uid anyway.
    fn kill_leftovers(&self) -> Result<(), VerifyError> {
        kill_tree(
            self.pid,
            if self.namespaces { None } else { self.uid },
            self.cgroup,
        )
    }
}

type Supervised = (Option<Termination>, Vec<u8>, Vec<u8>);

/// Feeds stdin, collects capped output, enforces the wall-clock deadline, and kills the
/// tree once the program exits (so leftover descendants cannot hold the pipes open).
fn supervise(
    child: &mut std::process::Child,
    tree: &RunTree<'_>,
    limits: &Limits,
    input: &[u8],
    start: Instant,
) -> Result<Supervised, VerifyError> {
    let pid = tree.pid;
    // SAFETY: pidfd_open returns a new descriptor that we own, or -1.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    check(pidfd)?;
    // SAFETY: `pidfd` is a fresh, valid descriptor owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as RawFd) };
    let mut stdin = child.stdin.take();
    let to_file = |fd: OwnedFd| std::fs::File::from(fd);
    let mut stdout = child.stdout.take().map(|p| to_file(p.into()));
    let mut stderr = child.stderr.take().map(|p| to_file(p.into()));
    for fd in [
        stdout.as_ref().map(|p| p.as_raw_fd()),
        stderr.as_ref().map(|p| p.as_raw_fd()),
    ]
    .into_iter()
    .chain([stdin.as_ref().map(|p| p.as_raw_fd())])
    .flatten()
    {
        set_nonblocking(fd)?;
    }
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut written = 0usize;
    if input.is_empty() {
        stdin = None;
    }
    let deadline = start + limits.wall_time();
    let mut termination: Option<Termination> = None;
    let mut exited = false;
    let mut drain_until: Option<Instant> = None;
    loop {
        if exited && stdout.is_none() && stderr.is_none() {
            break;
        }
        let now = Instant::now();
        if termination.is_none() && now >= deadline {
            termination = Some(Termination::WallTimeout);
            tree.kill()?;
            drain_until = Some(now + DRAIN_GRACE);
        }
        if let Some(until) = drain_until
            && now >= until
        {
            if exited {
                // Something we could not kill still holds a pipe: stop reading.
                break;
            }
            // Killed but not yet exited: keep waiting on the pidfd only.
            stdout = None;
            stderr = None;
        }
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(4);
        let mut push = |fd: RawFd, events: libc::c_short| {
            fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
        };
        if !exited {
            push(pidfd.as_raw_fd(), libc::POLLIN);
        }
        if let Some(p) = &stdout {
            push(p.as_raw_fd(), libc::POLLIN);
        }
        if let Some(p) = &stderr {
            push(p.as_raw_fd(), libc::POLLIN);
        }
        if let Some(p) = &stdin {
            push(p.as_raw_fd(), libc::POLLOUT);
        }
        let wake = match drain_until {
            Some(until) if termination.is_some() => until,
            Some(until) => until.min(deadline),
            None => deadline,
        };
        let timeout_ms = wake
            .saturating_duration_since(now)
            .as_millis()
            .clamp(1, 60_000) as i32;
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(VerifyError::Io(e));
        }
        let ready = |fd: RawFd| fds.iter().any(|p| p.fd == fd && p.revents != 0);
        if let Some(p) = &mut stdin
            && ready(p.as_raw_fd())
        {
            let end = (written + CHUNK).min(input.len());
            match p.write(&input[written..end]) {
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // The program closed its stdin (or died): it does not want the rest.
                Err(_) => written = input.len(),
            }
            if written >= input.len() {
                stdin = None;
            }
        }
        for (pipe, buf) in [(&mut stdout, &mut out), (&mut stderr, &mut err)] {
            let Some(p) = pipe else { continue };
            if !ready(p.as_raw_fd()) {
                continue;
            }
            let eof = drain(p, buf, limits.output_bytes)?;
            if buf.len() > limits.output_bytes {
                buf.truncate(limits.output_bytes);
                if termination.is_none() {
                    termination = Some(Termination::OutputLimit);
                    tree.kill()?;
                    drain_until = Some(Instant::now() + DRAIN_GRACE);
                }
                *pipe = None;
            } else if eof {
                *pipe = None;
            }
        }
        if !exited && ready(pidfd.as_raw_fd()) {
            exited = true;
            stdin = None;
            // Descendants that outlived the program must not keep the pipes open. Under
            // namespaces they died with pid 1 already; the caller sweeps the uid anyway.
            tree.kill_leftovers()?;
            drain_until.get_or_insert(Instant::now() + DRAIN_GRACE);
        }
    }
    Ok((termination, out, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_caps_and_reports_eof() {
        let mut buf = Vec::new();
        let mut src: &[u8] = b"hello";
        assert!(drain(&mut src, &mut buf, 100).unwrap());
        assert_eq!(buf, b"hello");
        let mut big: &[u8] = &[7u8; 3 * CHUNK];
        let mut buf = Vec::new();
        assert!(!drain(&mut big, &mut buf, 10).unwrap());
        assert!(buf.len() > 10);
    }
}
