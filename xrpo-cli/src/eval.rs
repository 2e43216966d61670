//! `xrpo eval`: pass@1 / pass@k / cons@k of a checkpoint on a task's eval split.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use xrpo_train::trainer::Trainer;

/// Arguments of `xrpo eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A run directory (its latest checkpoint) or one checkpoint directory.
    #[arg(long, value_name = "DIR")]
    pub checkpoint: PathBuf,
    /// Task: `arithmetic`, `rewrite`, `word_problems`, or a JSON-lines file (evaluated whole).
    /// Default: the run's task.
    #[arg(long)]
    pub task: Option<String>,
    /// Samples per prompt (k of pass@k and cons@k).
    #[arg(long)]
    pub k: Option<usize>,
    /// Eval prompts (0 = all).
    #[arg(long)]
    pub prompts: Option<usize>,
    /// Sampling temperature.
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Put this many solved exemplars (similar training problems with gold solutions)
    /// in front of each prompt, as seeding does; 0 = zero-shot.
    #[arg(long, default_value_t = 0)]
    pub exemplars: usize,
    /// Evaluate these policy weights (a safetensors file, e.g. the run's
    /// `warmup.safetensors`) instead of the checkpoint's, with the checkpoint's config,
    /// task and exemplar bank. The report's `weights` field names the file.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Where the policy runs: `cpu`, `cuda` or `cuda:N` (default: the run's device).
    #[arg(long)]
    pub device: Option<String>,
    /// Override any config key (`--set sampling.max_new_tokens=64`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

/// Runs `xrpo eval`: prints one JSON object with the summary and per-level pass@1.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut overrides = Vec::new();
    match args.task.as_deref() {
        None => {}
        Some("arithmetic") => overrides.push("task.kind=\"arithmetic\"".to_string()),
        Some("rewrite") => overrides.push("task.kind=\"rewrite\"".to_string()),
        Some("word_problems") => overrides.push("task.kind=\"word_problems\"".to_string()),
        Some(path) => {
            overrides.push("task.kind=\"jsonl\"".to_string());
            overrides.push(format!(
                "task.train_file={}",
                serde_json::Value::String(path.into())
            ));
            overrides.push(format!(
                "task.eval_file={}",
                serde_json::Value::String(path.into())
            ));
        }
    }
    if let Some(k) = args.k {
        overrides.push(format!("eval.k={k}"));
    }
    if let Some(p) = args.prompts {
        overrides.push(format!("eval.prompts={p}"));
    }
    if let Some(t) = args.temperature {
        overrides.push(format!("eval.temperature={t}"));
    }
    overrides.push(format!("eval.exemplars={}", args.exemplars));
    if let Some(d) = &args.device {
        overrides.push(format!("device={}", serde_json::Value::String(d.clone())));
    }
    overrides.extend(args.set.iter().cloned());
    crate::preflight::run_or_checkpoint(&args.checkpoint)?;
    let trainer = Trainer::open_checkpoint(&args.checkpoint, &overrides)
        .with_context(|| format!("opening {}", args.checkpoint.display()))?;
    if let Some(w) = &args.weights {
        trainer
            .policy()
            .load_safetensors(w)
            .with_context(|| format!("--weights {}", w.display()))?;
        eprintln!("weights: {}", w.display());
    }
    let report = trainer.evaluate()?;
    let s = &report.summary;
    eprintln!(
        "step {}: pass@1 {:.3}  pass@{k} {:.3}  cons@{k} {:.3}  mean length {:.2}  ({} prompts)",
        report.step,
        s.pass_at_1,
        s.pass_at_k,
        s.cons_at_k,
        s.mean_length,
        s.prompts,
        k = s.k
    );
    let mut json = serde_json::to_value(&report)?;
    if let (Some(w), Some(obj)) = (&args.weights, json.as_object_mut()) {
        obj.insert("weights".into(), w.display().to_string().into());
    }
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
