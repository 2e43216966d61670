//! Math verifier throughput on Math-Verify's 283 conformance cases (gold + response per
//! case, each with its test's options): one thread in a loop, and all cores through
//! `verify_batch`. `benches/math_verify_compare.sh` runs this beside Math-Verify 0.9.0.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use serde_json::Value;
use xrpo_reward::math::{MathConfig, MathVerifier, Target};
use xrpo_reward::{Reference, Verifier};

fn config_for(options: &Value) -> MathConfig {
    let mut cfg = MathConfig {
        boxed_priority: 50,
        ..MathConfig::default()
    };
    if let Some(types) = options.get("match_types").and_then(Value::as_array) {
        cfg.targets = types
            .iter()
            .filter_map(|t| match t.as_str() {
                Some("latex") => Some(Target::Latex),
                Some("expr") => Some(Target::Expr),
                Some("string") => Some(Target::Choice),
                _ => None,
            })
            .collect();
    }
    if let Some(p) = options
        .get("latex_boxed_match_priority")
        .and_then(Value::as_u64)
    {
        cfg.boxed_priority = p as u32;
    }
    if let Some(p) = options.get("precision").and_then(Value::as_u64) {
        cfg.precision = p as u32;
    }
    if let Some(s) = options.get("strict").and_then(Value::as_bool) {
        cfg.strict = s;
    }
    if let Some(a) = options
        .get("allow_set_relation_comp")
        .and_then(Value::as_bool)
    {
        cfg.allow_set_relation_comp = a;
    }
    if let Some(s) = options.get("string_strings").and_then(Value::as_array) {
        cfg.choices = s
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect();
    }
    if let Some(l) = options.get("string_lowercase").and_then(Value::as_bool) {
        cfg.choice_lowercase = l;
    }
    cfg
}

/// One verifier per case (built once, outside the timed loop), the response, the gold.
fn load() -> Vec<(MathVerifier, String, Reference)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/math-verify-cases.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("conformance data is committed");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let case: Value = serde_json::from_str(l).expect("valid JSON line");
            let gold = case["gold"].as_str()?.to_string();
            let pred = case["pred"].as_str()?.to_string();
            let verifier = MathVerifier::new(config_for(&case["options"])).expect("valid config");
            Some((verifier, pred, Reference::Math { answer: gold }))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let cases = load();
    let mut group = c.benchmark_group("math_verify");
    group.throughput(Throughput::Elements(cases.len() as u64));
    group.bench_function("conformance_one_thread", |b| {
        b.iter(|| {
            for (v, pred, gold) in &cases {
                black_box(
                    v.verify(pred, gold)
                        .expect("math never fails as infrastructure"),
                );
            }
        })
    });
    // All cores, same per-case options: rayon over the cases.
    group.bench_function("conformance_all_cores", |b| {
        b.iter(|| {
            let out: Vec<_> = cases
                .par_iter()
                .map(|(v, pred, gold)| v.verify(pred, gold))
                .collect();
            black_box(out)
        })
    });
    // All cores: one default verifier over the whole batch (the trainer's path).
    let default = MathVerifier::default();
    let items: Vec<(&str, &Reference)> = cases.iter().map(|(_, p, g)| (p.as_str(), g)).collect();
    group.bench_function("conformance_all_cores_batch", |b| {
        b.iter(|| black_box(default.verify_batch(&items)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
