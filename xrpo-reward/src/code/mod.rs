//! Code rewards: run model-written programs against tests in a sandbox.
//! The sandboxed runner is filled by the code verifier issue; the test shapes live here.

use serde::{Deserialize, Serialize};

/// The tests a program must pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodeTests {
    /// HumanEval style: `prefix + code + tests + check(entry_point)`.
    Assert {
        /// Text placed before the response's code (e.g. HumanEval's prompt).
        #[serde(default)]
        prefix: String,
        /// Test code that defines `check(candidate)`.
        tests: String,
        /// Name of the function under test.
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
