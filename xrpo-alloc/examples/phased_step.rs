//! One simulated training step, GRPO (16 per prompt) vs XRPO (4 + two greedy phases), on
//! 64 prompts with hidden solve rates. Prints where the rollouts went and how many groups
//! end with zero reward variance (no gradient signal).
//!
//! Run: `cargo run --release -p xrpo-alloc --example phased_step`

use xrpo_alloc::{
    FixedAllocator, RolloutAllocator, StepOutcome, XrpoAllocator, XrpoConfig, run_step,
};

const PROMPTS: usize = 64;

/// Hidden solve rate of prompt `q`: a quarter never solved, a quarter always, the rest
/// spread over (0, 1).
fn solve_rate(q: usize) -> f64 {
    match q % 4 {
        0 => 0.0,
        1 => 1.0,
        _ => (q as f64 + 0.5) / PROMPTS as f64,
    }
}

fn simulate(
    allocator: &mut dyn RolloutAllocator,
    seed: u64,
) -> Result<StepOutcome, xrpo_alloc::Error> {
    let mut state = seed;
    let mut uniform = move || {
        // xorshift64*: deterministic, dependency-free.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    run_step(allocator, PROMPTS, |phase| {
        Ok(phase
            .rollouts
            .iter()
            .enumerate()
            .map(|(q, &k)| {
                (0..k)
                    .map(|_| Some(f64::from(u8::from(uniform() < solve_rate(q)))))
                    .collect()
            })
            .collect())
    })
}

fn report(name: &str, out: &StepOutcome) {
    let by_kind = |pred: &dyn Fn(usize) -> bool| {
        let qs: Vec<usize> = (0..PROMPTS).filter(|&q| pred(q)).collect();
        qs.iter().map(|&q| out.rollouts[q]).sum::<usize>() as f64 / qs.len() as f64
    };
    let zero_std = out
        .stats
        .iter()
        .filter(|s| s.sample_std() == Some(0.0))
        .count();
    println!(
        "{name:<12} total {:>5}  per prompt: never-solved {:>5.1}  always-solved {:>5.1}  in-between {:>5.1}  \
         zero-std groups {zero_std}/{PROMPTS}",
        out.rollouts.iter().sum::<usize>(),
        by_kind(&|q| q % 4 == 0),
        by_kind(&|q| q % 4 == 1),
        by_kind(&|q| q % 4 >= 2),
    );
}

fn main() -> Result<(), xrpo_alloc::Error> {
    let mut grpo = FixedAllocator::new(16)?;
    report("GRPO", &simulate(&mut grpo, 7)?);
    // λ weighs the exploration bonus against Δ̂; the paper does not publish it. Δ̂ falls
    // like n^-1.5 and φ like n^-0.5, so a large λ flattens the allocation.
    for lambda in [0.05, 0.01, 0.0] {
        let config = XrpoConfig {
            lambda,
            ..XrpoConfig::default()
        };
        let mut xrpo = XrpoAllocator::new(config)?;
        let out = simulate(&mut xrpo, 7)?;
        report(&format!("XRPO λ={lambda}"), &out);
        if lambda == 0.05 {
            let per_phase: Vec<usize> = out.phases.iter().map(|p| p.iter().sum()).collect();
            println!("  rollouts per phase: {per_phase:?}");
        }
    }
    Ok(())
}
