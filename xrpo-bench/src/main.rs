//! `xrpo-bench`: the end-to-end GRPO vs GSPO vs XRPO comparison and its sweeps.
//!
//! - `xrpo-bench compare [--mode quick|full]`: six arms × seeds → `compare/report.md`,
//!   `results.json`, `summary.json`, SVG plots.
//! - `xrpo-bench compare --sweep lambda|nov-clip`: a hyper-parameter sweep.
//! - `xrpo-bench report DIR`: re-renders the report from `DIR/results.json`.
//!
//! The component micro-benchmarks are `cargo bench -p xrpo-bench --bench components`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xrpo_bench::compare::{
    Arm, CompareConfig, CompareResults, Mode, Sweep, run_compare, sweep_arms,
};
use xrpo_bench::report::write_report;
use xrpo_train::trainer::Algorithm;

/// Command line of `xrpo-bench`.
#[derive(Parser, Debug)]
#[command(version, about)]
enum Cli {
    /// Train every arm × seed from one shared warm-up at equal rollout budget and write a
    /// report (markdown, JSON, SVG).
    Compare(CompareArgs),
    /// Re-render report.md, summary.json and the plots from DIR/results.json.
    Report {
        /// Directory holding results.json.
        dir: PathBuf,
    },
}

/// Arguments of `xrpo-bench compare`.
#[derive(clap::Args, Debug)]
struct CompareArgs {
    /// Size preset: `quick` (3–20 min on 2 cores depending on load, plus the warm-up once;
    /// noisy) or `full` (bigger machines).
    #[arg(long, value_enum, default_value = "quick")]
    mode: Mode,
    /// Run a sweep instead of the six-arm comparison.
    #[arg(long, value_enum)]
    sweep: Option<Sweep>,
    /// Comma-separated algorithms to run (default: grpo, gspo, xrpo and the three
    /// ablations).
    #[arg(long, value_delimiter = ',')]
    arms: Vec<String>,
    /// Comma-separated seeds (default: 0,1,2 quick, 0..4 full).
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<u64>,
    /// RL steps per run.
    #[arg(long)]
    steps: Option<u64>,
    /// Evaluate every N steps.
    #[arg(long)]
    eval_every: Option<u64>,
    /// Target eval pass@1 for steps-to-target (default: midpoint of initial and best final).
    #[arg(long)]
    target: Option<f64>,
    /// Shared warm-up weights file (loaded if present, written otherwise).
    #[arg(long, value_name = "FILE")]
    warmup_cache: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "compare")]
    out: PathBuf,
    /// Override a key of the base training config of every arm, e.g.
    /// `--set prompts_per_step=4 --set eval.prompts=32`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

fn build_config(args: &CompareArgs) -> anyhow::Result<CompareConfig> {
    let mut cfg = CompareConfig::for_mode(args.mode);
    cfg.base
        .apply_overrides(&args.set)
        .context("--set overrides")?;
    // Keep the allocator's group size in step with a --set n_fixed.
    cfg.base.alloc.n_fixed = cfg.base.n_fixed;
    if let Some(sweep) = args.sweep {
        cfg.arms = sweep_arms(sweep, args.mode == Mode::Quick);
        cfg.sweep = Some(sweep);
    }
    if !args.arms.is_empty() {
        if args.sweep.is_some() {
            anyhow::bail!("--arms and --sweep cannot be combined");
        }
        cfg.arms = args
            .arms
            .iter()
            .map(|name| {
                Algorithm::ALL
                    .into_iter()
                    .find(|a| a.name() == name.trim())
                    .map(Arm::plain)
                    .with_context(|| {
                        format!(
                            "--arms: unknown algorithm `{name}` (one of {})",
                            Algorithm::ALL.map(|a| a.name()).join(", ")
                        )
                    })
            })
            .collect::<anyhow::Result<_>>()?;
    }
    if !args.seeds.is_empty() {
        cfg.seeds = args.seeds.clone();
    }
    if let Some(s) = args.steps {
        cfg.base.steps = s;
    }
    if let Some(e) = args.eval_every {
        cfg.eval_every = e;
    }
    cfg.target = args.target;
    cfg.warmup_cache = args.warmup_cache.clone();
    cfg.validate()?;
    Ok(cfg)
}

fn command_line() -> String {
    let mut parts = vec!["xrpo-bench".to_string()];
    for a in std::env::args().skip(1) {
        if a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=.,/:@".contains(c))
        {
            parts.push(a);
        } else {
            parts.push(format!("'{}'", a.replace('\'', r"'\''")));
        }
    }
    parts.join(" ")
}

fn main() -> ExitCode {
    // SAFETY: first statement of main; no thread exists yet.
    unsafe { xrpo_train::runtime::prepare_cpu_process() };
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    match Cli::parse() {
        Cli::Compare(args) => {
            let cfg = build_config(&args)?;
            eprintln!(
                "{} arms × {} seeds, {} steps each, out {}",
                cfg.arms.len(),
                cfg.seeds.len(),
                cfg.base.steps,
                args.out.display()
            );
            let results = run_compare(&cfg, &args.out, &command_line(), &mut |l| eprintln!("{l}"))?;
            let summary = write_report(&args.out, &results)?;
            print_summary(&results, &summary);
        }
        Cli::Report { dir } => {
            let path = dir.join("results.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let results: CompareResults = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            let summary = write_report(&dir, &results)?;
            print_summary(&results, &summary);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(results: &CompareResults, summary: &xrpo_bench::report::Summary) {
    let k = results.config.base.eval.k;
    println!(
        "{:<24} {:>24} {:>24} {:>10}",
        "arm",
        "final pass@1",
        format!("final cons@{k}"),
        "to target"
    );
    for a in &summary.arms {
        println!(
            "{:<24} {:>24} {:>24} {:>10}",
            a.arm,
            xrpo_bench::seed_stats::display_opt(a.final_pass_at_1.as_ref(), 3),
            xrpo_bench::seed_stats::display_opt(a.final_cons_at_k.as_ref(), 3),
            format!("{}/{}", a.reached_target, a.seeds)
        );
    }
    println!("{}", xrpo_bench::report::closing_note(summary));
}
