//! Policy throughput: sampling and training tokens/s, peak memory, and this machine's
//! f32 GEMM rate so the training figures read as a utilisation.
//!
//! Run all: `cargo bench -p xrpo-train --bench policy`; one or more by name:
//! `cargo bench -p xrpo-train --bench policy -- train_smollm2` (names: gemm,
//! sample_tiny, train_tiny, sample_smollm2, train_smollm2). Each bench prints one JSON
//! line with the median over its repetitions. Peak memory (`VmHWM`) is process-wide, so
//! run a bench alone to read its own peak. Threads: candle follows `RAYON_NUM_THREADS`.
//! Besides wall-clock rates each line gives rates per CPU-second of this process
//! (`*_per_cpu_s`), which stay meaningful on a machine shared with other jobs.

use std::time::Instant;

use anyhow::Result;
use candle_core::{Device, Tensor};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use xrpo_train::model::{ModelConfig, Policy};
use xrpo_train::sampler::{SamplingConfig, StopCondition, generate};

/// Peak resident set size in GiB (`VmHWM` of /proc/self/status), if readable.
fn vm_hwm_gib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / (1024.0 * 1024.0))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// CPU seconds used so far by all threads of this process (sum of the first field of
/// `/proc/self/task/*/schedstat`, nanoseconds on CPU), if readable. On a shared machine
/// this separates our work from time spent waiting for a core.
fn cpu_seconds() -> Option<f64> {
    let mut ns = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let s = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        ns += s.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e9)
}

