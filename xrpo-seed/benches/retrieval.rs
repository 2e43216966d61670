//! Retrieval speed: 1,000 top-K queries against a 100,000-entry bank of synthetic
//! arithmetic word problems (lexical embedder, default config). Target: under 1 s in total.
//!
//! Run: `cargo bench -p xrpo-seed --bench retrieval`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use xrpo_seed::{ExemplarBank, ExemplarSeeder, PromptId, Provenance, SeedConfig};

#[path = "synthetic.rs"]
mod synthetic;

const BANK: usize = 100_000;
const QUERIES: usize = 1_000;

fn build_bank(prompts: &[String]) -> ExemplarBank {
    let config = SeedConfig {
        capacity: BANK,
        ..SeedConfig::default()
    };
    let mut bank = ExemplarBank::lexical(config).expect("default config is valid");
    for (i, p) in prompts.iter().enumerate() {
        bank.record(
            &PromptId::from(i as u64),
            p,
            "The answer is 42.",
            Provenance::Training { step: 0 },
        )
        .expect("synthetic prompts are non-empty");
    }
    bank
}

fn run_queries(bank: &mut ExemplarBank, queries: &[String]) -> usize {
    let mut found = 0;
    for (i, q) in queries.iter().enumerate() {
        let id = PromptId(format!("q{i}"));
        found += bank.retrieve(&id, q).expect("queries are non-empty").len();
    }
    found
}

/// This process's user + system CPU seconds (Linux `/proc/self/stat`, 100 ticks/s), or
/// `None` elsewhere. On a shared, oversubscribed machine CPU time is the steadier figure.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn bench(c: &mut Criterion) {
    let prompts = synthetic::prompts(1, BANK);
    let queries = synthetic::prompts(2, QUERIES);

    // One-off figures printed for the report (criterion medians follow).
    let t = Instant::now();
    let mut bank = build_bank(&prompts);
    let built = t.elapsed();
    let t = Instant::now();
    let _ = bank.retrieve(&PromptId::from("warm"), &queries[0]);
    let refresh = t.elapsed();
    let (t, cpu0) = (Instant::now(), cpu_seconds());
    let found = run_queries(&mut bank, &queries);
    let (total, cpu1) = (t.elapsed(), cpu_seconds());
    let cpu = match (cpu0, cpu1) {
        (Some(a), Some(b)) => format!(", CPU {:.2} s", b - a),
        _ => String::new(),
    };
    println!(
        "bank of {BANK}: build {:.3} s, first-query index refresh {:.1} ms; {QUERIES} queries: wall {:.3} s total{cpu} ({:.1} µs/query wall, {found} hits)",
        built.as_secs_f64(),
        refresh.as_secs_f64() * 1e3,
        total.as_secs_f64(),
        total.as_secs_f64() * 1e6 / QUERIES as f64,
    );

    let mut g = c.benchmark_group("xrpo-seed");
    g.sample_size(10).measurement_time(Duration::from_secs(25));
    g.bench_function("1000_queries_100k_bank", |b| {
        b.iter(|| black_box(run_queries(&mut bank, &queries)))
    });
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("build_100k_bank_and_refresh", |b| {
        b.iter(|| {
            let mut bank = build_bank(&prompts);
            black_box(
                bank.retrieve(&PromptId::from("warm"), &queries[0])
                    .map(|h| h.len()),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
