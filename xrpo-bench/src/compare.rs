//! `xrpo-bench compare`: every arm × seed trained at the same rollout budget from its
//! seed's warm-up checkpoint, evaluated on a fixed schedule, each finished run saved as it
//! finishes so a killed comparison resumes where it stopped.
//!
//! **Warm-ups are per seed.** A built-in task draws its train/eval split from the run
//! seed, so a warm-up trained on another seed's task may have trained on this seed's eval
//! prompts. Each seed therefore trains its own warm-up on its own task (cached under a key
//! that covers the seed, the task and every warm-up setting), and every arm of that seed
//! loads it; the report checks that every arm's step-0 evaluation is identical per seed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use xrpo_train::trainer::{Algorithm, EvalReport, StepRecord, TrainConfig, Trainer};

use crate::BenchError;

/// One arm of the comparison: an algorithm plus config overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Label in the report and in `--arms` (`grpo`, `dapo`, `xrpo λ=0.1`, …).
    pub name: String,
    /// The training algorithm (the preset the overrides start from).
    pub algorithm: Algorithm,
    /// `key=value` overrides applied on top of the base config (e.g. `alloc.lambda=0.1`).
    pub overrides: Vec<String>,
}

/// The named arms `--arms` accepts besides the algorithm names: (name, algorithm,
/// overrides, what it is).
const NAMED_ARMS: [(&str, Algorithm, &[&str], &str); 5] = [
    (
        "dapo",
        Algorithm::Grpo,
        &["alloc.kind=dapo_filter"],
        "GRPO + DAPO's dynamic sampling (uniform groups re-sampled, the rest dropped)",
    ),
    (
        "reinforce_ada",
        Algorithm::Grpo,
        &["alloc.kind=reinforce_ada"],
        "GRPO + Reinforce-Ada's rounds (a prompt retires once both outcomes are seen)",
    ),
    (
        "xrpo_paper",
        Algorithm::Xrpo,
        &["alloc.kind=xrpo"],
        "XRPO with the paper's priority allocator Π_q = Δ̂_q + φ_q (spec §1)",
    ),
    (
        "xrpo_beta",
        Algorithm::Xrpo,
        &["alloc.kind=xrpo", "alloc.variance=beta_posterior"],
        "XRPO with the paper's allocator and the Beta-posterior spread in h_q and Δ̂_q",
    ),
    (
        "xrpo_knapsack",
        Algorithm::Xrpo,
        &["alloc.kind=knapsack"],
        "XRPO's seeding and sharpening with the Knapsack-RL allocator",
    ),
];

impl Arm {
    /// An arm that runs `algorithm` with no overrides, named after it.
    pub fn plain(algorithm: Algorithm) -> Self {
        Self {
            name: algorithm.name().to_string(),
            algorithm,
            overrides: Vec::new(),
        }
    }

    /// The arm `--arms` calls `name`: an algorithm name (`grpo`, `gspo`, `xrpo`,
    /// `xrpo_no_seed`, …) or one of the named variants (`dapo`, `reinforce_ada`,
    /// `xrpo_paper`, `xrpo_beta`, `xrpo_knapsack`); `None` for anything else.
    pub fn named(name: &str) -> Option<Arm> {
        if let Some((n, algorithm, overrides, _)) = NAMED_ARMS.iter().find(|a| a.0 == name) {
            return Some(Arm {
                name: (*n).to_string(),
                algorithm: *algorithm,
                overrides: overrides.iter().map(|o| (*o).to_string()).collect(),
            });
        }
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .map(Arm::plain)
    }

    /// A custom arm from `NAME=BASE:KEY=VALUE;KEY=VALUE…`: the arm `BASE` (any name
    /// [`Arm::named`] accepts) with the overrides appended, reported as `NAME`, e.g.
    /// `xrpo_k4=xrpo:seed_bank.k=4`. `NAME` must not be a built-in arm's name (a run
    /// cache keyed by the name would mix them up) and needs at least one override. The
    /// overrides are checked when the arm's config is built (an unknown key is an error
    /// naming it).
    pub fn parse(spec: &str) -> Result<Arm, BenchError> {
        let bad = |message: String| BenchError::Config {
            field: "arm".into(),
            message: format!("`{spec}`: {message}"),
        };
        let form = || bad("expected NAME=BASE:KEY=VALUE[;KEY=VALUE…]".into());
        let (name, rest) = spec.split_once('=').ok_or_else(form)?;
        if name.contains(':') {
            return Err(form());
        }
        let name = name.trim();
        let valid = |c: char| c.is_ascii_alphanumeric() || "_-.".contains(c);
        if name.is_empty() || !name.chars().all(valid) {
            return Err(bad(format!(
                "arm name `{name}`: use letters, digits, `_`, `-` or `.`"
            )));
        }
        if Arm::named(name).is_some() {
            return Err(bad(format!(
                "`{name}` is a built-in arm; give the variant its own name"
            )));
        }
        let (base, overrides) = rest
            .split_once(':')
            .ok_or_else(|| bad("expected `:` after the base arm".into()))?;
        let mut arm = Arm::named(base.trim()).ok_or_else(|| {
            bad(format!(
                "unknown base arm `{}` (one of {})",
                base.trim(),
                Arm::names().join(", ")
            ))
        })?;
        let extra: Vec<String> = overrides
            .split(';')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect();
        if extra.is_empty() {
            return Err(bad("no KEY=VALUE override after `:`".into()));
        }
        if let Some(o) = extra.iter().find(|o| !o.contains('=')) {
            return Err(bad(format!("override `{o}` is not KEY=VALUE")));
        }
        arm.name = name.to_string();
        arm.overrides.extend(extra);
        Ok(arm)
    }

