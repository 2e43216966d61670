//! Our own labelled corpus (`tests/data/math-corpus.jsonl`): answers in the formats real
//! datasets store them (MATH, GSM8K, AIME, OlympiadBench, AMC / AQuA / MMLU letters,
//! Minerva) and cases that follow other public graders' documented behaviour, each with
//! its expected outcome, category and source. Prints a pass report per category.
//!
//! `MATH_CORPUS=path cargo test -p xrpo-reward --release --test math_corpus -- --nocapture`
//! runs another file of the same format.

use std::collections::BTreeMap;

use serde_json::Value;
use xrpo_reward::math::{MathConfig, MathVerifier};
use xrpo_reward::{Outcome, Reference, Verifier};

/// Cases we know we get wrong, with the reason: each must still fail (so the list cannot
/// rot), and none may be a wrong answer judged correct.
const KNOWN_GAPS: &[(&str, &str)] = &[];

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Correct => "correct",
        Outcome::Wrong => "wrong",
        Outcome::Unverifiable => "unverifiable",
    }
}

#[test]
fn corpus_per_category() {
    let path = std::env::var("MATH_CORPUS").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/math-corpus.jsonl").to_string()
    });
    let text = std::fs::read_to_string(&path).expect("the corpus file is committed");
    let mut per_cat: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut gaps_seen = Vec::new();
    let mut n = 0;
    for (lineno, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        n += 1;
        let case: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{path}:{}: invalid JSON: {e}", lineno + 1));
        let field = |k: &str| {
            case[k]
                .as_str()
                .unwrap_or_else(|| panic!("{path}:{}: missing string field `{k}`", lineno + 1))
        };
        let (id, gold, response, expected, category) = (
            field("id"),
            field("gold"),
            field("response"),
            field("expected"),
            field("category"),
        );
        assert!(
            case["source"].as_str().is_some_and(|s| !s.is_empty()),
            "{id}: every case names its source"
        );
        let cfg: MathConfig = match case.get("config") {
            Some(c) => serde_json::from_value(c.clone())
                .unwrap_or_else(|e| panic!("{id}: bad config: {e}")),
            None => MathConfig::default(),
        };
        let verifier = MathVerifier::new(cfg).expect("valid config");
        let verdict = verifier
            .verify(
                response,
                &Reference::Math {
                    answer: gold.to_string(),
                },
            )
            .expect("math verification never fails as infrastructure");
        let got = outcome_name(verdict.outcome);
        let entry = per_cat.entry(category.to_string()).or_default();
        entry.1 += 1;
        let gap = KNOWN_GAPS.iter().find(|g| g.0 == id);
        if got == expected {
            entry.0 += 1;
            assert!(gap.is_none(), "{id}: listed in KNOWN_GAPS but passes now");
        } else if gap.is_some() {
            assert!(
                !(got == "correct" && expected == "wrong"),
                "{id}: a known gap may not accept a wrong answer"
            );
            gaps_seen.push(id.to_string());
        } else {
            failures.push(format!(
                "{id} [{category}] gold={gold:?} response={response:?}: expected {expected}, got {got} ({:?}, extracted {:?})",
                verdict.reason, verdict.extracted
            ));
        }
    }
    let passed: usize = per_cat.values().map(|v| v.0).sum();
    eprintln!("category                    pass / total");
    for (cat, (p, t)) in &per_cat {
        eprintln!(
            "{cat:<27} {p:>4} / {t:<4} {:>6.1}%",
            100.0 * *p as f64 / *t as f64
        );
    }
    eprintln!(
        "{:<27} {passed:>4} / {n:<4} {:>6.1}%",
        "all",
        100.0 * passed as f64 / n as f64
    );
    assert!(
        n >= 300 || std::env::var("MATH_CORPUS").is_ok(),
        "corpus too small: {n}"
    );
    assert!(
        failures.is_empty(),
        "{} corpus cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