/// Wall and CPU seconds of one timed run.
struct Timing {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Timing {
    fn wall(&self) -> f64 {
        median(self.wall.clone())
    }
    fn cpu(&self) -> f64 {
        median(self.cpu.clone())
    }
}

/// Times `f` `reps` times after `warmup` untimed runs.
fn time(warmup: usize, reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<Timing> {
    for _ in 0..warmup {
        f()?;
    }
    let mut out = Timing {
        wall: Vec::with_capacity(reps),
        cpu: Vec::with_capacity(reps),
    };
    for _ in 0..reps {
        let c = cpu_seconds().unwrap_or(f64::NAN);
        let t = Instant::now();
        f()?;
        out.wall.push(t.elapsed().as_secs_f64());
        out.cpu.push(cpu_seconds().unwrap_or(f64::NAN) - c);
    }
    Ok(out)
}

fn random_tokens(rng: &mut StdRng, n: usize, len: usize, vocab: usize) -> Vec<Vec<u32>> {
    (0..n)
        .map(|_| {
            (0..len)
                .map(|_| rng.random_range(0..vocab as u32))
                .collect()
        })
        .collect()
}

/// A rate measured against wall time and against CPU time (work per busy core-second).
#[derive(Clone, Copy)]
struct Rate {
    wall: f64,
    cpu: f64,
}

/// f32 matmul 2048×2048 through candle: GFLOP/s = 2n³ / t.
fn gemm() -> Result<Rate> {
    let n = 2048;
    let dev = Device::Cpu;
    let a = Tensor::randn(0f32, 1.0, (n, n), &dev)?;
    let b = Tensor::randn(0f32, 1.0, (n, n), &dev)?;
    let secs = time(2, 10, || {
        a.matmul(&b)?;
        Ok(())
    })?;
    let flops = 2.0 * (n as f64).powi(3);
    let rate = Rate {
        wall: flops / secs.wall() / 1e9,
        cpu: flops / secs.cpu() / 1e9,
    };
    println!(
        "{}",
        serde_json::json!({"bench": "gemm", "n": n, "threads": candle_core::utils::get_num_threads(),
            "median_s": secs.wall(), "median_cpu_s": secs.cpu(), "gflops": rate.wall,
            "gflops_per_cpu_s": rate.cpu})
    );
    Ok(rate)
}

fn sample(
    name: &str,
    config: ModelConfig,
    batch: usize,
    prompt: usize,
    new: usize,
    reps: usize,
) -> Result<()> {
    let policy = Policy::new_random(config.clone(), 0, &Device::Cpu)?;
    let mut rng = StdRng::seed_from_u64(1);
    let prompts = random_tokens(&mut rng, batch, prompt, config.vocab_size);
    let cfg = SamplingConfig {
        max_new_tokens: new,
        temperature: 1.0,
        top_p: 1.0,
        top_k: 0,
    };
    let mut produced = 0;
    let secs = time(1, reps, || {
        let out = generate(
            &policy,
            &prompts,
            &cfg,
            &StopCondition::default(),
            None,
            &mut rng,
        )?;
        produced = out.iter().map(|c| c.tokens.len()).sum();
        Ok(())
    })?;
    let n = produced as f64;
    println!(
        "{}",
        serde_json::json!({"bench": name, "batch": batch, "prompt_tokens": prompt, "new_tokens": new,
            "threads": candle_core::utils::get_num_threads(),
            "median_s": secs.wall(), "median_cpu_s": secs.cpu(), "tok_s": n / secs.wall(),
            "tok_per_cpu_s": n / secs.cpu(), "reps": reps, "vmhwm_gib": vm_hwm_gib()})
    );
    Ok(())
}

/// One training step per repetition: batched log-probs of `batch` sequences of `seq`
/// tokens (prompt = first token, completion = the rest), loss −mean(log-prob),
/// backward, AdamW. Tokens/s counts `batch · seq`.
fn train(
    name: &str,
    config: ModelConfig,
    batch: usize,
    seq: usize,
    reps: usize,
    gemm: Option<Rate>,
) -> Result<()> {
    let policy = Policy::new_random(config.clone(), 0, &Device::Cpu)?;
    let mut rng = StdRng::seed_from_u64(2);
    let seqs = random_tokens(&mut rng, batch, seq, config.vocab_size);
    let prompts: Vec<Vec<u32>> = seqs.iter().map(|s| s[..1].to_vec()).collect();
    let completions: Vec<Vec<u32>> = seqs.iter().map(|s| s[1..].to_vec()).collect();
    let vars = policy.named_vars().into_iter().map(|(_, v)| v).collect();
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: 1e-5,
            ..Default::default()
        },
    )?;
    let secs = time(1, reps, || {
        let out = policy.token_logprobs(&prompts, &completions)?;
        let loss = (out.logprobs.sum_all()? * (-1.0 / (batch * (seq - 1)) as f64))?;
        opt.backward_step(&loss)?;
        Ok(())
    })?;
    let tokens = (batch * seq) as f64;
    // FLOPs ≈ 6·params·tokens + attention (QKᵀ and PV: 2·2·T²·d per sequence and layer
    // forward, ×3 with backward).
    let attn = 12.0
        * (config.num_hidden_layers * batch) as f64
        * (seq as f64).powi(2)
        * (config.num_attention_heads * config.head_dim()) as f64;
    let flops = 6.0 * policy.num_params() as f64 * tokens + attn;
    let rate = Rate {
        wall: flops / secs.wall() / 1e9,
        cpu: flops / secs.cpu() / 1e9,
    };
    println!(
        "{}",
        serde_json::json!({"bench": name, "batch": batch, "seq": seq, "params": policy.num_params(),
            "threads": candle_core::utils::get_num_threads(),
            "median_s": secs.wall(), "median_cpu_s": secs.cpu(), "tok_s": tokens / secs.wall(),
            "tok_per_cpu_s": tokens / secs.cpu(), "gflops": rate.wall, "gflops_per_cpu_s": rate.cpu,
            "gemm_utilisation": gemm.map(|g| rate.wall / g.wall),
            "gemm_utilisation_cpu": gemm.map(|g| rate.cpu / g.cpu),
            "reps": reps, "vmhwm_gib": vm_hwm_gib()})
    );
    Ok(())
}

fn main() -> Result<()> {
    // SAFETY: first statement of main; no thread exists yet.
    unsafe { xrpo_train::runtime::prepare_cpu_process() };
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |n: &str| args.is_empty() || args.iter().any(|a| n.contains(a.as_str()));
    let g = if want("gemm") || want("train_tiny") || want("train_smollm2") {
        Some(gemm()?)
    } else {
        None
    };
    if want("sample_tiny") {
        sample("sample_tiny", ModelConfig::tiny(), 64, 16, 64, 5)?;
    }
    if want("train_tiny") {
        train("train_tiny", ModelConfig::tiny(), 32, 64, 10, g)?;
    }
    if want("sample_smollm2") {
        sample("sample_smollm2", ModelConfig::smollm2_135m(), 8, 16, 32, 3)?;
    }
    if want("train_smollm2") {
        train("train_smollm2", ModelConfig::smollm2_135m(), 8, 256, 3, g)?;
    }
    Ok(())
}
