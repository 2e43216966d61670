//! Hostile programs: each must be contained and reported, never hang the verifier or touch
//! the host. Every test runs at each isolation level this machine provides; a level that is
//! unavailable is skipped with a printed message (fail-closed behaviour has its own tests).

use std::path::Path;
use std::time::{Duration, Instant};
use xrpo_reward::code::{
    CodeConfig, CodeTests, CodeVerifier, Isolation, Limits, MemoryCap, StdioCase,
};
use xrpo_reward::{Outcome, Reason, Reference, Verdict, Verifier, VerifyError};

const LEVELS: [Isolation; 2] = [Isolation::Namespaces, Isolation::Rlimits];

fn config(level: Isolation) -> CodeConfig {
    CodeConfig {
        min_isolation: level,
        max_isolation: level,
        limits: Limits {
            timeout_ms: 1500,
            cpu_time_s: 2,
            ..Limits::default()
        },
        workers: 2,
        ..CodeConfig::default()
    }
}

/// Hostile programs hog the two CI cores; the tests of this file take turns so that a fork
/// bomb cannot make a benign program of another test miss its deadline.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The verifier at exactly `level`, or `None` (with a message) where the level is missing.
fn verifier(level: Isolation) -> Option<CodeVerifier> {
    verifier_with(config(level))
}

/// Like [`verifier`] with a generous 10 s deadline, for programs that should pass.
fn benign_verifier(level: Isolation) -> Option<CodeVerifier> {
    let mut cfg = config(level);
    cfg.limits.timeout_ms = 10_000;
    cfg.limits.cpu_time_s = 10;
    verifier_with(cfg)
}

fn verifier_with(cfg: CodeConfig) -> Option<CodeVerifier> {
    let level = cfg.min_isolation;
    match CodeVerifier::new(cfg) {
        Ok(v) => {
            assert_eq!(v.isolation(), level);
            Some(v)
        }
        Err(VerifyError::SandboxUnavailable(why)) => {
            eprintln!("SKIP isolation `{level}` is unavailable on this machine: {why}");
            None
        }
        Err(e) => panic!("unexpected error building the verifier: {e}"),
    }
}

fn stdio(input: &str, output: &str) -> Reference {
    Reference::Code(CodeTests::Stdio {
        stdio: vec![StdioCase {
            input: input.into(),
            output: output.into(),
        }],
    })
}

/// Runs `code` expecting stdout `expected`; returns the verdict and how long it took.
fn run(v: &CodeVerifier, code: &str, expected: &str) -> (Verdict, Duration) {
    let start = Instant::now();
    let verdict = v
        .verify(code, &stdio("", expected))
        .expect("the sandbox itself must not fail");
    (verdict, start.elapsed())
}

/// Processes on this machine owned by any of `uids` (read from /proc/*/status).
fn processes_of(uids: &[u32]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let uid = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|u| u.parse::<u32>().ok());
        let state = status
            .lines()
            .find_map(|l| l.strip_prefix("State:"))
            .unwrap_or("")
            .trim();
        // A zombie or dead entry is a process already killed, waiting to be reaped.
        if uid.is_some_and(|u| uids.contains(&u)) && !state.starts_with(['Z', 'X']) {
            found.push(format!(
                "pid {name}: {}",
                status.lines().next().unwrap_or("")
            ));
        }
    }
    found
}

fn assert_no_leftovers(v: &CodeVerifier) {
    let uids = v.sandbox_uids();
    if uids.is_empty() {
        eprintln!("note: not root, so runs share the caller's uid; leftover check skipped");
        return;
    }
    // SIGKILLed processes take a moment to exit; give them up to 2 s before calling them
    // survivors.
    let start = Instant::now();
    let mut left = processes_of(&uids);
    while !left.is_empty() && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
        left = processes_of(&uids);
    }
    assert!(left.is_empty(), "processes outlived their run: {left:?}");
}

#[test]
fn well_behaved_program_passes_at_every_level() {
    let _turn = serial();
    for level in LEVELS {
        let Some(v) = benign_verifier(level) else {
            continue;
        };
        let (verdict, _) = run(&v, "print(sum(range(10)))", "45");
        assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
        assert!(
            verdict.detail.starts_with(&format!("isolation={level};")),
            "{}",
            verdict.detail
        );
    }
}

