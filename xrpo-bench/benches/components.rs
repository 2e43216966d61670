//! Every XRPO component's micro-benchmark in one place, at small sizes so the whole file
//! runs in a few minutes on 2 cores:
//!
//! - allocation (xrpo-alloc): one XRPO phase over 256 prompts, budget 8 × 256;
//! - advantage shaping (xrpo-advantage): GRPO and XRPO-sharpened GRPO on 4,096 groups × 8;
//! - retrieval (xrpo-seed): top-K over a 10,000-entry lexical bank;
//! - math verification (xrpo-reward): 8 typical (response, gold) pairs;
//! - policy (xrpo-train): tiny-model sampling 64 × 6 new tokens and a training
//!   forward + backward of 32 × 16 tokens.
//!
//! Run: `cargo bench -p xrpo-bench --bench components`. The per-crate benches hold the
//! large-size figures (`cargo bench -p xrpo-alloc`, …).

use std::hint::black_box;
use std::time::Duration;

use candle_core::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array1;
use rand::SeedableRng;
use rand::rngs::StdRng;
use xrpo_advantage::{AdvantageShaper, Batch, Grpo, Xrpo};
use xrpo_alloc::{PromptStats, RolloutAllocator, XrpoAllocator, XrpoConfig};
use xrpo_reward::math::MathVerifier;
use xrpo_reward::{Reference, Verifier};
use xrpo_seed::{ExemplarBank, ExemplarSeeder, PromptId, Provenance, SeedConfig};
use xrpo_train::model::{ModelConfig, Policy};
use xrpo_train::sampler::{SamplingConfig, StopCondition, generate};

/// Deterministic uniform numbers in [0, 1) (xorshift64).
struct Uniform(u64);
impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn allocation(c: &mut Criterion) {
    const PROMPTS: usize = 256;
    let mut u = Uniform(0x2545_F491_4F6C_DD1D);
    // Phase-1 stats: 2 binary rewards per prompt, solve rates spread over [0, 1].
    let stats: Vec<PromptStats> = (0..PROMPTS)
        .map(|q| {
            let p = q as f64 / PROMPTS as f64;
            PromptStats::from_rewards(
                (0..2)
                    .map(|_| f64::from(u8::from(u.next() < p)))
                    .collect::<Vec<f64>>(),
            )
            .expect("finite rewards")
        })
        .collect();
    let mut xrpo = XrpoAllocator::new(XrpoConfig {
        n_fixed: 8,
        ..XrpoConfig::default()
    })
    .expect("valid config");
    c.bench_function("alloc/xrpo_phase_6x256_over_256_prompts", |b| {
        b.iter(|| xrpo.allocate(black_box(&stats), black_box(6 * PROMPTS)))
    });
}

fn advantages(c: &mut Criterion) {
    const GROUPS: usize = 4096;
    const SIZE: usize = 8;
    let mut u = Uniform(0x9E37_79B9_7F4A_7C15);
    let rewards: Vec<Option<f32>> = (0..GROUPS * SIZE)
        .map(|_| Some(f32::from(u8::from(u.next() < 0.4))))
        .collect();
    let lp: Vec<f32> = (0..GROUPS * SIZE)
        .map(|_| (-2.0 * u.next()) as f32)
        .collect();
    let batch = Batch::from_flat(Array1::from(rewards), &[SIZE; GROUPS])
        .and_then(|b| b.with_seq_logprob(Array1::from(lp)))
        .expect("valid batch");
    let mut out = vec![0.0f32; batch.len()];
    let mut g = c.benchmark_group("advantage/4096x8");
    g.throughput(Throughput::Elements(batch.len() as u64));
    let shapers: [(&str, Box<dyn AdvantageShaper>); 2] = [
        ("grpo", Box::new(Grpo::default())),
        ("xrpo_sharpened", Box::new(Xrpo::paper())),
    ];
    for (name, s) in &shapers {
        g.bench_function(*name, |b| {
            b.iter(|| {
                s.shape_into(black_box(&batch), &mut out)
                    .expect("valid batch")
            })
        });
    }
    g.finish();
}

