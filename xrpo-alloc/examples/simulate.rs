//! Which allocator is worth a training run? Simulated steps with known success rates, the
//! same rollout budget for every allocator, and the same random outcomes (the i-th rollout
//! of prompt q in trial t is solved iff u(t, q, i) < p_q, for every allocator).
//!
//! Per step: 64 prompts; success rates drawn from a mix. Scenario "rlvr", like an RLVR
//! batch: 25 % never solved (p = 0), 15 % always solved (p = 1), 60 % p ~ Beta(0.7, 0.7)
//! (U-shaped: many nearly solved or nearly hopeless). Scenario "spread": 5 % p = 0, 5 %
//! p = 1, 90 % p ~ Beta(1, 1). Budget 8 rollouts/prompt (B = 512), 3 phases, n_base = 2,
//! n_max = 32 for the phased allocators; GRPO gets 8 each in one phase.
//!
//! Printed per allocator (mean over trials, ± standard error):
//! - informative: share of groups holding both a right and a wrong answer (non-zero
//!   group-relative advantage), and its paired difference to GRPO (same outcomes);
//! - grad weight: mean over prompts of √(p_q(1 − p_q)) for informative groups, 0 for the
//!   others (the scale of a group-normalised policy gradient, at the true p);
//! - wasted: share of the budget spent on groups that end uniform;
//! - group size: mean rollouts per informative group (the simulation does not score it,
//!   but smaller groups give noisier advantage estimates);
//! - alloc µs/step: time in the allocator over a step's phases.
//!
//! Run: `cargo run --release -p xrpo-alloc --example simulate [-- TRIALS [SEED]]`
//! (defaults: 4000 trials, seed 1).

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Beta, Distribution};
use xrpo_alloc::{
    AllocConfig, AllocKind, GroupWeight, RolloutAllocator, StepRun, VarianceEstimate,
    posterior::is_uniform,
};

const PROMPTS: usize = 64;
const N_FIXED: usize = 8;