#[test]
fn infinite_loop_times_out() {
    let _turn = serial();
    for level in LEVELS {
        let Some(v) = verifier(level) else { continue };
        let (verdict, took) = run(&v, "while True:\n    pass\n", "never");
        assert_eq!(verdict.reason, Reason::Timeout, "{verdict:?}");
        assert_eq!(verdict.outcome, Outcome::Wrong);
        // Containment, not speed: the 1.5 s limit must not let it run for tens of seconds.
        assert!(took < Duration::from_secs(15), "took {took:?}");
        assert_no_leftovers(&v);
    }
}

#[test]
fn fork_bomb_is_capped_and_cleaned_up() {
    let _turn = serial();
    let bomb =
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n";
    for level in LEVELS {
        let Some(v) = verifier(level) else { continue };
        if v.sandbox_uids().is_empty() {
            eprintln!("SKIP fork bomb at `{level}`: without root RLIMIT_NPROC cannot be per run");
            continue;
        }
        let (verdict, took) = run(&v, bomb, "never");
        assert_ne!(verdict.reason, Reason::Passed, "{verdict:?}");
        assert!(took < Duration::from_secs(15), "took {took:?}");
        assert_no_leftovers(&v);
        // The host can still start processes.
        assert!(
            std::process::Command::new("true")
                .status()
                .is_ok_and(|s| s.success())
        );
    }
}

#[test]
fn ten_gib_allocation_hits_the_memory_limit() {
    let _turn = serial();
    for level in LEVELS {
        let Some(v) = verifier(level) else { continue };
        let (verdict, _) = run(
            &v,
            "x = bytearray(10 * 1024**3)\nprint('allocated')\n",
            "allocated",
        );
        assert_eq!(verdict.reason, Reason::MemoryLimit, "{verdict:?}");
    }
}

