//! `xrpo-bench`: the end-to-end GRPO vs GSPO vs XRPO comparison and its sweeps.
//!
//! - `xrpo-bench compare [--mode quick|full]`: arms × seeds → `compare/report.md`,
//!   `results.json`, `summary.json`, SVG plots; resumable (finished runs are kept).
//! - `xrpo-bench compare --sweep lambda|nov-clip`: a hyper-parameter sweep.
//! - `xrpo-bench report DIR`: re-renders the report from `DIR/results.json`.
//!
//! The component micro-benchmarks are `cargo bench -p xrpo-bench --bench components`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use xrpo_bench::compare::{
    Arm, CompareConfig, CompareResults, Mode, Sweep, parse_seeds, run_compare, sweep_arms,
};
use xrpo_bench::report::write_report;

/// Command line of `xrpo-bench`.
#[derive(Parser, Debug)]
#[command(version, about)]
enum Cli {
    /// Train every arm × seed, each seed from its own warm-up, at equal rollout budget
    /// and write a report (markdown, JSON, SVG). Re-run with the same --out to resume.
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
    /// Size preset: `quick` (under 5 minutes on 2 cores with the warm-ups; a smoke test,
    /// not a result) or `full` (the headline protocol: 300 steps, 20 seeds, 6 arms).
    #[arg(long, value_enum, default_value = "quick")]
    mode: Mode,
    /// Run a sweep instead of the comparison.
    #[arg(long, value_enum)]
    sweep: Option<Sweep>,
    /// Comma-separated arms: an algorithm (grpo, dr_grpo, gspo, xrpo, xrpo_no_seed,
    /// xrpo_no_sharpen; xrpo_no_alloc is the old name of xrpo) or dapo, reinforce_ada,
    /// xrpo_paper, xrpo_beta, xrpo_knapsack (default: grpo,dapo,xrpo quick;
    /// grpo,dapo,xrpo,xrpo_paper,xrpo_beta,xrpo_knapsack full).
    #[arg(long, value_delimiter = ',')]
    arms: Vec<String>,
    /// A variant arm added after --arms: `NAME=BASE:KEY=VALUE;KEY=VALUE…`, the arm BASE
    /// with config overrides, e.g. `--arm 'xrpo_k4=xrpo:seed_bank.k=4'` (repeatable). An
    /// `xrpo_*` name is also paired against `xrpo` in the report.
    #[arg(long = "arm", value_name = "SPEC")]
    arm: Vec<String>,
    /// Comma-separated seeds or inclusive ranges, e.g. `0-19` or `0,3,5-7` (default: 0,1
    /// quick, 0-19 full).
    #[arg(long, value_delimiter = ',')]
    seeds: Vec<String>,
    /// RL steps per run.
    #[arg(long)]
    steps: Option<u64>,
    /// Evaluate every N steps.
    #[arg(long)]
    eval_every: Option<u64>,
    /// Train one warm-up on this seed's task and share it across all seeds (the old
    /// protocol; on a seed-dependent task split it leaks eval prompts). Default: one
    /// warm-up per seed.
    #[arg(long, value_name = "SEED")]
    shared_warmup_seed: Option<u64>,
    /// Directory for the per-seed warm-up weights (loaded when present, written
    /// otherwise); default: --out.
    #[arg(long, value_name = "DIR")]
    warmup_dir: Option<PathBuf>,
    /// Output directory. Finished runs found there (same settings) are reused.
    #[arg(long, default_value = "compare")]
    out: PathBuf,
    /// Override a key of the base training config of every arm, e.g.
    /// `--set prompts_per_step=4 --set task.kind=word_problems`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

fn build_config(args: &CompareArgs) -> anyhow::Result<CompareConfig> {
    let mut cfg = CompareConfig::for_mode(args.mode);
    cfg.base
        .apply_overrides(&args.set)
        .context("--set overrides")?;
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
                Arm::named(name.trim()).with_context(|| {
                    format!(
                        "--arms: unknown arm `{name}` (one of {})",
                        Arm::names().join(", ")
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
    }
    for spec in &args.arm {
        let arm = Arm::parse(spec)?;
        if cfg.arms.iter().any(|a| a.name == arm.name) {
            anyhow::bail!("--arm: `{}` is given twice", arm.name);
        }
        cfg.arms.push(arm);
    }
    if !args.seeds.is_empty() {
        cfg.seeds = parse_seeds(&args.seeds)?;
    }
    if let Some(s) = args.steps {
        cfg.base.steps = s;
    }
    if let Some(e) = args.eval_every {
        cfg.eval_every = e;
    }
    cfg.warmup_seed = args.shared_warmup_seed;
    cfg.warmup_dir = args.warmup_dir.clone();
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
        "{:<16} {:>26} {:>26} {:>20} {:>9}",
        "arm",
        "final pass@1",
        format!("final cons@{k}"),
        format!("steps vs {}", summary.reference),
        "censored"
    );
    for a in &summary.arms {
        println!(
            "{:<16} {:>26} {:>26} {:>20} {:>9}",
            a.arm,
            xrpo_bench::seed_stats::display_opt(a.final_pass_at_1.as_ref(), 3),
            xrpo_bench::seed_stats::display_opt(a.final_cons_at_k.as_ref(), 3),
            a.steps_ratio.map_or_else(
                || "–".to_string(),
                |r| format!("{:.2}× ({:.2}–{:.2})", r.ratio, r.low, r.high)
            ),
            format!("{}/{}", a.censored, a.seeds)
        );
    }
    println!("{}", xrpo_bench::report::closing_note(summary));
}
