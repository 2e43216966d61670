//! `xrpo train`: the full training loop. With no arguments: the tiny model on the
//! arithmetic task with XRPO, a progress bar, and an evaluation before and after.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use xrpo_train::trainer::{EvalReport, TrainConfig, Trainer};

/// Arguments of `xrpo train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Run configuration (TOML, or JSON with a `.json` extension). Without one, the
    /// built-in default (or the SmolLM2 preset with `--model smollm2`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Model: `tiny`, `smollm2`, a `.gguf` file or a Hugging Face checkpoint directory.
    #[arg(long)]
    pub model: Option<String>,
    /// Algorithm: grpo, dr_grpo, gspo, xrpo, xrpo_no_seed, xrpo_no_sharpen (xrpo_no_alloc:
    /// the old name of xrpo). XRPO's allocator is the even spread; `--set alloc.kind=xrpo`
    /// picks the paper's.
    #[arg(long)]
    pub algorithm: Option<String>,
    /// Number of training steps (with `--resume`: the new total).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Master seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run directory (default `runs/<model>-<algorithm>-seed<seed>`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run in DIR from its latest checkpoint.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "model", "algorithm", "seed", "out", "set"])]
    pub resume: Option<PathBuf>,
    /// Where the policy runs: `cpu`, `cuda` or `cuda:N` (the config key `device`; with
    /// `--resume`, moves the run to this device). `cuda` needs a build with the `cuda`
    /// feature.
    #[arg(long)]
    pub device: Option<String>,
    /// Override any config key, e.g. `--set optim.lr=3e-4 --set loss.kl.beta=0.01`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// No progress bar (log lines instead).
    #[arg(long)]
    pub quiet: bool,
}

