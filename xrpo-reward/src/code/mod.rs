//! Code rewards: run model-written Python programs against tests in a sandbox.
//!
//! [`CodeVerifier`] implements [`Verifier`] for [`Reference::Code`] with two test styles
//! ([`CodeTests`]):
//! - assert style (HumanEval): `prefix + code` defines the entry point, the tests define
//!   `check(candidate)`, and the response passes when `check` returns. The tests run in a
//!   checker process of their own and call the candidate's function, which runs in another
//!   process, over a private pipe; the verdict is the checker's exit status, which the
//!   candidate's process cannot reach (threat model: the [`harness`] module docs and
//!   ARCHITECTURE.md);
//! - stdin/stdout cases (LiveCodeBench): each case runs the code with the case's input on
//!   stdin; the output must match line by line, exactly after stripping, else token by token
//!   with exact numeric equality (see [`outputs_match`]).
//!
//! The code is the last ```` ```python ```` fenced block of the response (also ```` ```py ````
//! and ```` ```python3 ````; an unterminated last fence runs to the end), else the whole
//! response. The reward is 1 when every test passes, else 0; with
//! [`CodeConfig::partial_credit`], stdin/stdout tests give the fraction of cases passed.
//!
//! Every program runs in the [`sandbox`]: a child process in a fresh temporary directory,
//! with limits ([`Limits`]), an empty environment, a wall-clock kill of the whole process
//! tree, and an isolation level ([`Isolation`]) recorded in each verdict's `detail`
//! (`isolation=namespaces; …`). A configured minimum level that this machine cannot provide
//! makes [`CodeVerifier::new`] fail with [`VerifyError::SandboxUnavailable`]; nothing runs
//! unconfined.
//!
//! # Example
//! ```
//! use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier, Isolation, StdioCase};
//! use xrpo_reward::{Reference, Verifier};
//!
//! let config = CodeConfig { min_isolation: Isolation::Rlimits, ..CodeConfig::default() };
//! let verifier = match CodeVerifier::new(config) {
//!     Ok(v) => v,
//!     Err(e) => { eprintln!("no sandbox here: {e}"); return; }
//! };
//! let reference = Reference::Code(CodeTests::Stdio {
//!     stdio: vec![StdioCase { input: "2 3\n".into(), output: "5\n".into() }],
//! });
//! let response = "Here you go:\n```python\na, b = map(int, input().split())\nprint(a + b)\n```";
//! let verdict = verifier.verify(response, &reference).unwrap();
//! assert!(verdict.correct());
//! assert_eq!(verdict.reward, 1.0);
//! ```

#[cfg(target_os = "linux")]
mod cgroup;
mod classify;
mod compare;
mod config;
mod extract;
pub mod harness;
#[cfg(target_os = "linux")]
mod mounts;
pub mod sandbox;
#[cfg(target_os = "linux")]
mod seccomp;
mod verifier;

pub use compare::outputs_match;
pub use config::{
    CodeConfig, ConfigError, Limits, MAX_UID_BASE, MIN_UID_BASE, SocketFamily, UID_RANGE,
    check_uid_range,
};
pub use extract::extract_code;
pub use sandbox::{
    Isolation, MemoryCap, Program, RunOutput, Sandbox, SandboxSettings, Termination,
};
pub use verifier::CodeVerifier;

use serde::{Deserialize, Serialize};

/// The tests a program must pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodeTests {
    /// HumanEval style: `prefix + code + "\n" + tests + "\n" + "check(entry_point)"`.
    Assert {
        /// Text placed before the response's code (e.g. HumanEval's prompt).
        #[serde(default)]
        prefix: String,
        /// Test code that defines `check(candidate)`.
        tests: String,
        /// Name of the function under test; must be a Python identifier.
        entry_point: String,
    },
    /// Standard input / output cases.
    Stdio {
        /// The cases, each run as its own process.
        stdio: Vec<StdioCase>,
    },
}

/// One stdin/stdout test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StdioCase {
    /// What the program reads on stdin.
    pub input: String,
    /// What it must print.
    pub output: String,
}