fn retrieval(c: &mut Criterion) {
    const BANK: usize = 10_000;
    let mut u = Uniform(0xDEAD_BEEF_CAFE_F00D);
    let names = ["Ann", "Bob", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hal"];
    let items = [
        "apples", "pens", "coins", "books", "cards", "shells", "stamps",
    ];
    let problem = |u: &mut Uniform| {
        let pick = |u: &mut Uniform, n: usize| (u.next() * n as f64) as usize % n;
        format!(
            "{} has {} {} and buys {} more. {} gives away {}. How many {} are left?",
            names[pick(u, names.len())],
            pick(u, 90) + 10,
            items[pick(u, items.len())],
            pick(u, 50),
            names[pick(u, names.len())],
            pick(u, 9) + 1,
            items[pick(u, items.len())],
        )
    };
    let mut bank = ExemplarBank::lexical(SeedConfig {
        capacity: BANK,
        ..SeedConfig::default()
    })
    .expect("valid config");
    for i in 0..BANK {
        let p = problem(&mut u);
        bank.record(
            &PromptId::from(i as u64),
            &p,
            "The answer is 42.",
            Provenance::Training { step: 0 },
        )
        .expect("non-empty prompt");
    }
    let queries: Vec<String> = (0..64).map(|_| problem(&mut u)).collect();
    let id = PromptId::from("query");
    let _ = bank.retrieve(&id, &queries[0]); // build the index outside the timing
    let mut i = 0;
    c.bench_function("seed/retrieve_topk_10k_bank", |b| {
        b.iter(|| {
            i = (i + 1) % queries.len();
            bank.retrieve(&id, black_box(&queries[i]))
                .expect("non-empty")
        })
    });
}

fn math_verify(c: &mut Criterion) {
    let v = MathVerifier::default();
    let cases: Vec<(&str, Reference)> = [
        ("The answer is \\boxed{42}.", "42"),
        ("So x = \\frac{1}{2}", "0.5"),
        ("Therefore the result is $\\sqrt{8}$", "2\\sqrt{2}"),
        ("Final answer: 3/4", "\\frac{3}{4}"),
        ("We get \\boxed{(1, 2)}", "(1,2)"),
        ("The total is 1,234 dollars.", "1234"),
        ("\\boxed{x^2 + 2x + 1}", "(x+1)^2"),
        ("I think it is 7", "8"),
    ]
    .into_iter()
    .map(|(p, g)| (p, Reference::Math { answer: g.into() }))
    .collect();
    let mut g = c.benchmark_group("reward/math_verify");
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("8_typical_pairs", |b| {
        b.iter(|| {
            cases
                .iter()
                .map(|(p, r)| v.verify(black_box(p), r).map(|x| x.correct()))
                .filter(|x| matches!(x, Ok(true)))
                .count()
        })
    });
    g.finish();
}

fn policy(c: &mut Criterion) {
    let config = ModelConfig::tiny();
    let policy = Policy::new_random(config.clone(), 0, &Device::Cpu).expect("tiny model");
    let vocab = config.vocab_size as u32;
    let mut rng = StdRng::seed_from_u64(1);
    let mut u = Uniform(7);
    let mut tokens = |n: usize| -> Vec<u32> {
        (0..n)
            .map(|_| (u.next() * f64::from(vocab)) as u32 % vocab)
            .collect()
    };
    let prompts: Vec<Vec<u32>> = (0..64).map(|_| tokens(8)).collect();
    let cfg = SamplingConfig {
        max_new_tokens: 6,
        temperature: 1.0,
        top_p: 1.0,
        top_k: 0,
    };
    let mut g = c.benchmark_group("policy/tiny");
    g.throughput(Throughput::Elements(64 * 6));
    g.bench_function("sample_64x6_new_tokens", |b| {
        b.iter(|| {
            generate(
                &policy,
                &prompts,
                &cfg,
                &StopCondition::default(),
                None,
                &mut rng,
            )
            .expect("sampling")
        })
    });
    let ctx: Vec<Vec<u32>> = (0..32).map(|_| tokens(8)).collect();
    let comp: Vec<Vec<u32>> = (0..32).map(|_| tokens(8)).collect();
    g.throughput(Throughput::Elements(32 * 16));
    g.bench_function("train_fwd_bwd_32x16_tokens", |b| {
        b.iter(|| {
            let out = policy.token_logprobs(&ctx, &comp).expect("forward");
            let loss = out.logprobs.sum_all().expect("sum");
            loss.backward().expect("backward")
        })
    });
    g.finish();
}

criterion_group! {
    name = components;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = allocation, advantages, retrieval, math_verify, policy
}
criterion_main!(components);