    /// Every name [`Arm::named`] accepts.
    pub fn names() -> Vec<&'static str> {
        let mut v: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        v.extend(NAMED_ARMS.iter().map(|a| a.0));
        v
    }

    fn by_names(names: &[&str]) -> Vec<Arm> {
        names.iter().filter_map(|n| Arm::named(n)).collect()
    }
}

/// The arms of the headline comparison (`--mode full`): GRPO, DAPO, XRPO as shipped,
/// XRPO with the paper's allocator, with that allocator's posterior spread, and with the
/// knapsack allocator.
pub fn default_arms() -> Vec<Arm> {
    Arm::by_names(&[
        "grpo",
        "dapo",
        "xrpo",
        "xrpo_paper",
        "xrpo_beta",
        "xrpo_knapsack",
    ])
}

/// Parses `--seeds` items: a seed (`3`) or an inclusive range (`0-19`); the result keeps
/// the given order with repeats removed.
pub fn parse_seeds(items: &[String]) -> Result<Vec<u64>, BenchError> {
    let bad = |item: &str, message: &str| BenchError::Config {
        field: "seeds".into(),
        message: format!("`{item}`: {message}"),
    };
    let mut seeds = Vec::new();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let num = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| bad(item, "expected a seed (`3`) or a range (`0-19`)"))
        };
        match item.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (num(lo)?, num(hi)?);
                if lo > hi {
                    return Err(bad(item, "the range is empty (start > end)"));
                }
                if hi - lo >= 10_000 {
                    return Err(bad(item, "more than 10000 seeds"));
                }
                seeds.extend(lo..=hi);
            }
            None => seeds.push(num(item)?),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    seeds.retain(|s| seen.insert(*s));
    Ok(seeds)
}

/// A hyper-parameter sweep instead of the main comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Sweep {
    /// λ, the weight of the allocator's exploration bonus φ_q (`alloc.lambda`), with a
    /// GRPO reference arm.
    Lambda,
    /// λ_nov × κ_clip of novelty sharpening (`advantage.novelty.*`), with a GRPO
    /// reference arm.
    NovClip,
}

/// The arms of a sweep; `quick` uses a smaller grid.
pub fn sweep_arms(sweep: Sweep, quick: bool) -> Vec<Arm> {
    let mut arms = vec![Arm::plain(Algorithm::Grpo)];
    match sweep {
        Sweep::Lambda => {
            let grid: &[f64] = if quick {
                &[0.0, 0.05, 0.5]
            } else {
                &[0.0, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0]
            };
            // λ weighs the paper allocator's bonus, so these arms run that allocator (the
            // shipped XRPO spreads evenly and has no λ).
            for &l in grid {
                arms.push(Arm {
                    name: format!("xrpo λ={l}"),
                    algorithm: Algorithm::Xrpo,
                    overrides: vec!["alloc.kind=xrpo".into(), format!("alloc.lambda={l}")],
                });
            }
        }
        Sweep::NovClip => {
            let (nov, clip): (&[f64], &[f64]) = if quick {
                (&[0.0, 2.5, 10.0], &[0.5])
            } else {
                (&[0.0, 1.0, 2.5, 5.0, 10.0], &[0.25, 0.5, 1.0])
            };
            for &n in nov {
                for &c in clip {
                    arms.push(Arm {
                        name: format!("xrpo λnov={n} κ={c}"),
                        algorithm: Algorithm::Xrpo,
                        overrides: vec![format!("lambda_novelty={n}"), format!("kappa_clip={c}")],
                    });
                }
            }
        }
    }
    arms
}

/// Size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A smoke-sized comparison that finishes in under 5 minutes on 2 cores, warm-ups
    /// included: too short and too few seeds to decide anything.
    Quick,
    /// The headline protocol: the trainer's defaults, 300 steps, every held-out prompt ×
    /// k = 8 every 25 steps, 20 seeds, six arms.
    Full,
}

/// Settings of one comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompareConfig {
    /// Arms to run. Default: per mode.
    pub arms: Vec<Arm>,
    /// Seeds; every arm runs every seed.
    pub seeds: Vec<u64>,
    /// The base training config every arm starts from (steps, |Q|, n_fixed, task, eval
    /// size, warm-up length). `algorithm`, `seed` and `warmup.cache` are set per run.
    pub base: TrainConfig,
    /// Evaluate every this many steps (and at step 0 and the last step).
    pub eval_every: u64,
    /// `None` (default): each seed trains its own warm-up on its own task. `Some(s)`: one
    /// warm-up, trained on seed `s`'s task, shared by every seed (the protocol before
    /// per-seed warm-ups; on a task whose split depends on the seed, other seeds' eval
    /// prompts may be in its training pool).
    pub warmup_seed: Option<u64>,
    /// Directory of the warm-up weights files (loaded when present, written otherwise),
    /// one per seed, named by [`CompareConfig::warmup_path`]. `None` = the output directory.
    pub warmup_dir: Option<PathBuf>,
    /// Mode label recorded in the report.
    pub mode: Mode,
    /// Sweep label recorded in the report, when the arms come from a sweep.
    pub sweep: Option<Sweep>,
}

