//! Criterion bench: XRPO allocation of a 16×1024 rollout budget over 1024 prompts (target
//! < 1 ms median), plus the per-phase shares of the default plan and GRPO's baseline.
//!
//! Run: `cargo bench -p xrpo-alloc --bench allocate`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use xrpo_alloc::{FixedAllocator, PromptStats, RolloutAllocator, XrpoAllocator, XrpoConfig};

const PROMPTS: usize = 1024;

/// Phase-1 stats of 1024 prompts: 4 binary rewards each, solve rates spread over [0, 1]
/// (deterministic), so ~40% of the groups have zero variance as in real RLVR batches.
fn phase1_stats() -> Vec<PromptStats> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..PROMPTS)
        .map(|q| {
            let p = q as f64 / PROMPTS as f64;
            let rewards: Vec<f64> = (0..4).map(|_| f64::from(u8::from(uniform() < p))).collect();
            PromptStats::from_rewards(rewards).expect("finite rewards")
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let stats = phase1_stats();
    let mut xrpo = XrpoAllocator::new(XrpoConfig::default()).expect("default config is valid");
    let budgets = xrpo
        .plan()
        .phase_budgets(PROMPTS)
        .expect("default plan fits");

    c.bench_function("xrpo/allocate 16x1024 over 1024 prompts", |b| {
        b.iter(|| xrpo.allocate(black_box(&stats), black_box(16 * PROMPTS)))
    });
    c.bench_function(
        "xrpo/allocate phase 2 share (6144) over 1024 prompts",
        |b| b.iter(|| xrpo.allocate(black_box(&stats), black_box(budgets[1]))),
    );
    let mut grpo = FixedAllocator::new(32).expect("n > 0");
    c.bench_function("fixed/allocate 16x1024 over 1024 prompts", |b| {
        b.iter(|| grpo.allocate(black_box(&stats), black_box(16 * PROMPTS)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
