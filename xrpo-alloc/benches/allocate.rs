//! Criterion bench: XRPO allocation of a 16×1024 rollout budget over 1024 prompts (target
//! < 1 ms median), plus the per-phase shares of the default plan and GRPO's baseline, and
//! the t quantile / a phase with a prompt holding 14 million rewards.
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

    // A prompt with 14 million rewards (the `xrpo allocate` hang): the t quantile at 14M
    // degrees of freedom and a phase over that prompt plus 1023 ordinary ones.
    c.bench_function("t_quantile at 14M degrees of freedom", |b| {
        b.iter(|| xrpo_alloc::t_interval::t_quantile(0.05, black_box(14_000_000)))
    });
    let mut with_huge = stats.clone();
    with_huge[0] = PromptStats::from_moments(14_000_000, 0.5, 0.5).expect("finite moments");
    c.bench_function("xrpo/allocate 16x1024 with a 14M-reward prompt", |b| {
        b.iter(|| xrpo.allocate(black_box(&with_huge), black_box(16 * PROMPTS)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
