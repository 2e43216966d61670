//! Hostile programs: each must be contained and reported, never hang the verifier or touch
//! the host. Every test runs at each isolation level this machine provides; a level that is
//! unavailable is skipped with a printed message (fail-closed behaviour has its own tests).

use std::path::Path;
use std::time::{Duration, Instant};
use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier, Isolation, Limits, StdioCase};
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
            // World-writable /tmp is read-only too inside the mount namespace.
            let code = code.replace(
                &target.display().to_string(),
                &tmp_target.display().to_string(),
            );
            let (verdict, _) = run(&v, &code, "blocked");
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
# Python itself sets LC_CTYPE when it coerces the C locale (PEP 538); nothing else may appear.
leaks = [k for k in os.environ if k != 'LC_CTYPE']
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