impl Default for CompareConfig {
    fn default() -> Self {
        Self::quick()
    }
}

impl CompareConfig {
    /// Quick mode, sized to finish in under 5 minutes on a 2-core machine with the warm-ups
    /// (see BENCHMARKS.md for the measured time): GRPO, DAPO and XRPO × seeds 0 and 1,
    /// 12 steps of |Q| = 8 prompts × n_fixed = 8 rollouts (B = 64 per step), every held-out
    /// prompt × k = 8 every 4 steps, a 120-update warm-up of 16 sequences per seed on the
    /// small ladder of the published quick results (levels 0–3, no operator puzzles, 40 %
    /// seeded warm-up examples). A smoke test of the protocol, not a result.
    pub fn quick() -> Self {
        let mut base = TrainConfig {
            steps: 12,
            prompts_per_step: 8,
            n_fixed: 8,
            samples_per_step: 0,
            ..TrainConfig::default()
        };
        base.task.arithmetic.levels = vec![0, 1, 2, 3];
        base.task.arithmetic.puzzle_share = 0.0;
        base.warmup.fewshot_share = 0.4;
        base.warmup.steps = 120;
        base.warmup.batch = 16;
        base.eval.prompts = 0;
        base.eval.k = 8;
        base.eval.before = false;
        base.eval.after = false;
        Self {
            arms: Arm::by_names(&["grpo", "dapo", "xrpo"]),
            seeds: vec![0, 1],
            base,
            eval_every: 4,
            warmup_seed: None,
            warmup_dir: None,
            mode: Mode::Quick,
            sweep: None,
        }
    }

    /// Full mode, the headline protocol: the trainer's defaults (task, 300 steps of
    /// 16 × 8 rollouts, warm-up), every held-out prompt × k = 8 every 25 steps, seeds
    /// 0–19, arms [`default_arms`].
    pub fn full() -> Self {
        let mut base = TrainConfig {
            samples_per_step: 0,
            ..TrainConfig::default()
        };
        base.steps = 300;
        base.eval.prompts = 0;
        base.eval.k = 8;
        base.eval.before = false;
        base.eval.after = false;
        Self {
            arms: default_arms(),
            seeds: (0..20).collect(),
            base,
            eval_every: 25,
            warmup_seed: None,
            warmup_dir: None,
            mode: Mode::Full,
            sweep: None,
        }
    }

    /// The preset of a mode.
    pub fn for_mode(mode: Mode) -> Self {
        match mode {
            Mode::Quick => Self::quick(),
            Mode::Full => Self::full(),
        }
    }

    /// Checks the settings; the error names the field.
    pub fn validate(&self) -> Result<(), BenchError> {
        let bad = |field: &str, message: String| {
            Err(BenchError::Config {
                field: field.to_string(),
                message,
            })
        };
        if self.arms.is_empty() {
            return bad("arms", "no arm to run".into());
        }
        let mut names = std::collections::BTreeSet::new();
        let mut dirs = std::collections::BTreeSet::new();
        for a in &self.arms {
            if !names.insert(a.name.as_str()) {
                return bad("arms", format!("two arms are named `{}`", a.name));
            }
            if !dirs.insert(run_dir_name(&a.name, 0)) {
                return bad(
                    "arms",
                    format!(
                        "arm `{}` shares its run directory name with another",
                        a.name
                    ),
                );
            }
        }
        if self.seeds.is_empty() {
            return bad("seeds", "no seed".into());
        }
        if self.eval_every == 0 {
            return bad("eval_every", "must be >= 1".into());
        }
        for a in &self.arms {
            self.run_config(a, self.seeds[0], Path::new("unused"))?
                .validate()
                .map_err(|e| BenchError::Config {
                    field: format!("arm `{}`", a.name),
                    message: e.to_string(),
                })?;
        }
        Ok(())
    }

    /// The seed whose task and data order the warm-up of run seed `seed` is trained on:
    /// `seed` itself unless a shared [`CompareConfig::warmup_seed`] is set.
    pub fn warmup_seed_for(&self, seed: u64) -> u64 {
        self.warmup_seed.unwrap_or(seed)
    }

    /// Where the warm-up weights of run seed `seed` live for a comparison written to
    /// `out`: `<warmup_dir or out>/warmup-<steps>x<batch>-seed<s>-<key>.safetensors`.
    pub fn warmup_path(&self, out: &Path, seed: u64) -> PathBuf {
        let s = self.warmup_seed_for(seed);
        self.warmup_dir.as_deref().unwrap_or(out).join(format!(
            "warmup-{}x{}-seed{s}-{:016x}.safetensors",
            self.base.warmup.steps,
            self.base.warmup.batch,
            self.warmup_key(seed)
        ))
    }

