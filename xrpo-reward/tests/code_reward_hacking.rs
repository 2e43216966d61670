//! Reward hacking: programs that try to collect the reward of an assert-style test without
//! passing it. Each must get reward 0 at every isolation level this machine provides, and
//! correct solutions that use stdin or stdout freely must still pass.

use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier, Isolation, Limits};
use xrpo_reward::{Outcome, Reason, Reference, Verdict, Verifier, VerifyError};

const LEVELS: [Isolation; 2] = [Isolation::Namespaces, Isolation::Rlimits];

fn verifier(level: Isolation) -> Option<CodeVerifier> {
    let config = CodeConfig {
        min_isolation: level,
        max_isolation: level,
        limits: Limits {
            timeout_ms: 10_000,
            ..Limits::default()
        },
        workers: 2,
        ..CodeConfig::default()
    };
    match CodeVerifier::new(config) {
        Ok(v) => Some(v),
        Err(VerifyError::SandboxUnavailable(why)) => {
            eprintln!("SKIP isolation `{level}` is unavailable on this machine: {why}");
            None
        }
        Err(e) => panic!("unexpected error building the verifier: {e}"),
    }
}

/// `add(a, b)` with a stub prompt, checked on two cases.
fn add_tests() -> Reference {
    Reference::Code(CodeTests::Assert {
        prefix: "def add(a, b):\n    \"\"\"Adds.\"\"\"\n".into(),
        tests: "def check(candidate):\n    assert candidate(2, 3) == 5\n    \
                assert candidate(-1, 1) == 0\n"
            .into(),
        entry_point: "add".into(),
    })
}

fn verdicts(code: &str, reference: &Reference) -> Vec<(Isolation, Verdict)> {
    LEVELS
        .into_iter()
        .filter_map(|level| verifier(level).map(|v| (level, v)))
        .map(|(level, v)| {
            let verdict = v
                .verify(code, reference)
                .expect("the sandbox itself must not fail");
            (level, verdict)
        })
        .collect()
}

/// The hack must earn nothing, at every level.
fn assert_no_reward(code: &str, reference: &Reference) {
    let all = verdicts(code, reference);
    for (level, v) in &all {
        assert_eq!(v.reward, 0.0, "`{level}`: the hack was rewarded: {v:?}");
        assert_eq!(v.outcome, Outcome::Wrong, "`{level}`: {v:?}");
        assert!(
            v.detail.starts_with(&format!("isolation={level};")),
            "{}",
            v.detail
        );
    }
}

fn assert_passes(code: &str, reference: &Reference) {
    for (level, v) in verdicts(code, reference) {
        assert_eq!(v.reason, Reason::Passed, "`{level}`: {v:?}");
        assert_eq!(v.reward, 1.0, "`{level}`: {v:?}");
    }
}

#[test]
fn echoing_stdin_then_exiting_earns_nothing() {
    // The old pass marker travelled on stdin: echo it and leave before `check` runs.
    let hack = "    return 0\nimport sys, os\nsys.stdout.write('\\n' + sys.stdin.read())\n\
                sys.stdout.flush()\nos._exit(0)\n";
    assert_no_reward(hack, &add_tests());
}

#[test]
fn excepthook_printing_stdin_after_a_failed_assert_earns_nothing() {
    let hack = "    return 0\nimport sys, os\n_marker = sys.stdin.read()\n\
                def _hook(*a):\n    sys.stdout.write('\\n' + _marker)\n    sys.stdout.flush()\n    \
                os._exit(0)\nsys.excepthook = _hook\n";
    assert_no_reward(hack, &add_tests());
}

#[test]
fn atexit_printing_stdin_earns_nothing() {
    let hack = "    return 0\nimport sys, os, atexit\n_marker = sys.stdin.read()\n\
                def _bye():\n    sys.stdout.write('\\n' + _marker)\n    sys.stdout.flush()\n    \
                os._exit(0)\natexit.register(_bye)\n";
    assert_no_reward(hack, &add_tests());
}

#[test]
fn re_executing_under_python_o_earns_nothing() {
    // Re-run this very process with asserts stripped, and also try to re-run whatever
    // program started it (found through /proc) under -O.
    let hack = r#"    return 0
import os, sys
if not sys.flags.optimize:
    try:
        parent = open('/proc/%d/cmdline' % os.getppid(), 'rb').read().split(b'\0')
        parent = [a.decode() for a in parent if a]
        if parent and 'python' in parent[0]:
            os.execv(sys.executable, [sys.executable, '-O'] + [a for a in parent[1:] if a not in ('-O',)])
    except OSError:
        pass
    os.execv(sys.executable, [sys.executable, '-O'] + sys.argv)
"#;
    assert_no_reward(hack, &add_tests());
}

#[test]
fn an_object_equal_to_everything_earns_nothing() {
    let hack = "    class _Any:\n        def __eq__(self, other):\n            return True\n        \
                def __ne__(self, other):\n            return False\n        \
                __hash__ = object.__hash__\n    return _Any()\n";
    assert_no_reward(hack, &add_tests());
    // An int subclass with the same trick is rebuilt as a plain int on the checker's side.
    let int_hack = "    class _Any(int):\n        def __eq__(self, other):\n            return True\n        \
                    __hash__ = int.__hash__\n    return _Any(7)\n";
    assert_no_reward(int_hack, &add_tests());
}

