//! Throughput of the advantage step on 1M responses (62,500 groups of 16), the size of a
//! large RL step: GRPO, Dr.GRPO, RLOO and XRPO-sharpened GRPO, each through a `Batch`
//! (`shape_into`) and through a borrowed `FlatBatch` (`shape_flat`, NaN = missing; the
//! Python binding's path). Target: > 50 M responses/s (< 20 ms per 1M). Run with
//! `cargo bench -p xrpo-advantage`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array1;
use xrpo_advantage::{AdvantageShaper, Batch, DrGrpo, FlatBatch, Grpo, Rloo, StdScale, Xrpo};

const GROUPS: usize = 62_500;
const GROUP_SIZE: usize = 16;

/// Deterministic binary rewards (~40% correct, 1% missing) and log-probs from an LCG.
fn batch() -> Batch {
    let n = GROUPS * GROUP_SIZE;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 40) as f64 / (1u64 << 24) as f64
    };
    let mut rewards = Vec::with_capacity(n);
    let mut s = Vec::with_capacity(n);
    for _ in 0..n {
        let u = next();
        rewards.push(if u < 0.01 {
            None
        } else {
            Some(f32::from(u8::from(u < 0.41)))
        });
        s.push((-2.0 * next()) as f32);
    }
    Batch::from_flat(Array1::from(rewards), &[GROUP_SIZE; GROUPS])
        .and_then(|b| b.with_seq_logprob(Array1::from(s)))
        .expect("generated batch is valid")
}

fn bench(c: &mut Criterion) {
    let b = batch();
    let mut out = vec![0.0f32; b.len()];
    let mut group = c.benchmark_group("advantage_1M");
    group.throughput(Throughput::Elements(b.len() as u64));
    let shapers: [(&str, Box<dyn AdvantageShaper>); 5] = [
        ("grpo", Box::new(Grpo::default())),
        (
            "grpo_batch_std",
            Box::new(Grpo::new(StdScale::Batch, 1e-4).expect("valid ε")),
        ),
        ("dr_grpo", Box::new(DrGrpo)),
        ("rloo", Box::new(Rloo)),
        ("xrpo_sharpened_grpo", Box::new(Xrpo::paper())),
    ];
    // The same data flat: NaN for a missing reward, offsets for the groups.
    let rewards: Vec<f32> = b.rewards().iter().map(|r| r.unwrap_or(f32::NAN)).collect();
    let s = b.seq_logprob_slice().expect("generated with seq_logprob");
    let flat = FlatBatch::new(&rewards, b.offsets())
        .and_then(|f| f.with_seq_logprob(s))
        .expect("same shape as the batch");
    for (name, shaper) in &shapers {
        group.bench_function(*name, |bench| {
            bench.iter(|| {
                shaper
                    .shape_into(std::hint::black_box(&b), &mut out)
                    .expect("valid batch")
            })
        });
        group.bench_function(format!("{name}_flat"), |bench| {
            bench.iter(|| {
                shaper
                    .shape_flat(std::hint::black_box(&flat), &mut out)
                    .expect("valid batch")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