/// A uniform in [0, 1) from (seed, trial, prompt, rollout): splitmix64 of a mixed key, so
/// outcomes are the same for every allocator and independent of the order of draws.
fn uniform(seed: u64, trial: u64, q: usize, i: usize) -> f64 {
    let mut z = seed
        ^ trial.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (q as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ (i as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// A mix of success rates: shares (in %) of p = 0 and p = 1, the rest ~ Beta(a, a).
struct Scenario {
    name: &'static str,
    unsolved: usize,
    solved: usize,
    beta: f64,
}

const SCENARIOS: [Scenario; 2] = [
    Scenario {
        name: "rlvr",
        unsolved: 25,
        solved: 15,
        beta: 0.7,
    },
    Scenario {
        name: "spread",
        unsolved: 5,
        solved: 5,
        beta: 1.0,
    },
];

/// The success rates of one step's prompts.
fn success_rates(rng: &mut StdRng, sc: &Scenario, spread: &Beta<f64>) -> Vec<f64> {
    (0..PROMPTS)
        .map(|q| {
            let pct = q * 100 / PROMPTS;
            if pct < sc.unsolved {
                0.0
            } else if pct < sc.unsolved + sc.solved {
                1.0
            } else {
                spread.sample(rng)
            }
        })
        .collect()
}

/// Sums of one allocator's per-step figures.
#[derive(Default)]
struct Tally {
    informative: Vec<f64>,
    weight: Vec<f64>,
    wasted: Vec<f64>,
    group_size: Vec<f64>,
    micros: f64,
}

fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

fn run_step(
    alloc: &mut dyn RolloutAllocator,
    p: &[f64],
    seed: u64,
    trial: u64,
    tally: &mut Tally,
) -> Result<(), xrpo_alloc::Error> {
    let mut step = StepRun::new(alloc.plan(), PROMPTS)?;
    let mut drawn = vec![0usize; PROMPTS];
    let mut micros = 0.0;
    loop {
        let start = Instant::now();
        let phase = step.next_phase(alloc)?;
        micros += start.elapsed().as_secs_f64() * 1e6;
        let Some(phase) = phase else { break };
        for (q, &k) in phase.rollouts.iter().enumerate() {
            for _ in 0..k {
                let solved = uniform(seed, trial, q, drawn[q]) < p[q];
                drawn[q] += 1;
                step.record(q, Some(f64::from(u8::from(solved))))?;
            }
        }
    }
    let (mut informative, mut weight, mut wasted, mut in_informative) = (0.0, 0.0, 0usize, 0);
    for (q, s) in step.stats().iter().enumerate() {
        if is_uniform(s) {
            wasted += drawn[q];
        } else {
            informative += 1.0;
            in_informative += drawn[q];
            weight += (p[q] * (1.0 - p[q])).sqrt();
        }
    }
    if informative > 0.0 {
        tally.group_size.push(in_informative as f64 / informative);
    }
    let budget: usize = drawn.iter().sum();
    tally.informative.push(informative / PROMPTS as f64);
    tally.weight.push(weight / PROMPTS as f64);
    tally.wasted.push(wasted as f64 / budget as f64);
    tally.micros += micros;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let trials: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4000);
    let seed: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1);

    let base = AllocConfig {
        n_fixed: N_FIXED,
        ..AllocConfig::default()
    };
    let with = |kind| AllocConfig {
        kind,
        ..base.clone()
    };
    let arms: Vec<(&str, AllocConfig)> = vec![
        ("fixed (GRPO, 8 each)", with(AllocKind::Fixed)),
        ("uniform_phased", with(AllocKind::UniformPhased)),
        ("xrpo (paper)", with(AllocKind::Xrpo)),
        (
            "xrpo (paper), n_base = 4",
            AllocConfig {
                n_base: Some(4),
                ..with(AllocKind::Xrpo)
            },
        ),
        (
            "xrpo, variance = beta_posterior",
            AllocConfig {
                variance: VarianceEstimate::BetaPosterior,
                ..with(AllocKind::Xrpo)
            },
        ),
        ("dapo_filter", with(AllocKind::DapoFilter)),
        (
            "reinforce_ada (retire_after 1)",
            with(AllocKind::ReinforceAda),
        ),
        (
            "reinforce_ada (retire_after 2)",
            AllocConfig {
                retire_after: 2,
                ..with(AllocKind::ReinforceAda)
            },
        ),
        ("knapsack (weight std, default)", with(AllocKind::Knapsack)),
        (
            "knapsack (weight info_gain)",
            AllocConfig {
                weight: GroupWeight::InfoGain,
                ..with(AllocKind::Knapsack)
            },
        ),
    ];
    for sc in &SCENARIOS {
        simulate(&arms, sc, trials, seed)?;
    }
    Ok(())
}

fn simulate(
    arms: &[(&str, AllocConfig)],
    sc: &Scenario,
    trials: u64,
    seed: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut allocators = arms
        .iter()
        .map(|(_, cfg)| cfg.build())
        .collect::<Result<Vec<_>, _>>()?;
    let mut tallies: Vec<Tally> = arms.iter().map(|_| Tally::default()).collect();

    let mut rng = StdRng::seed_from_u64(seed);
    let spread = Beta::new(sc.beta, sc.beta)?;
    for trial in 0..trials {
        let p = success_rates(&mut rng, sc, &spread);
        for (alloc, tally) in allocators.iter_mut().zip(&mut tallies) {
            run_step(alloc.as_mut(), &p, seed, trial, tally)?;
        }
    }

    println!(
        "\nscenario {}: {trials} steps x {PROMPTS} prompts, budget {N_FIXED}/prompt, seed {seed}; \
         p: {}% = 0, {}% = 1, {}% ~ Beta({}, {})\n",
        sc.name,
        sc.unsolved,
        sc.solved,
        100 - sc.unsolved - sc.solved,
        sc.beta,
        sc.beta
    );
    println!(
        "| allocator | informative groups | vs GRPO (paired) | grad weight | wasted rollouts | group size | alloc µs/step |"
    );
    println!("|---|---|---|---|---|---|---|");
    let grpo = &tallies[0].informative;
    for ((name, _), t) in arms.iter().zip(&tallies) {
        let (inf, inf_se) = mean_se(&t.informative);
        let diff: Vec<f64> = t.informative.iter().zip(grpo).map(|(a, b)| a - b).collect();
        let (d, d_se) = mean_se(&diff);
        let (w, w_se) = mean_se(&t.weight);
        let (waste, waste_se) = mean_se(&t.wasted);
        let (size, _) = mean_se(&t.group_size);
        println!(
            "| {name} | {:.1} % ± {:.1} | {:+.2} pt ± {:.2} | {:.4} ± {:.4} | {:.1} % ± {:.1} | {size:.1} | {:.1} |",
            inf * 100.0,
            inf_se * 100.0,
            d * 100.0,
            d_se * 100.0,
            w,
            w_se,
            waste * 100.0,
            waste_se * 100.0,
            t.micros / trials as f64
        );
    }
    // The leader against the runner-up, paired on the same outcomes.
    let mut order: Vec<usize> = (0..arms.len()).collect();
    order.sort_by(|&a, &b| {
        mean_se(&tallies[b].informative)
            .0
            .total_cmp(&mean_se(&tallies[a].informative).0)
    });
    let (first, second) = (order[0], order[1]);
    let diff: Vec<f64> = tallies[first]
        .informative
        .iter()
        .zip(&tallies[second].informative)
        .map(|(a, b)| a - b)
        .collect();
    let (d, d_se) = mean_se(&diff);
    println!(
        "\nmost informative: {} ({:+.2} pt ± {:.2} over {}, paired)",
        arms[first].0,
        d * 100.0,
        d_se * 100.0,
        arms[second].0
    );
    Ok(())
}