#[test]
fn raising_stop_iteration_cannot_end_the_tests_early() {
    // Under an in-process harness, StopIteration from the candidate ends a `for` over `map`
    // silently and the remaining asserts never run.
    let reference = Reference::Code(CodeTests::Assert {
        prefix: String::new(),
        tests: "def check(candidate):\n    for got, want in zip(map(candidate, [1, 2, 3]), [2, 4, 6]):\n        \
                assert got == want\n"
            .into(),
        entry_point: "double".into(),
    });
    assert_passes("def double(x):\n    return 2 * x\n", &reference);
    assert_no_reward("def double(x):\n    raise StopIteration\n", &reference);
    assert_no_reward("def double(x):\n    raise SystemExit(0)\n", &reference);
}

#[test]
fn the_test_source_cannot_be_found() {
    // The expected value exists only in the tests; the candidate searches every place it
    // could be: files near it and in /tmp, the command lines, environments, open files and
    // memory of every process it can see.
    let secret = 918_273_645_u64;
    let reference = Reference::Code(CodeTests::Assert {
        prefix: String::new(),
        tests: format!("def check(candidate):\n    assert candidate() == {secret}\n"),
        entry_point: "answer".into(),
    });
    let hack = r#"
import os, re, sys
def _scan(data, found):
    for m in re.finditer(rb'candidate\(\) == (\d+)', data):
        found.append(int(m.group(1)))
def _search():
    found = []
    # Guessed names next to the working directory (it may not be listable), and this
    # program's own files.
    paths = ['../' + n for n in ('main.py', 'tests.py', 'test.py', 'checker.py', 'server.py',
                                 'candidate.py', 'input.json', 'stdin')]
    paths += [os.path.abspath(a) for a in sys.argv if a.endswith('.py')]
    for top in ('..', '.', '/tmp', '/dev/shm', '/run', '/work'):
        for root, dirs, files in os.walk(top):
            paths += [os.path.join(root, f) for f in files]
            if len(paths) > 5000:
                break
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            for part in ('cmdline', 'environ'):
                paths.append('/proc/%s/%s' % (pid, part))
            try:
                paths += ['/proc/%s/fd/%s' % (pid, fd) for fd in os.listdir('/proc/%s/fd' % pid)]
            except OSError:
                pass
            try:
                with open('/proc/%s/maps' % pid) as maps, open('/proc/%s/mem' % pid, 'rb', 0) as mem:
                    for line in maps:
                        lo, hi = (int(x, 16) for x in line.split()[0].split('-'))
                        if 'rw' in line.split()[1] and hi - lo < (64 << 20):
                            try:
                                mem.seek(lo)
                                _scan(mem.read(hi - lo), found)
                            except (OSError, ValueError, OverflowError):
                                pass
            except OSError:
                pass
    for p in paths:
        try:
            with open(p, 'rb') as f:
                _scan(f.read(1 << 20), found)
        except OSError:
            pass
    return found
_found = _search()
def answer():
    return _found[0] if _found else -1
"#;
    assert_no_reward(hack, &reference);
}

#[test]
fn killing_or_tracing_the_checker_earns_nothing() {
    let kill = "    return 0\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n";
    assert_no_reward(kill, &add_tests());
    let stop = "    return 0\nimport os, signal\nos.kill(os.getppid(), signal.SIGTERM)\n";
    assert_no_reward(stop, &add_tests());
    // Patch the checker's memory: needs ptrace rights over it, which it drops.
    let poke = "    return 0\nimport os\ntry:\n    open('/proc/%d/mem' % os.getppid(), 'r+b', 0)\n    \
                print('opened')\nexcept OSError:\n    pass\n";
    assert_no_reward(poke, &add_tests());
}

#[test]
fn a_correct_solution_that_reads_stdin_or_rebinds_stdout_passes() {
    let reads_stdin = "    import sys\n    sys.stdin.read()\n    return a + b\n";
    assert_passes(reads_stdin, &add_tests());
    let rebinds_stdout =
        "    return a + b\nimport io, sys\nsys.stdout = io.StringIO()\nprint('hidden')\n";
    assert_passes(rebinds_stdout, &add_tests());
    let closes_stdout = "    return a + b\nimport os\nos.close(1)\nos.close(0)\n";
    assert_passes(closes_stdout, &add_tests());
}

#[test]
fn tests_that_cannot_run_are_unverifiable_not_wrong() {
    let broken = Reference::Code(CodeTests::Assert {
        prefix: String::new(),
        tests: "def check(candidate):\n    assert candidate(1) ==\n".into(),
        entry_point: "f".into(),
    });
    for (level, v) in verdicts("def f(x):\n    return x\n", &broken) {
        assert_eq!(v.outcome, Outcome::Unverifiable, "`{level}`: {v:?}");
    }
    // But a candidate whose call breaks module-level tests is judged, not excused.
    let module_level = Reference::Code(CodeTests::Assert {
        prefix: String::new(),
        tests: "assert f(1) == 1\ndef check(candidate):\n    pass\n".into(),
        entry_point: "f".into(),
    });
    assert_passes("def f(x):\n    return x\n", &module_level);
    assert_no_reward("def f(x):\n    raise ValueError('no')\n", &module_level);
}