fn bar(len: u64, quiet: bool, template: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

fn print_eval(name: &str, e: &EvalReport) {
    let s = &e.summary;
    println!(
        "{name:<7} step {:>4}  pass@1 {:.3}  pass@{k} {:.3}  cons@{k} {:.3}  mean length {:.2}  ({} prompts)",
        e.step,
        s.pass_at_1,
        s.pass_at_k,
        s.cons_at_k,
        s.mean_length,
        s.prompts,
        k = s.k
    );
}

/// Runs `xrpo train`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut trainer = if let Some(dir) = &args.resume {
        if let Some(device) = &args.device {
            xrpo_train::device::parse(device).with_context(|| format!("--device {device}"))?;
        }
        Trainer::resume_on(dir, args.steps, args.device.as_deref())
            .with_context(|| format!("resuming {}", dir.display()))?
    } else {
        let mut config = match &args.config {
            Some(path) => TrainConfig::from_file(path)?,
            None if args.model.as_deref() == Some("smollm2") => TrainConfig::smollm2(),
            None => TrainConfig::default(),
        };
        let mut overrides = Vec::new();
        if let Some(m) = &args.model {
            overrides.push(format!("model={}", serde_json::Value::String(m.clone())));
        }
        if let Some(a) = &args.algorithm {
            overrides.push(format!(
                "algorithm={}",
                serde_json::Value::String(a.clone())
            ));
        }
        if let Some(s) = args.steps {
            overrides.push(format!("steps={s}"));
        }
        if let Some(s) = args.seed {
            overrides.push(format!("seed={s}"));
        }
        if let Some(d) = &args.device {
            overrides.push(format!("device={}", serde_json::Value::String(d.clone())));
        }
        overrides.extend(args.set.iter().cloned());
        config.apply_overrides(&overrides)?;
        config.validate()?;
        let out = args.out.clone().unwrap_or_else(|| {
            let model = config.model.replace(['/', '\\', '.'], "_");
            PathBuf::from("runs").join(format!(
                "{model}-{}-seed{}",
                config.algorithm.name(),
                config.seed
            ))
        });
        // A fresh run never writes into a directory that already holds one: its metrics
        // would be appended to the old run's and its checkpoints mixed with them.
        if out.join("metrics.jsonl").exists() {
            anyhow::bail!(
                "{} already holds a run (metrics.jsonl); continue it with `xrpo train --resume {}` \
                 or start a new one with another --out",
                out.display(),
                out.display()
            );
        }
        // Nothing is created before the model and the device are known to be there.
        crate::preflight::model_and_device(&config.model, &config.device)?;
        let new_dirs = crate::preflight::NewDirs::before_creating(&out);
        match Trainer::new(config, &out) {
            Ok(trainer) => trainer,
            Err(err) => {
                new_dirs.remove_if_empty();
                return Err(
                    anyhow::Error::new(err).context(format!("starting a run in {}", out.display()))
                );
            }
        }
    };
    let quiet = args.quiet;
    let cfg = trainer.config().clone();
    eprintln!("model: {}", trainer.model_description());
    eprintln!(
        "task: {} ({} train / {} eval), algorithm {}, run dir {}",
        trainer.task().name,
        trainer.task().train.len(),
        trainer.task().eval.len(),
        cfg.algorithm.name(),
        trainer.run_dir().root().display()
    );

    let fresh = trainer.steps_done() == 0;
    // From here on SIGINT/SIGTERM stop cleanly: the warm-up after its current update,
    // the RL loop after its current step (with a checkpoint).
    xrpo_train::trainer::install_interrupt_handler()?;
    if fresh && cfg.warmup.steps > 0 {
        let pb = bar(
            cfg.warmup.steps,
            quiet,
            "warm-up [{bar:30}] {pos}/{len} {msg} ({elapsed})",
        );
        let every = (cfg.warmup.steps / 10).max(1);
        let report = trainer.warmup(&mut |i, nll| {
            pb.inc(1);
            pb.set_message(format!("nll {nll:.3}"));
            if quiet && i % every == 0 {
                eprintln!("warm-up {i:>5}  nll {nll:.3}");
            }
        })?;
        pb.finish_and_clear();
        if let Some(r) = report {
            if r.interrupted {
                eprintln!(
                    "interrupted during the warm-up after update {}/{}: warm-up progress is not \
                     saved, a resumed run starts the warm-up over; continue with \
                     `xrpo train --resume {}`",
                    r.steps,
                    cfg.warmup.steps,
                    trainer.run_dir().root().display()
                );
                return Ok(ExitCode::from(130));
            }
            if r.cached {
                eprintln!("warm-up: loaded cached weights");
            } else {
                eprintln!(
                    "warm-up: {} updates, final nll {:.3}, {:.1}s",
                    r.steps, r.final_nll, r.seconds
                );
            }
        }
    }

    let before_path = trainer.run_dir().path("eval_before.json");
    let before: Option<EvalReport> = if fresh && cfg.eval.before {
        let e = trainer.evaluate()?;
        trainer.run_dir().write_atomic(
            "eval_before.json",
            serde_json::to_string_pretty(&e)?.as_bytes(),
        )?;
        // Progress only (stderr): the before/after table on stdout comes at the end.
        eprintln!(
            "eval before training: pass@1 {:.3} ({} prompts)",
            e.summary.pass_at_1, e.summary.prompts
        );
        Some(e)
    } else {
        std::fs::read_to_string(&before_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
    };

    let pb = bar(
        cfg.steps,
        quiet,
        "train   [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})",
    );
    pb.set_position(trainer.steps_done());
    let end = trainer.run_steps(cfg.steps, &mut |r| {
        let get = |k: &str| r.metrics.get(k).unwrap_or(f64::NAN);
        let msg = format!(
            "reward {:.3}  zero-std {:.2}  seeded {:.0}  len {:.1}",
            get("reward"),
            get("frac_reward_zero_std"),
            get("seed/seeded_prompts"),
            get("completions/mean_length")
        );
        if quiet {
            eprintln!("step {:>4}  {msg}", r.step);
        }
        pb.set_position(r.step);
        pb.set_message(msg);
    })?;
    pb.finish_and_clear();
    if end == xrpo_train::trainer::RunEnd::Interrupted {
        eprintln!(
            "interrupted after step {}: checkpoint saved; continue with `xrpo train --resume {}`",
            trainer.steps_done(),
            trainer.run_dir().root().display()
        );
        return Ok(ExitCode::from(130));
    }

    let after = if cfg.eval.after {
        let e = trainer.evaluate()?;
        trainer.run_dir().write_atomic(
            "eval_after.json",
            serde_json::to_string_pretty(&e)?.as_bytes(),
        )?;
        Some(e)
    } else {
        None
    };
    let history = trainer.metrics_history()?;
    trainer.write_report(&history, before.as_ref(), after.as_ref())?;
    if let Some(b) = &before {
        print_eval("before", b);
    }
    if let Some(a) = &after {
        print_eval("after", a);
    }
    if let (Some(b), Some(a)) = (&before, &after) {
        for (level, acc) in &a.pass_at_1_by_level {
            let prev = b.pass_at_1_by_level.get(level).copied().unwrap_or(f64::NAN);
            println!("  level {level}: pass@1 {prev:.3} -> {acc:.3}");
        }
    }
    println!(
        "report: {}  ({:.0}s)",
        trainer.run_dir().path("report.md").display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