    /// FNV-1a hash of everything the warm-up of run seed `seed` depends on: the model, the
    /// seed its task and data order come from, the task config (kind and every family's
    /// settings), the warm-up settings and the seeding template.
    pub fn warmup_key(&self, seed: u64) -> u64 {
        let mut warmup = self.base.warmup.clone();
        warmup.cache = None;
        fnv1a(
            &serde_json::json!({
                "model": self.base.model,
                "seed": self.warmup_seed_for(seed),
                "task": self.base.task,
                "warmup": warmup,
                "template": self.base.seed_bank.template,
                "k": self.base.seed_bank.k,
            })
            .to_string(),
        )
    }

    /// The training config of one run: base + algorithm + overrides + seed + the warm-up
    /// weights file to load.
    pub fn run_config(
        &self,
        arm: &Arm,
        seed: u64,
        warmup: &Path,
    ) -> Result<TrainConfig, BenchError> {
        let mut cfg = self.base.clone();
        cfg.algorithm = arm.algorithm;
        cfg.seed = seed;
        cfg.apply_overrides(&arm.overrides)
            .map_err(|e| BenchError::Config {
                field: format!("arm `{}` overrides", arm.name),
                message: e.to_string(),
            })?;
        cfg.warmup.cache = Some(warmup.to_path_buf());
        Ok(cfg)
    }

    /// FNV-1a hash of everything one run's result depends on (its training config with
    /// the warm-up's key in place of its file path, the allocator, seeding and advantage
    /// its algorithm resolves to, and the eval schedule): a saved result is reused only
    /// when this matches.
    pub fn run_key(&self, arm: &Arm, seed: u64) -> Result<u64, BenchError> {
        let mut cfg = self.run_config(arm, seed, Path::new(""))?;
        cfg.warmup.cache = None;
        // The components the algorithm's preset resolves to are hashed too, so a saved
        // run is not reused after a preset changes what a config means.
        let advantage = cfg.advantage_config().map_err(|e| BenchError::Config {
            field: format!("arm `{}`", arm.name),
            message: e.to_string(),
        })?;
        let preset = cfg.algorithm.preset(cfg.host);
        Ok(fnv1a(
            &serde_json::json!({
                "config": cfg,
                "resolved": {
                    "alloc": cfg.alloc_config(),
                    "seeding": preset.seeding,
                    "advantage": advantage,
                    "sequence_level": preset.sequence_level,
                },
                "warmup": self.warmup_key(seed),
                "eval_every": self.eval_every,
            })
            .to_string(),
        ))
    }
}

/// FNV-1a over the bytes of `text`.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One evaluation point of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// RL steps done.
    pub step: u64,
    /// Rollouts spent so far (sum of the steps' `alloc/rollouts`).
    pub rollouts: f64,
    /// Eval pass@1.
    pub pass_at_1: f64,
    /// Eval pass@k.
    pub pass_at_k: f64,
    /// Eval cons@k (majority vote of k samples).
    pub cons_at_k: f64,
    /// Mean completion length (tokens).
    pub mean_length: f64,
    /// pass@1 per difficulty level.
    pub pass_at_1_by_level: BTreeMap<u32, f64>,
}

impl EvalPoint {
    fn new(e: &EvalReport, rollouts: f64) -> Self {
        Self {
            step: e.step,
            rollouts,
            pass_at_1: e.summary.pass_at_1,
            pass_at_k: e.summary.pass_at_k,
            cons_at_k: e.summary.cons_at_k,
            mean_length: e.summary.mean_length,
            pass_at_1_by_level: e.pass_at_1_by_level.clone(),
        }
    }
}

/// Everything one arm × seed run produced (also saved alone as the run directory's
/// `result.json` when the run finishes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Arm name.
    pub arm: String,
    /// Seed.
    pub seed: u64,
    /// [`CompareConfig::run_key`] of the run: a saved result is reused only if it matches.
    #[serde(default)]
    pub key: u64,
    /// Evaluations at step 0, every `eval_every` steps and at the last step.
    pub evals: Vec<EvalPoint>,
    /// The trainer's record of every step (TRL names, `alloc/*`, `seed/*`, `time/*`).
    pub steps: Vec<StepRecord>,
    /// Wall seconds of the RL steps (evaluations excluded).
    pub train_seconds: f64,
    /// Wall seconds of the evaluations.
    pub eval_seconds: f64,
}

/// The warm-up one seed's runs started from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupInfo {
    /// The run seed whose arms loaded it.
    pub seed: u64,
    /// The weights file (`None`: warm-up disabled or impossible, every run starts from
    /// the random init of its seed).
    pub path: Option<PathBuf>,
    /// Whether it was loaded from an earlier run instead of trained now (also `true`
    /// when every arm of the seed was already finished and nothing was loaded).
    pub cached: bool,
    /// Updates run now (0 when cached).
    pub steps: u64,
    /// Final NLL of the warm-up when trained now.
    pub final_nll: Option<f64>,
    /// Seconds spent (training or loading).
    pub seconds: f64,
}

impl WarmupInfo {
    /// No warm-up for `seed`: its runs start from the seed's random init.
    pub fn none(seed: u64) -> Self {
        Self {
            seed,
            path: None,
            cached: false,
            steps: 0,
            final_nll: None,
            seconds: 0.0,
        }
    }
}

/// The machine the figures came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// CPU model name (from `/proc/cpuinfo`).
    pub cpu: String,
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// 1-minute load average at the start.
    pub load_start: Option<f64>,
    /// 1-minute load average at the end.
    pub load_end: Option<f64>,
    /// Start time, seconds since the Unix epoch.
    pub started_unix: u64,
}