#[test]
fn cannot_write_outside_its_directory() {
    let _turn = serial();
    // A root-owned 0755 directory: writable by the verifier's user, not by a sandboxed run.
    let dir = std::env::temp_dir().join(format!("xrpo-code-test-outside-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("pwned");
    let tmp_target = std::env::temp_dir().join(format!("xrpo-pwned-{}", std::process::id()));
    for level in LEVELS {
        let Some(v) = benign_verifier(level) else {
            continue;
        };
        if v.sandbox_uids().is_empty() && level == Isolation::Rlimits {
            eprintln!("SKIP write test at `rlimits`: not root, so runs keep the caller's uid");
            continue;
        }
        let code = format!(
            "try:\n    open({:?}, 'w').write('x')\n    print('wrote')\nexcept OSError:\n    print('blocked')\n\
             open('inside.txt', 'w').write('ok')\n",
            target.display().to_string()
        );
        let (verdict, _) = run(&v, &code, "blocked");
        assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
        assert!(!target.exists(), "the sandbox wrote {target:?}");
        if level == Isolation::Namespaces {
            // The host's world-writable /tmp does not exist inside the mount namespace:
            // `/tmp` there is the run's own scratch directory.
            let code = code.replace(
                &target.display().to_string(),
                &tmp_target.display().to_string(),
            );
            let (verdict, _) = run(&v, &code, "wrote");
            assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
            assert!(!tmp_target.exists(), "the sandbox wrote {tmp_target:?}");
        }
    }
    let _ = std::fs::remove_file(&tmp_target);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn environment_is_empty_and_other_environs_unreadable() {
    let _turn = serial();
    assert!(
        std::env::var_os("PATH").is_some(),
        "the test process should have a PATH to leak"
    );
    let code = r#"
import os
# Python itself sets LC_CTYPE when it coerces the C locale (PEP 538); the sandbox sets TMPDIR
# to the run's own scratch directory; nothing else may appear.
leaks = [k for k in os.environ if k not in ('LC_CTYPE', 'TMPDIR')]
for pid in os.listdir('/proc'):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            data = open('/proc/%s/environ' % pid, 'rb').read()
            if b'PATH=' in data:
                leaks.append(pid)
        except OSError:
            pass
print('clean' if not leaks else 'leaked %r' % leaks)
"#;
    for level in LEVELS {
        let Some(v) = benign_verifier(level) else {
            continue;
        };
        if v.sandbox_uids().is_empty() && level == Isolation::Rlimits {
            eprintln!("SKIP /proc environ check at `rlimits`: not root, same uid as the parent");
            continue;
        }
        let (verdict, _) = run(&v, code, "clean");
        assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
    }
}

#[test]
fn no_network_under_namespaces() {
    let _turn = serial();
    let Some(v) = benign_verifier(Isolation::Namespaces) else {
        return;
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        "import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=1)\n    \
         print('connected')\nexcept OSError:\n    print('blocked')\n"
    );
    let (verdict, _) = run(&v, &code, "blocked");
    assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "a sandboxed program reached the host's listener"
    );
    eprintln!("note: isolation `rlimits` has no network isolation by design (see its docs)");
}

#[test]
fn one_gib_of_output_is_capped() {
    let _turn = serial();
    let code =
        "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\n";
    for level in LEVELS {
        let Some(v) = verifier(level) else { continue };
        let (verdict, took) = run(&v, code, "x");
        assert_eq!(verdict.reason, Reason::SandboxError, "{verdict:?}");
        assert!(
            verdict.detail.contains("output exceeded"),
            "{}",
            verdict.detail
        );
        assert!(took < Duration::from_secs(15), "took {took:?}");
        assert_no_leftovers(&v);
    }
}

#[test]
fn double_forked_orphan_dies_with_the_run() {
    let _turn = serial();
    let code = r#"
import os, time, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(1000)
    os._exit(0)
time.sleep(0.2)
print('parent done')
sys.stdout.flush()
"#;
    for level in LEVELS {
        let Some(v) = benign_verifier(level) else {
            continue;
        };
        if v.sandbox_uids().is_empty() && level == Isolation::Rlimits {
            eprintln!("SKIP orphan test at `rlimits`: not root, so no per-run uid to sweep");
            continue;
        }
        let (verdict, took) = run(&v, code, "parent done");
        // The orphan holds stdout open and sleeps for 1000 s; had the run waited for it,
        // the 10 s deadline would have turned the verdict into a timeout.
        assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
        assert!(took < Duration::from_secs(10), "took {took:?}");
        assert_no_leftovers(&v);
    }
}

#[test]
fn temp_dirs_are_removed() {
    let _turn = serial();
    let tmp = std::env::temp_dir().join(format!("xrpo-code-test-tmp-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for level in LEVELS {
        let mut cfg = CodeConfig {
            tmp_dir: Some(tmp.clone()),
            ..config(level)
        };
        cfg.limits.timeout_ms = 10_000;
        let v = match CodeVerifier::new(cfg) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("SKIP `{level}`: {e}");
                continue;
            }
        };
        let (verdict, _) = run(&v, "open('junk', 'w').write('x' * 1000)\nprint(1)", "1");
        assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
        let left: Vec<_> = std::fs::read_dir(&tmp)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .filter(|n| n.to_string_lossy().starts_with("xrpo-code-"))
            .collect();
        assert!(left.is_empty(), "run directories left behind: {left:?}");
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Re-runs this test binary inside a user namespace where this process is unprivileged:
/// there a verifier that requires namespaces must refuse to start, and one that accepts
/// rlimits must report that level.
#[test]
fn fails_closed_when_namespaces_are_unavailable() {
    let _turn = serial();
    if std::env::var_os("XRPO_CODE_FAIL_CLOSED_CHILD").is_some() {
        match CodeVerifier::new(config(Isolation::Namespaces)) {
            Err(VerifyError::SandboxUnavailable(why)) => println!("FAIL-CLOSED-OK: {why}"),
            other => panic!("expected SandboxUnavailable, got {other:?}"),
        }
        let weak = CodeConfig {
            min_isolation: Isolation::Rlimits,
            ..config(Isolation::Rlimits)
        };
        let v = CodeVerifier::new(CodeConfig {
            max_isolation: Isolation::Namespaces,
            ..weak
        })
        .expect("rlimits works unprivileged");
        let (verdict, _) = run(&v, "print(6 * 7)", "42");
        assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
        println!("DOWNGRADE-OK: isolation={}", v.isolation());
        return;
    }
    let unshare = ["/usr/bin/unshare", "/bin/unshare"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(unshare) = unshare else {
        eprintln!("SKIP fail-closed test: util-linux `unshare` not installed");
        return;
    };
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(unshare)
        .args(["--user", "--map-user=65534", "--map-group=65534", "--"])
        .arg(exe)
        .args([
            "--exact",
            "fails_closed_when_namespaces_are_unavailable",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("XRPO_CODE_FAIL_CLOSED_CHILD", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() && text.contains("unshare failed") {
        eprintln!("SKIP fail-closed test: user namespaces are not permitted here: {text}");
        return;
    }
    assert!(out.status.success(), "child failed: {text}");
    assert!(text.contains("FAIL-CLOSED-OK"), "{text}");
    assert!(text.contains("DOWNGRADE-OK: isolation=rlimits"), "{text}");
}

#[test]
fn unsupported_reference_is_an_error() {
    let _turn = serial();
    let Some(v) = verifier(Isolation::Rlimits) else {
        return;
    };
    let r = v.verify("1", &Reference::Math { answer: "1".into() });
    assert!(
        matches!(r, Err(VerifyError::UnsupportedReference(_))),
        "{r:?}"
    );
}

#[test]
fn working_directory_is_size_capped_under_namespaces() {
    let _turn = serial();
    let Some(v) = benign_verifier(Isolation::Namespaces) else {
        return;
    };
    // 12 files of 8 MiB: each under the 16 MiB file-size limit, 96 MiB in all, past the
    // 64 MiB tmpfs. The program's own source is read-only to it as well.
    let code = r#"
written = 0
try:
    for i in range(12):
        with open('f%d' % i, 'wb') as f:
            f.write(b'x' * (8 << 20))
        written += 8
except OSError as e:
    print('full' if e.errno == 28 and written <= 64 else 'odd %d %r' % (written, e))
try:
    open('../main.py', 'a').write('#')
    print('source modified')
except OSError:
    print('source protected')
"#;
    let (verdict, _) = run(&v, code, "full\nsource protected");
    assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
}

/// A stdio program looks for the expected output on the host: the verifier's own input file
/// in /tmp, the project, home directories, other runs' directories. Under namespaces none of
/// it exists; under rlimits (as root) files closed to others stay closed.
#[test]
fn host_files_and_the_expected_output_are_invisible() {
    let _turn = serial();
    let secret = format!("EXPECTED-{}-{}", std::process::id(), 0x5eed_u32);
    let open_file = std::env::temp_dir().join(format!("xrpo-expected-open-{}", std::process::id()));
    let closed_file =
        std::env::temp_dir().join(format!("xrpo-expected-closed-{}", std::process::id()));
    std::fs::write(&open_file, &secret).unwrap();
    std::fs::write(&closed_file, &secret).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&open_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&closed_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let project = env!("CARGO_MANIFEST_DIR");
    let probe = |paths: &[&str]| {
        format!(
            "import os\nseen = []\nfor p in {paths:?}:\n    try:\n        \
             data = open(p).read() if os.path.isfile(p) else os.listdir(p)\n        \
             seen.append(p)\n    except OSError:\n        pass\n\
             print('hidden' if not seen else 'seen %r' % seen)\n"
        )
    };
    let open_path = open_file.display().to_string();
    let closed_path = closed_file.display().to_string();
    // Host paths that exist here (so that seeing them would be a leak). `/tmp` itself and
    // parents of the interpreter's directories may exist inside as the run's own scratch
    // and empty skeleton directories; their host contents must not.
    let cargo_toml = format!("{project}/Cargo.toml");
    let host_paths: Vec<&str> = [
        open_path.as_str(),
        closed_path.as_str(),
        project,
        cargo_toml.as_str(),
        "/root/.bashrc",
        "/root/.cargo",
        "/root/.ssh",
        "/home",
        "/run",
        "/var/log",
        "/etc/passwd",
        "/etc/hostname",
    ]
    .into_iter()
    .filter(|p| Path::new(p).exists())
    .collect();
    assert!(host_paths.len() >= 4, "{host_paths:?}");
    let everything = probe(&host_paths);
    for level in LEVELS {
        let Some(v) = benign_verifier(level) else {
            continue;
        };
        match level {
            Isolation::Namespaces => {
                let (verdict, _) = run(&v, &everything, "hidden");
                assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
            }
            Isolation::Rlimits if !v.sandbox_uids().is_empty() => {
                // The host's file system is visible at this level (documented); what is
                // closed to others stays closed to the run's uid.
                let (verdict, _) = run(&v, &probe(&[&closed_path, "/root"]), "hidden");
                assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
            }
            Isolation::Rlimits => eprintln!("SKIP rlimits file check: not root"),
        }
    }
    std::fs::remove_file(&open_file).unwrap();
    std::fs::remove_file(&closed_file).unwrap();
}

/// A world-writable Unix socket on the host must not receive anything from a run: under
/// namespaces its path does not exist, and at every level the seccomp filter refuses
/// `AF_UNIX` sockets unless the configuration allows them.
#[test]
fn host_unix_sockets_are_unreachable() {
    let _turn = serial();
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::temp_dir().join(format!("xrpo-host-sock-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let code = format!(
        "import socket\ntry:\n    s = socket.socket(socket.AF_UNIX)\n    s.connect({:?})\n    \
         s.sendall(b'pwned')\n    print('connected')\nexcept OSError:\n    print('blocked')\n",
        path.display().to_string()
    );
    for level in LEVELS {
        let Some(v) = benign_verifier(level) else {
            continue;
        };
        let (verdict, _) = run(&v, &code, "blocked");
        assert_eq!(verdict.reason, Reason::Passed, "`{level}`: {verdict:?}");
        assert!(
            listener.accept().is_err(),
            "`{level}`: a run reached the host's socket"
        );
    }
    std::fs::remove_file(&path).unwrap();
}

/// System calls that reach the kernel's attack surface or other processes are refused
/// (EPERM; EAFNOSUPPORT for socket families), while fork, threads and subprocesses work.
#[cfg(target_arch = "x86_64")]
#[test]
fn seccomp_refuses_dangerous_system_calls() {
    let _turn = serial();
    let code = r#"
import ctypes, os, socket, subprocess, sys, threading
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def call(nr, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return 'ok' if r >= 0 else 'errno %d' % ctypes.get_errno()
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
out = []
out.append('ptrace ' + call(101, 0, 0, 0, 0))            # PTRACE_TRACEME
out.append('unshare ' + call(272, CLONE_NEWUSER))
out.append('unshare_ns ' + call(272, CLONE_NEWNS))
out.append('keyctl ' + call(250, 0, 0, 0, 0))
out.append('add_key ' + call(248, 0, 0, 0, 0, 0))
out.append('bpf ' + call(321, 0, 0, 0))
out.append('mount ' + call(165, 0, 0, 0, 0, 0))
out.append('pivot_root ' + call(155, 0, 0))
out.append('kexec_load ' + call(246, 0, 0, 0, 0))
out.append('process_vm_readv ' + call(310, 1, 0, 0, 0, 0, 0))
out.append('io_uring_setup ' + call(425, 1, 0))
out.append('perf_event_open ' + call(298, 0, 0, -1, -1, 0))
out.append('userfaultfd ' + call(323, 0))
for name, fam in (('vsock', 40), ('netlink', 16), ('packet', 17), ('inet', 2), ('unix', 1)):
    try:
        socket.socket(fam, socket.SOCK_DGRAM if fam != 40 else socket.SOCK_STREAM).close()
        out.append(name + ' ok')
    except OSError as e:
        out.append('%s errno %d' % (name, e.errno))
t = threading.Thread(target=lambda: None); t.start(); t.join()
pid = os.fork()
if pid == 0:
    os._exit(7)
_, status = os.waitpid(pid, 0)
sub = subprocess.run([sys.executable, '-c', 'print(6*7)'], capture_output=True, text=True).stdout.strip()
out.append('threads fork subprocess %d %s' % (os.WEXITSTATUS(status), sub))
print('\n'.join(out))
"#;
    let expected = "ptrace errno 1\nunshare errno 1\nunshare_ns errno 1\nkeyctl errno 1\n\
                    add_key errno 1\nbpf errno 1\nmount errno 1\npivot_root errno 1\n\
                    kexec_load errno 1\nprocess_vm_readv errno 1\nio_uring_setup errno 1\n\
                    perf_event_open errno 1\nuserfaultfd errno 1\nvsock errno 97\n\
                    netlink errno 97\npacket errno 97\ninet errno 97\nunix errno 97\n\
                    threads fork subprocess 7 42";
    for level in LEVELS {
        let Some(v) = benign_verifier(level) else {
            continue;
        };
        let (verdict, _) = run(&v, code, expected);
        assert_eq!(verdict.reason, Reason::Passed, "`{level}`: {verdict:?}");
    }
}

/// A socket family the configuration allows works (here `unix`, for a `socketpair`).
#[test]
fn allowed_socket_families_work() {
    let _turn = serial();
    let mut cfg = config(Isolation::Namespaces);
    cfg.min_isolation = Isolation::Rlimits;
    cfg.limits.timeout_ms = 10_000;
    cfg.socket_families = vec![xrpo_reward::code::SocketFamily::Unix];
    let Some(v) = verifier_with(CodeConfig {
        min_isolation: Isolation::Namespaces,
        ..cfg.clone()
    })
    .or_else(|| {
        verifier_with(CodeConfig {
            max_isolation: Isolation::Rlimits,
            ..cfg
        })
    }) else {
        return;
    };
    let code =
        "import socket\na, b = socket.socketpair()\na.sendall(b'hi')\nprint(b.recv(2).decode())\n";
    let (verdict, _) = run(&v, code, "hi");
    assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
}

/// A verifier for the run-cap tests, or `None` where no cgroup caps a run (there a memory
/// hog spread over many processes is bounded only per process, so it is not started).
fn capped_verifier(level: Isolation, run_memory: u64) -> Option<CodeVerifier> {
    let mut cfg = config(level);
    cfg.limits.timeout_ms = 15_000;
    cfg.limits.cpu_time_s = 10;
    cfg.limits.run_memory_bytes = run_memory;
    let v = verifier_with(cfg)?;
    if v.memory_cap() == MemoryCap::PerProcess {
        eprintln!("SKIP run-cap test at `{level}`: no cgroup caps runs on this machine");
        return None;
    }
    eprintln!("`{level}`: runs capped by {}", v.memory_cap());
    Some(v)
}

/// Six processes of 100 MiB each stay under the per-process limit (2 GiB) but not under a
/// run cap of 256 MiB: the run ends as a memory-limit verdict. (600 MiB in all, so even a
/// broken cap cannot hurt the machine.)
#[test]
fn memory_hog_across_processes_hits_the_run_cap() {
    let _turn = serial();
    let code = r#"
import os, time
kids = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = b'x' * (100 << 20)
        time.sleep(1.5)
        os._exit(0)
    kids.append(pid)
statuses = [os.waitpid(k, 0)[1] for k in kids]
print('ok' if all(os.WIFEXITED(s) and os.WEXITSTATUS(s) == 0 for s in statuses) else 'killed')
"#;
    for level in LEVELS {
        let Some(v) = capped_verifier(level, 256 << 20) else {
            continue;
        };
        let (verdict, took) = run(&v, code, "ok");
        assert_eq!(
            verdict.reason,
            Reason::MemoryLimit,
            "`{level}`: {verdict:?}"
        );
        assert!(verdict.detail.contains("memory cap"), "{}", verdict.detail);
        assert!(took < Duration::from_secs(20), "took {took:?}");
        assert_no_leftovers(&v);
        // The same program within the cap passes.
        let small = code.replace("100 << 20", "8 << 20");
        let (verdict, _) = run(&v, &small, "ok");
        assert_eq!(verdict.reason, Reason::Passed, "`{level}`: {verdict:?}");
    }
}

/// Under `rlimits` a run can write to the shared /dev/shm and /tmp: its files there are
/// private to its uid, removed after the run, and count against the run's memory cap;
/// TMPDIR is the run's own directory.
#[test]
fn rlimits_scratch_is_private_capped_and_cleaned() {
    let _turn = serial();
    let Some(v) = benign_verifier(Isolation::Rlimits) else {
        return;
    };
    if v.sandbox_uids().is_empty() {
        eprintln!("SKIP scratch test: not root, so runs share the caller's uid");
        return;
    }
    let tag = format!("xrpo-leak-{}", std::process::id());
    let code = format!(
        "import os, stat, tempfile\n\
         for d in ('/dev/shm', '/tmp'):\n    \
             p = os.path.join(d, {tag:?})\n    \
             open(p, 'w').write('left behind')\n    \
             assert stat.S_IMODE(os.stat(p).st_mode) & 0o077 == 0, oct(os.stat(p).st_mode)\n\
         os.mkdir('/dev/shm/{tag}-dir')\n\
         print(tempfile.gettempdir() == os.getcwd())\n"
    );
    let (verdict, _) = run(&v, &code, "True");
    assert_eq!(verdict.reason, Reason::Passed, "{verdict:?}");
    for left in [
        format!("/dev/shm/{tag}"),
        format!("/dev/shm/{tag}-dir"),
        format!("/tmp/{tag}"),
    ] {
        assert!(!Path::new(&left).exists(), "{left} outlived its run");
    }
    // 512 MiB written to RAM-backed /dev/shm in 8 MiB files: the run cap stops it.
    let Some(v) = capped_verifier(Isolation::Rlimits, 128 << 20) else {
        return;
    };
    let hog = format!(
        "for i in range(64):\n    open('/dev/shm/{tag}-%d' % i, 'wb').write(b'x' * (8 << 20))\nprint('wrote')\n"
    );
    let (verdict, _) = run(&v, &hog, "wrote");
    assert_ne!(verdict.reason, Reason::Passed, "{verdict:?}");
    let left: Vec<_> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&tag))
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left in /dev/shm: {left:?}");
}
