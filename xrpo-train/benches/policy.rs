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
//!
//! On a GPU: build with `--features cuda` and set `XRPO_DEVICE=cuda` (see
//! `xrpo_train::device`); every timed run then ends with a device synchronisation, and
//! `sample_smollm2_16x128` is the SmolLM2 sampling shape with random weights
//! (the same arithmetic as the real checkpoint, which `smollm2_sampling` loads).

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

/// The device the benches run on: `XRPO_DEVICE` (`cpu`, `cuda`, `cuda:N`), default CPU.
fn bench_device() -> Result<Device> {
    let name = std::env::var("XRPO_DEVICE").unwrap_or_else(|_| "cpu".into());
    Ok(xrpo_train::device::parse(&name)?)
}

/// Times `f` `reps` times after `warmup` untimed runs; each run ends when `dev` has
/// finished its queued work.
fn time(
    dev: &Device,
    warmup: usize,
    reps: usize,
    mut f: impl FnMut() -> Result<()>,
) -> Result<Timing> {
    for _ in 0..warmup {
        f()?;
    }
    dev.synchronize()?;
    let mut out = Timing {
        wall: Vec::with_capacity(reps),
        cpu: Vec::with_capacity(reps),
    };
    for _ in 0..reps {
        let c = cpu_seconds().unwrap_or(f64::NAN);
        let t = Instant::now();
        f()?;
        dev.synchronize()?;
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
fn gemm(dev: &Device) -> Result<Rate> {
    let n = 2048;
    let a = Tensor::randn(0f32, 1.0, (n, n), dev)?;
    let b = Tensor::randn(0f32, 1.0, (n, n), dev)?;
    let secs = time(dev, 2, 10, || {
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
        serde_json::json!({"bench": "gemm", "n": n, "device": format!("{dev:?}"), "threads": candle_core::utils::get_num_threads(),
            "median_s": secs.wall(), "median_cpu_s": secs.cpu(), "gflops": rate.wall,
            "gflops_per_cpu_s": rate.cpu})
    );
    Ok(rate)
}

fn sample(
    dev: &Device,
    name: &str,
    config: ModelConfig,
    batch: usize,
    prompt: usize,
    new: usize,
    reps: usize,
) -> Result<()> {
    let policy = Policy::new_random(config.clone(), 0, dev)?;
    let mut rng = StdRng::seed_from_u64(1);
    let prompts = random_tokens(&mut rng, batch, prompt, config.vocab_size);
    let cfg = SamplingConfig {
        max_new_tokens: new,
        temperature: 1.0,
        top_p: 1.0,
        top_k: 0,
    };
    let mut produced = 0;
    let secs = time(dev, 1, reps, || {
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
        serde_json::json!({"bench": name, "device": format!("{dev:?}"), "batch": batch, "prompt_tokens": prompt, "new_tokens": new,
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
    dev: &Device,
    name: &str,
    config: ModelConfig,
    batch: usize,
    seq: usize,
    reps: usize,
    gemm: Option<Rate>,
) -> Result<()> {
    let policy = Policy::new_random(config.clone(), 0, dev)?;
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
    let secs = time(dev, 1, reps, || {
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
        serde_json::json!({"bench": name, "device": format!("{dev:?}"), "batch": batch, "seq": seq, "params": policy.num_params(),
            "threads": candle_core::utils::get_num_threads(),
            "median_s": secs.wall(), "median_cpu_s": secs.cpu(), "tok_s": tokens / secs.wall(),
            "tok_per_cpu_s": tokens / secs.cpu(), "gflops": rate.wall, "gflops_per_cpu_s": rate.cpu,
            "gemm_utilisation": gemm.map(|g| rate.wall / g.wall),
            "gemm_utilisation_cpu": gemm.map(|g| rate.cpu / g.cpu),
            "reps": reps, "vmhwm_gib": vm_hwm_gib()})
    );
    Ok(())
}

/// One GRPO-shaped step, the shape of the TRL bar: `prompts` prompts of `prompt` tokens,
/// `group` samples each of `new` tokens (no early stop: random weights), π_old log-probs
/// without graph, then a forward + backward of the clipped-ratio surrogate over all
/// `prompts · group` sequences in micro-batches of `micro` and one AdamW update.
/// Reports the seconds per step and the split between sampling and update.
#[allow(clippy::too_many_arguments)]
fn grpo_step(
    dev: &Device,
    name: &str,
    config: ModelConfig,
    prompts: usize,
    group: usize,
    prompt: usize,
    new: usize,
    micro: usize,
    reps: usize,
) -> Result<()> {
    let policy = Policy::new_random(config.clone(), 0, dev)?;
    let mut rng = StdRng::seed_from_u64(3);
    let distinct = random_tokens(&mut rng, prompts, prompt, config.vocab_size);
    let batch: Vec<Vec<u32>> = distinct
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.clone(), group))
        .collect();
    let cfg = SamplingConfig {
        max_new_tokens: new,
        temperature: 1.0,
        top_p: 1.0,
        top_k: 0,
    };
    let vars = policy.named_vars().into_iter().map(|(_, v)| v).collect();
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: 1e-6,
            ..Default::default()
        },
    )?;
    let (mut sample_s, mut update_s) = (Vec::new(), Vec::new());
    let secs = time(dev, 0, reps, || {
        let t = Instant::now();
        let out = generate(
            &policy,
            &batch,
            &cfg,
            &StopCondition::default(),
            None,
            &mut rng,
        )?;
        dev.synchronize()?;
        sample_s.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let completions: Vec<Vec<u32>> = out.into_iter().map(|c| c.tokens).collect();
        let old = policy.token_logprobs_detached(&batch, &completions)?;
        // Group-normalised ±1 advantages (half the group above the mean).
        let adv: Vec<f32> = (0..batch.len())
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let n_tok: usize = completions.iter().map(Vec::len).sum();
        let mut grads: Option<candle_core::backprop::GradStore> = None;
        for start in (0..batch.len()).step_by(micro.max(1)) {
            let end = (start + micro.max(1)).min(batch.len());
            let lp = policy.token_logprobs(&batch[start..end], &completions[start..end])?;
            let l = lp.logprobs.dim(1)?;
            let mut old_rows = vec![0f32; (end - start) * l];
            let mut adv_rows = vec![0f32; (end - start) * l];
            for (r, i) in (start..end).enumerate() {
                old_rows[r * l..r * l + old[i].len()].copy_from_slice(&old[i]);
                adv_rows[r * l..r * l + old[i].len()].fill(adv[i]);
            }
            let old_t = Tensor::from_vec(old_rows, (end - start, l), dev)?;
            let adv_t = Tensor::from_vec(adv_rows, (end - start, l), dev)?;
            let ratio = (&lp.logprobs - &old_t)?.exp()?;
            let clipped = ratio.clamp(0.8f32, 1.2f32)?;
            let surrogate = (&ratio * &adv_t)?.minimum(&(&clipped * &adv_t)?)?;
            let loss = ((surrogate * &lp.mask)?.sum_all()? * (-1.0 / n_tok as f64))?;
            let g = loss.backward()?;
            // Accumulate detached sums: a gradient that kept its graph would keep every
            // micro-batch's activations alive.
            let mut acc = grads.take();
            for v in policy.named_vars().into_iter().map(|(_, v)| v) {
                let Some(gv) = g.get(v.as_tensor()) else {
                    continue;
                };
                let store = acc.get_or_insert_with(candle_core::backprop::GradStore::default);
                let sum = match store.get(v.as_tensor()) {
                    Some(a) => (a + gv)?.detach(),
                    None => gv.detach(),
                };
                store.insert(v.as_tensor(), sum);
            }
            grads = acc;
        }
        if let Some(g) = grads {
            opt.step(&g)?;
        }
        dev.synchronize()?;
        update_s.push(t.elapsed().as_secs_f64());
        Ok(())
    })?;
    println!(
        "{}",
        serde_json::json!({"bench": name, "device": format!("{dev:?}"), "prompts": prompts,
            "group": group, "prompt_tokens": prompt, "new_tokens": new, "micro_batch": micro,
            "threads": candle_core::utils::get_num_threads(),
            "median_s": secs.wall(), "median_cpu_s": secs.cpu(),
            "median_sample_s": median(sample_s), "median_update_s": median(update_s),
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
    let dev = bench_device()?;
    let g = if want("gemm") || want("train_tiny") || want("train_smollm2") {
        Some(gemm(&dev)?)
    } else {
        None
    };
    if want("sample_tiny") {
        sample(&dev, "sample_tiny", ModelConfig::tiny(), 64, 16, 64, 5)?;
    }
    if want("train_tiny") {
        train(&dev, "train_tiny", ModelConfig::tiny(), 32, 64, 10, g)?;
    }
    if want("sample_smollm2") {
        sample(
            &dev,
            "sample_smollm2",
            ModelConfig::smollm2_135m(),
            8,
            16,
            32,
            3,
        )?;
    }
    // Only when named: the SmolLM2 sampling shape with random weights (on the
    // CPU, `smollm2_sampling` measures it with the real checkpoint).
    if args.iter().any(|a| a == "sample_smollm2_16x128") {
        sample(
            &dev,
            "sample_smollm2_16x128",
            ModelConfig::smollm2_135m(),
            16,
            16,
            128,
            3,
        )?;
    }
    if want("train_smollm2") {
        train(
            &dev,
            "train_smollm2",
            ModelConfig::smollm2_135m(),
            8,
            256,
            3,
            g,
        )?;
    }
    // Only when named (a CPU step takes ~40 s): TRL's GRPO step shape, 8 prompts × 8
    // samples × 64 new tokens, prompts of 64 tokens, micro-batches of 8.
    if args.iter().any(|a| a == "grpo_step_smollm2") {
        let cfg = ModelConfig::smollm2_135m();
        grpo_step(&dev, "grpo_step_smollm2", cfg, 8, 8, 64, 64, 8, 2)?;
    }
    Ok(())
}