/// Reads what is known about this machine now (Linux `/proc`; blanks elsewhere).
pub fn machine_info() -> MachineInfo {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    MachineInfo {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_start: load_average(),
        load_end: None,
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    }
}

/// The 1-minute load average (Linux), `None` elsewhere.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The results of a whole comparison (what `results.json` holds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareResults {
    /// The settings.
    pub config: CompareConfig,
    /// The warm-up of each seed, in seed order.
    pub warmups: Vec<WarmupInfo>,
    /// The machine.
    pub machine: MachineInfo,
    /// The command line that produced these results.
    pub command: String,
    /// Every run, seed-major (all arms of the first seed, then the next seed).
    pub runs: Vec<RunResult>,
    /// Runs reused from an earlier, interrupted invocation with the same `--out`.
    #[serde(default)]
    pub resumed_runs: usize,
    /// Wall seconds of this invocation.
    pub total_seconds: f64,
}

/// Runs (or loads) the warm-up of run seed `seed`. With `warmup.steps = 0` there is none.
pub fn prepare_warmup(
    config: &CompareConfig,
    seed: u64,
    out: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<WarmupInfo, BenchError> {
    let none = WarmupInfo::none(seed);
    if config.base.warmup.steps == 0 {
        return Ok(none);
    }
    let path = config.warmup_path(out, seed);
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    let arm = Arm::plain(Algorithm::Grpo);
    let cfg = config.run_config(&arm, config.warmup_seed_for(seed), &path)?;
    let dir = out
        .join("runs")
        .join(format!("warmup-seed{}", config.warmup_seed_for(seed)));
    fresh_dir(&dir)?;
    let mut trainer = Trainer::new(cfg, &dir)?;
    if !path.is_file() {
        log(&format!(
            "warm-up of seed {seed}: {} updates of {} sequences -> {}",
            config.base.warmup.steps,
            config.base.warmup.batch,
            path.display()
        ));
    }
    let every = (config.base.warmup.steps / 5).max(1);
    let report = trainer.warmup(&mut |i, nll| {
        if i % every == 0 {
            log(&format!("warm-up {i:>5}  nll {nll:.3}"));
        }
    })?;
    // `None`: a task without gold solutions has no warm-up; every run then starts from
    // its seed's random init.
    Ok(match report {
        Some(r) => WarmupInfo {
            seed,
            path: Some(path),
            cached: r.cached,
            steps: r.steps,
            final_nll: r.final_nll.is_finite().then_some(r.final_nll),
            seconds: r.seconds,
        },
        None => none,
    })
}

fn create_dir(dir: &Path) -> Result<(), BenchError> {
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

fn fresh_dir(dir: &Path) -> Result<(), BenchError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| BenchError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    create_dir(dir)
}

/// Directory name of one run.
pub fn run_dir_name(arm: &str, seed: u64) -> String {
    let clean: String = arm
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{clean}-seed{seed}")
}

/// File of a finished run's [`RunResult`] inside its run directory.
pub const RUN_RESULT_FILE: &str = "result.json";

/// The saved result of `arm` × `seed` under `out`, if one exists and its
/// [`CompareConfig::run_key`] matches (a result of other settings is not reused).
pub fn saved_run(
    config: &CompareConfig,
    arm: &Arm,
    seed: u64,
    out: &Path,
) -> Result<Option<RunResult>, BenchError> {
    let path = out
        .join("runs")
        .join(run_dir_name(&arm.name, seed))
        .join(RUN_RESULT_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let run: RunResult = serde_json::from_str(&text).map_err(|e| BenchError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let key = config.run_key(arm, seed)?;
    Ok((run.key == key && run.arm == arm.name && run.seed == seed).then_some(run))
}

/// Trains one arm × seed from its seed's warm-up, evaluates it on the schedule and saves
/// the result as `<out>/runs/<arm>-seed<seed>/result.json`.
pub fn run_one(
    config: &CompareConfig,
    arm: &Arm,
    seed: u64,
    warmup: &WarmupInfo,
    out: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<RunResult, BenchError> {
    let mut cfg = config.run_config(arm, seed, warmup.path.as_deref().unwrap_or(Path::new("")))?;
    if warmup.path.is_none() {
        cfg.warmup.steps = 0;
        cfg.warmup.cache = None;
    }
    let dir = out.join("runs").join(run_dir_name(&arm.name, seed));
    fresh_dir(&dir)?;
    let steps = cfg.steps;
    let mut trainer = Trainer::new(cfg, &dir)?;
    trainer.warmup(&mut |_, _| {})?;
    let mut evals = Vec::new();
    let mut eval_seconds = 0.0;
    let mut evaluate = |trainer: &Trainer, rollouts: f64| -> Result<EvalPoint, BenchError> {
        let t = Instant::now();
        let e = trainer.evaluate()?;
        eval_seconds += t.elapsed().as_secs_f64();
        Ok(EvalPoint::new(&e, rollouts))
    };
    evals.push(evaluate(&trainer, 0.0)?);
    let mut records = Vec::new();
    let mut rollouts = 0.0;
    let mut train_seconds = 0.0;
    for _ in 0..steps {
        let t = Instant::now();
        let r = trainer.train_step()?;
        train_seconds += t.elapsed().as_secs_f64();
        rollouts += r.metrics.alloc.rollouts;
        let step = r.step;
        records.push(r);
        if step.is_multiple_of(config.eval_every) || step == steps {
            let p = evaluate(&trainer, rollouts)?;
            log(&format!(
                "  {:<22} seed {seed}  step {step:>4}  pass@1 {:.3}  cons@k {:.3}",
                arm.name, p.pass_at_1, p.cons_at_k
            ));
            evals.push(p);
        }
    }
    let result = RunResult {
        arm: arm.name.clone(),
        seed,
        key: config.run_key(arm, seed)?,
        evals,
        steps: records,
        train_seconds,
        eval_seconds,
    };
    let path = dir.join(RUN_RESULT_FILE);
    let text = serde_json::to_string(&result).map_err(|e| BenchError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    // Written whole, then renamed: a run killed mid-write leaves no half result.
    let tmp = dir.join(format!("{RUN_RESULT_FILE}.tmp"));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|source| BenchError::Io { path, source })?;
    Ok(result)
}

/// Runs the whole comparison sequentially, seed by seed: the seed's warm-up, then every
/// arm. A run whose saved result (from an earlier invocation with the same `out` and
/// settings) exists is reused, not re-run; a seed whose arms are all finished needs no
/// warm-up. Writes nothing but the warm-ups and the run directories under `out`; see
/// [`crate::report::write_report`] for the report.
pub fn run_compare(
    config: &CompareConfig,
    out: &Path,
    command: &str,
    log: &mut dyn FnMut(&str),
) -> Result<CompareResults, BenchError> {
    config.validate()?;
    let start = Instant::now();
    let mut machine = machine_info();
    create_dir(out)?;
    let mut runs = Vec::new();
    let mut warmups = Vec::new();
    let mut resumed_runs = 0;
    let total = config.arms.len() * config.seeds.len();
    // Seed-major order: on a shared machine the load drifts, and interleaving the arms
    // spreads that drift over all of them instead of penalising the last arm's timings.
    for &seed in &config.seeds {
        let mut saved = Vec::new();
        for arm in &config.arms {
            saved.push(saved_run(config, arm, seed, out)?);
        }
        let warmup = if saved.iter().all(Option::is_some) {
            WarmupInfo {
                seed,
                path: (config.base.warmup.steps > 0).then(|| config.warmup_path(out, seed)),
                cached: true,
                steps: 0,
                final_nll: None,
                seconds: 0.0,
            }
        } else {
            prepare_warmup(config, seed, out, log)?
        };
        for (arm, saved) in config.arms.iter().zip(saved) {
            let done = runs.len() + 1;
            if let Some(run) = saved {
                log(&format!(
                    "run {done}/{total}: {} seed {seed}: finished earlier, reused",
                    arm.name
                ));
                resumed_runs += 1;
                runs.push(run);
                continue;
            }
            log(&format!(
                "run {done}/{total}: {} seed {seed} (elapsed {:.0}s)",
                arm.name,
                start.elapsed().as_secs_f64()
            ));
            runs.push(run_one(config, arm, seed, &warmup, out, log)?);
        }
        warmups.push(warmup);
    }
    machine.load_end = load_average();
    Ok(CompareResults {
        config: config.clone(),
        warmups,
        machine,
        command: command.to_string(),
        runs,
        resumed_runs,
        total_seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xrpo_alloc::{AllocKind, VarianceEstimate};

    #[test]
    fn warmup_key_follows_warmup_inputs_and_seed() {
        let a = CompareConfig::quick();
        let mut b = a.clone();
        b.base.optim.lr *= 2.0; // RL settings do not change the warm-up
        b.base.algorithm = Algorithm::Gspo;
        b.seeds = vec![7];
        assert_eq!(a.warmup_key(0), b.warmup_key(0));
        let mut c = a.clone();
        c.base.warmup.lr *= 2.0;
        assert_ne!(a.warmup_key(0), c.warmup_key(0));
        let mut d = a.clone();
        d.base.task.arithmetic.train_per_level += 1;
        assert_ne!(a.warmup_key(0), d.warmup_key(0));
        let mut e = a.clone();
        e.base
            .apply_overrides(&["task.kind=word_problems".to_string()])
            .unwrap();
        assert_ne!(
            a.warmup_key(0),
            e.warmup_key(0),
            "the task family is in the key"
        );
        // Per seed by default: each seed its own key and file.
        assert_ne!(a.warmup_key(0), a.warmup_key(1));
        let o = Path::new("o");
        assert_ne!(a.warmup_path(o, 0), a.warmup_path(o, 1));
        assert!(a.warmup_path(o, 3).to_string_lossy().contains("-seed3-"));
        // A shared warm-up seed: every seed loads the same file.
        let mut s = a.clone();
        s.warmup_seed = Some(0);
        assert_eq!(s.warmup_path(o, 0), s.warmup_path(o, 5));
        assert_eq!(s.warmup_path(o, 5), a.warmup_path(o, 0));
        let mut w = a.clone();
        w.warmup_dir = Some("cache".into());
        assert!(w.warmup_path(o, 0).starts_with("cache"));
    }

    /// Each arm's training config differs from GRPO's exactly where its name says.
    #[test]
    fn arms_configure_what_they_are_named_after() {
        let c = CompareConfig::quick();
        let cfg = |name: &str| {
            let arm = Arm::named(name).unwrap_or_else(|| panic!("arm {name}"));
            assert_eq!(arm.name, name);
            c.run_config(&arm, 0, Path::new("w")).unwrap()
        };
        let grpo = cfg("grpo");
        assert_eq!(grpo.algorithm, Algorithm::Grpo);
        assert_eq!(grpo.alloc_config().kind, AllocKind::Fixed);
        assert!(!grpo.algorithm.preset(grpo.host).seeding);
        assert!(!grpo.advantage_config().unwrap().novelty.enabled);
        assert!(!grpo.algorithm.preset(grpo.host).sequence_level);
        let gspo = cfg("gspo");
        assert!(gspo.algorithm.preset(gspo.host).sequence_level);
        assert_eq!(gspo.alloc_config().kind, AllocKind::Fixed);
        // DAPO: GRPO with the dynamic-sampling allocator, nothing else.
        let dapo = cfg("dapo");
        assert_eq!(dapo.algorithm, Algorithm::Grpo);
        assert_eq!(dapo.alloc_config().kind, AllocKind::DapoFilter);
        assert!(!dapo.advantage_config().unwrap().novelty.enabled);
        assert_eq!(
            cfg("reinforce_ada").alloc_config().kind,
            AllocKind::ReinforceAda
        );
        // XRPO as shipped: phases spread evenly, seeding, sharpening.
        let xrpo = cfg("xrpo");
        assert_eq!(xrpo.algorithm, Algorithm::Xrpo);
        assert_eq!(xrpo.alloc_config().kind, AllocKind::UniformPhased);
        assert!(xrpo.algorithm.preset(xrpo.host).seeding);
        assert!(xrpo.advantage_config().unwrap().novelty.enabled);
        // xrpo_paper: only the allocator changes, to the paper's with its sample spread.
        let paper = cfg("xrpo_paper");
        assert_eq!(paper.alloc_config().kind, AllocKind::Xrpo);
        assert_eq!(paper.alloc_config().variance, VarianceEstimate::Sample);
        let mut back = paper.clone();
        back.alloc.kind = None;
        assert_eq!(back, xrpo);
        // xrpo_beta: the paper's allocator with the posterior spread.
        let beta = cfg("xrpo_beta");
        assert_eq!(
            beta.alloc_config().variance,
            VarianceEstimate::BetaPosterior
        );
        assert_eq!(beta.alloc_config().kind, AllocKind::Xrpo);
        let mut back = beta.clone();
        back.alloc.config.variance = VarianceEstimate::Sample;
        assert_eq!(back, paper);
        // xrpo_knapsack: only the allocator changes.
        let knap = cfg("xrpo_knapsack");
        assert_eq!(knap.alloc_config().kind, AllocKind::Knapsack);
        assert_eq!(knap.algorithm, Algorithm::Xrpo);
        assert!(knap.advantage_config().unwrap().novelty.enabled);
        // The single-component ablations drop exactly their component of the shipped XRPO
        // (whose allocator they keep); the old no-allocation name is the shipped XRPO.
        assert_eq!(cfg("xrpo_no_alloc").alloc_config(), xrpo.alloc_config());
        let no_seed = cfg("xrpo_no_seed");
        assert!(!no_seed.algorithm.preset(no_seed.host).seeding);
        assert!(no_seed.advantage_config().unwrap().novelty.enabled);
        assert_eq!(no_seed.alloc_config().kind, AllocKind::UniformPhased);
        let no_sharpen = cfg("xrpo_no_sharpen");
        assert!(!no_sharpen.advantage_config().unwrap().novelty.enabled);
        assert!(no_sharpen.algorithm.preset(no_sharpen.host).seeding);
        assert_eq!(no_sharpen.alloc_config().kind, AllocKind::UniformPhased);
        assert!(Arm::named("dapo_filter").is_none());
        for n in Arm::names() {
            assert!(Arm::named(n).is_some(), "{n}");
        }
    }

    #[test]
    fn presets_are_valid_and_equal_budget() {
        let q = CompareConfig::quick();
        q.validate().unwrap();
        let names = |c: &CompareConfig| c.arms.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&q), ["grpo", "dapo", "xrpo"]);
        assert_eq!(q.seeds, [0, 1]);
        assert_eq!(q.warmup_seed, None);
        let f = CompareConfig::full();
        f.validate().unwrap();
        assert_eq!(
            names(&f),
            [
                "grpo",
                "dapo",
                "xrpo",
                "xrpo_paper",
                "xrpo_beta",
                "xrpo_knapsack"
            ]
        );
        assert_eq!(f.seeds, (0..20).collect::<Vec<_>>());
        assert_eq!((f.base.steps, f.eval_every, f.base.eval.k), (300, 25, 8));
        assert_eq!(f.base.eval.prompts, 0, "every held-out prompt");
        let d = TrainConfig::default();
        assert_eq!(
            (f.base.task.clone(), f.base.warmup.clone(), f.base.n_fixed),
            (d.task, d.warmup, d.n_fixed),
            "full mode keeps the trainer's task and warm-up"
        );
        for c in [&q, &f] {
            for a in &c.arms {
                let t = c.run_config(a, 0, Path::new("w")).unwrap();
                assert_eq!(t.alloc_config().n_fixed, c.base.n_fixed, "{}", a.name);
            }
        }
        let l = sweep_arms(Sweep::Lambda, true);
        assert_eq!(l.len(), 1 + 3);
        assert_eq!(l[0].algorithm, Algorithm::Grpo);
        // λ is the paper allocator's: the sweep's arms run it, each with its λ.
        let mut c = CompareConfig::quick();
        c.arms = l.clone();
        for (a, want) in l[1..].iter().zip([0.0, 0.05, 0.5]) {
            let alloc = c.run_config(a, 0, Path::new("w")).unwrap().alloc_config();
            assert_eq!(
                (alloc.kind, alloc.lambda),
                (AllocKind::Xrpo, want),
                "{}",
                a.name
            );
        }
        assert_eq!(sweep_arms(Sweep::NovClip, false).len(), 1 + 5 * 3);
        let mut c = CompareConfig::quick();
        c.arms = sweep_arms(Sweep::NovClip, true);
        c.validate().unwrap();
        let cfg = c.run_config(&c.arms[2], 3, Path::new("w")).unwrap();
        assert_eq!(cfg.advantage_config().unwrap().novelty.lambda_novelty, 2.5);
        assert_eq!(cfg.seed, 3);
        assert_eq!(cfg.warmup.cache.as_deref(), Some(Path::new("w")));
    }

    #[test]
    fn seeds_parse_ranges_and_lists() {
        let p =
            |items: &[&str]| parse_seeds(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&["0-3"]).unwrap(), [0, 1, 2, 3]);
        assert_eq!(p(&["5", "0-2", "1"]).unwrap(), [5, 0, 1, 2]);
        assert_eq!(p(&["7-7"]).unwrap(), [7]);
        for bad in ["3-1", "x", "1-", "-1", "1-2-3"] {
            let e = p(&[bad]).unwrap_err().to_string();
            assert!(e.contains("seeds") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn custom_arms_extend_a_base_arm() {
        let a = Arm::parse("xrpo_k4=xrpo_beta:seed_bank.k=4; alloc.lambda=0.1").unwrap();
        assert_eq!(a.name, "xrpo_k4");
        assert_eq!(a.algorithm, Algorithm::Xrpo);
        assert_eq!(
            a.overrides,
            [
                "alloc.kind=xrpo",
                "alloc.variance=beta_posterior",
                "seed_bank.k=4",
                "alloc.lambda=0.1"
            ]
        );
        let c = CompareConfig::quick();
        let cfg = c.run_config(&a, 0, Path::new("")).unwrap();
        assert_eq!(cfg.seed_bank.k, 4);
        assert_ne!(
            c.run_key(&a, 0).unwrap(),
            c.run_key(&Arm::named("xrpo_beta").unwrap(), 0).unwrap()
        );
        for (spec, needle) in [
            ("xrpo:seed_bank.k=4", "expected NAME=BASE"),
            ("xrpo=xrpo:seed_bank.k=4", "built-in arm"),
            ("my arm=xrpo:seed_bank.k=4", "arm name"),
            ("v=nope:seed_bank.k=4", "unknown base arm `nope`"),
            ("v=xrpo", "expected `:`"),
            ("v=xrpo:", "no KEY=VALUE"),
            ("v=xrpo:seed_bank.k", "not KEY=VALUE"),
        ] {
            let e = Arm::parse(spec).unwrap_err().to_string();
            assert!(e.contains(needle), "{spec}: {e}");
        }
        // An unknown key surfaces when the arm's config is built, naming the key.
        let bad = Arm::parse("v=xrpo:seed_bank.kk=4").unwrap();
        let e = c
            .run_config(&bad, 0, Path::new(""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("seed_bank.kk"), "{e}");
    }

    #[test]
    fn run_key_changes_with_any_run_setting() {
        let c = CompareConfig::quick();
        let grpo = Arm::named("grpo").unwrap();
        let k = c.run_key(&grpo, 0).unwrap();
        assert_eq!(k, c.run_key(&grpo, 0).unwrap());
        assert_ne!(k, c.run_key(&grpo, 1).unwrap());
        assert_ne!(k, c.run_key(&Arm::named("dapo").unwrap(), 0).unwrap());
        let mut d = c.clone();
        d.base.steps += 1;
        assert_ne!(k, d.run_key(&grpo, 0).unwrap());
        let mut e = c.clone();
        e.eval_every += 1;
        assert_ne!(k, e.run_key(&grpo, 0).unwrap());
        let mut w = c.clone();
        w.base.warmup.steps += 1;
        assert_ne!(k, w.run_key(&grpo, 0).unwrap());
        // Where the warm-up file lives does not matter, only what it holds.
        let mut dir = c.clone();
        dir.warmup_dir = Some("elsewhere".into());
        assert_eq!(k, dir.run_key(&grpo, 0).unwrap());
    }

    #[test]
    fn run_dir_names_are_path_safe() {
        assert_eq!(run_dir_name("xrpo λ=0.5", 2), "xrpo---0.5-seed2");
        assert_eq!(run_dir_name("xrpo_no_seed", 0), "xrpo_no_seed-seed0");
    }
}
