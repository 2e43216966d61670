//! The assert-style (HumanEval) harness: two Python processes, so that the program under
//! test can never reach the pass signal.
//!
//! - The *checker* (`harness/checker.py`, trusted) is the sandbox's main program. It makes
//!   itself non-dumpable (no ptrace, no `/proc/<pid>/mem` or `/proc/<pid>/fd` for a process
//!   of the same uid), refuses `-O`, reads the prompt and the tests from its stdin (never
//!   from a file), then starts the server and runs the tests' `check` *in its own process*.
//! - The *server* (`harness/server.py`) runs the candidate's code in a fresh interpreter
//!   (its own address space: nothing of the tests is in its memory), and answers the
//!   checker's calls of the entry point over a private pipe pair. Arguments and results
//!   cross as tagged JSON and are rebuilt as exact built-in types (`harness/wire.py`), so an
//!   object whose `==` is always true cannot cross; an exception of the candidate is
//!   re-raised in the checker as a plain error (never `StopIteration` or `SystemExit`, which
//!   would end a loop of the tests or the run early).
//! - The verdict is the checker's exit status, read by the parent-side runner; the
//!   candidate's process has no channel to it (stdout, stdin and `atexit` hooks of the
//!   server decide nothing).
//!
//! Limits of the scheme: the candidate is called through a proxy, so tests that inspect the
//! function object (`candidate.__name__`), pass it non-data arguments (a lambda: the verdict
//! is unverifiable), call helpers the candidate defined other than the entry point, or
//! check that the candidate mutated an argument in place, are not supported.

/// The checker's source: the wire encoding, then the checker.
pub(crate) const CHECKER: &str = concat!(
    include_str!("harness/wire.py"),
    include_str!("harness/checker.py")
);
/// The server's source: the wire encoding, then the server.
pub(crate) const SERVER: &str = concat!(
    include_str!("harness/wire.py"),
    include_str!("harness/server.py")
);

/// File names of the harness in the run directory (reachable as `../<name>`).
pub(crate) const CHECKER_FILE: &str = "checker.py";
/// See [`CHECKER_FILE`].
pub(crate) const SERVER_FILE: &str = "server.py";
/// The prompt followed by the candidate's code.
pub(crate) const CANDIDATE_FILE: &str = "candidate.py";

/// The checker's exit statuses (kept in step with `harness/checker.py`).
pub(crate) mod exit {
    /// Every check passed.
    pub const PASSED: i32 = 0;
    /// An `assert` of the tests failed.
    pub const FAILED: i32 = 10;
    /// The tests or the candidate raised another exception.
    pub const ERROR: i32 = 11;
    /// The candidate's process ended (or broke the protocol) before `check` returned.
    pub const ENDED: i32 = 12;
    /// The candidate's code does not parse.
    pub const SYNTAX: i32 = 13;
    /// Out of memory.
    pub const MEMORY: i32 = 14;
    /// The tests do not load or define no `check`, without the candidate being called.
    pub const BAD_REFERENCE: i32 = 15;
    /// The candidate's process ran out of CPU time (`SIGXCPU`).
    pub const CPU: i32 = 16;
    /// The harness cannot guarantee its properties here (e.g. `-O`, no `prctl`).
    pub const HARNESS: i32 = 20;
}

/// What the checker reads on its stdin: the prompt (whose helper definitions the tests may
/// use) and the tests.
pub(crate) fn checker_input(prefix: &str, tests: &str) -> Vec<u8> {
    serde_json::json!({ "prefix": prefix, "tests": tests })
        .to_string()
        .into_bytes()
}
