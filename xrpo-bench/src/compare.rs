//! `xrpo-bench compare`: every arm × seed trained from one shared warm-up checkpoint at
//! the same rollout budget, evaluated on a fixed schedule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use xrpo_train::trainer::{Algorithm, EvalReport, TrainConfig, Trainer};

use crate::BenchError;

/// One arm of the comparison: an algorithm plus config overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// Label in the report (`grpo`, `xrpo λ=0.1`, …).
    pub name: String,
    /// The training algorithm.
    pub algorithm: Algorithm,
    /// `key=value` overrides applied on top of the base config (e.g. `alloc.lambda=0.1`).
    pub overrides: Vec<String>,
}

impl Arm {
    /// An arm that runs `algorithm` with no overrides, named after it.
    pub fn plain(algorithm: Algorithm) -> Self {
        Self {
            name: algorithm.name().to_string(),
            algorithm,
            overrides: Vec::new(),
        }
    }
}

/// The six arms of the main comparison: GRPO, GSPO, XRPO and its three single-component
/// ablations.
pub fn default_arms() -> Vec<Arm> {
    [
        Algorithm::Grpo,
        Algorithm::Gspo,
        Algorithm::Xrpo,
        Algorithm::XrpoNoAlloc,
        Algorithm::XrpoNoSeed,
        Algorithm::XrpoNoSharpen,
    ]
    .into_iter()
    .map(Arm::plain)
    .collect()
}

/// A hyper-parameter sweep instead of the main comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Sweep {
    /// λ, the weight of the allocator's exploration bonus φ_q (`alloc.lambda`), with a
    /// GRPO reference arm.
    Lambda,
    /// λ_nov × κ_clip of novelty sharpening (`lambda_novelty`, `kappa_clip`), with a
    /// GRPO reference arm.
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
            for &l in grid {
                arms.push(Arm {
                    name: format!("xrpo λ={l}"),
                    algorithm: Algorithm::Xrpo,
                    overrides: vec![format!("alloc.lambda={l}")],
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
    /// Fits about 20 minutes on a 2-core machine for 6 arms × 3 seeds; noisy.
    Quick,
    /// The trainer's defaults at full length, 5 seeds; for bigger machines.
    Full,
}

/// Settings of one comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompareConfig {
    /// Arms to run. Default [`default_arms`].
    pub arms: Vec<Arm>,
    /// Seeds; every arm runs every seed. Default 0, 1, 2.
    pub seeds: Vec<u64>,
    /// The base training config every arm starts from (steps, |Q|, n_fixed, eval size,
    /// warm-up length). `algorithm`, `seed` and `warmup.cache` are set per run.
    pub base: TrainConfig,
    /// Evaluate every this many steps (and at step 0 and the last step). Default 5.
    pub eval_every: u64,
    /// Seed of the one shared warm-up (its data order and initial weights). Default 0.
    pub warmup_seed: u64,
    /// Warm-up weights file; loaded when present, written by the shared warm-up
    /// otherwise. `None` = `<out>/warmup-<steps>x<batch>-seed<warmup_seed>-<hash>.safetensors`,
    /// where the hash covers every setting the warm-up depends on (model, task, warm-up,
    /// seeding template), so a changed setting never loads stale weights.
    pub warmup_cache: Option<PathBuf>,
    /// Absolute target eval pass@1 for "steps to target"; `None` = a gain target instead:
    /// each run must gain half of the best arm's mean final gain over its own seed's
    /// initial pass@1 (seeds draw different eval sets, so absolute levels differ).
    pub target: Option<f64>,
    /// Mode label recorded in the report. Default `quick`.
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
    /// Quick mode: 40 steps of |Q| = 8 prompts × n_fixed = 8 rollouts (B = 64 per step),
    /// eval on every held-out prompt × k = 8 every 5 steps, a 600-update warm-up shared by
    /// all runs and cached, 3 seeds. Measured on the shared 2-core machine: 189 s for the
    /// 18 runs at load 1–6 once the warm-up is cached (steps are ~10× slower at load 9);
    /// training the warm-up the first time took 508 s at load ~9. Noisy by design.
    ///
    /// The task stays the ladder of the published quick/long results (levels 0–3, no
    /// operator puzzles in the warm-up, 40 % seeded warm-up examples): the trainer's
    /// default added level 8 and puzzles that need its 4000-update warm-up.
    pub fn quick() -> Self {
        let mut base = TrainConfig {
            steps: 40,
            prompts_per_step: 8,
            n_fixed: 8,
            samples_per_step: 0,
            ..TrainConfig::default()
        };
        base.alloc.n_fixed = 8;
        base.task.arithmetic.levels = vec![0, 1, 2, 3];
        base.task.arithmetic.puzzle_share = 0.0;
        base.warmup.fewshot_share = 0.4;
        base.warmup.steps = 600;
        base.eval.prompts = 0;
        base.eval.k = 8;
        base.eval.before = false;
        base.eval.after = false;
        Self {
            arms: default_arms(),
            seeds: vec![0, 1, 2],
            base,
            eval_every: 5,
            warmup_seed: 0,
            warmup_cache: None,
            target: None,
            mode: Mode::Quick,
            sweep: None,
        }
    }

    /// Full mode: the trainer's defaults (task, steps of 16 × 8 rollouts, warm-up), all
    /// eval prompts × k = 16, 5 seeds.
    pub fn full() -> Self {
        let mut base = TrainConfig {
            samples_per_step: 0,
            ..TrainConfig::default()
        };
        base.eval.prompts = 0;
        base.eval.k = 16;
        base.eval.before = false;
        base.eval.after = false;
        Self {
            arms: default_arms(),
            seeds: vec![0, 1, 2, 3, 4],
            base,
            eval_every: 5,
            warmup_seed: 0,
            warmup_cache: None,
            target: None,
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
        for a in &self.arms {
            if !names.insert(a.name.as_str()) {
                return bad("arms", format!("two arms are named `{}`", a.name));
            }
        }
        if self.seeds.is_empty() {
            return bad("seeds", "no seed".into());
        }
        if self.eval_every == 0 {
            return bad("eval_every", "must be >= 1".into());
        }
        if let Some(t) = self.target
            && !(0.0..=1.0).contains(&t)
        {
            return bad("target", format!("{t} not in [0, 1]"));
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

    /// Where the shared warm-up weights live for a comparison written to `out`.
    pub fn warmup_path(&self, out: &Path) -> PathBuf {
        self.warmup_cache.clone().unwrap_or_else(|| {
            out.join(format!(
                "warmup-{}x{}-seed{}-{:016x}.safetensors",
                self.base.warmup.steps,
                self.base.warmup.batch,
                self.warmup_seed,
                self.warmup_key()
            ))
        })
    }

    /// FNV-1a hash of everything the shared warm-up depends on.
    pub fn warmup_key(&self) -> u64 {
        let mut warmup = self.base.warmup.clone();
        warmup.cache = None;
        let key = serde_json::json!({
            "model": self.base.model,
            "seed": self.warmup_seed,
            "task": self.base.task,
            "warmup": warmup,
            "template": self.base.seed_bank.template,
            "k": self.base.seed_bank.k,
        })
        .to_string();
        key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    /// The training config of one run: base + algorithm + overrides + seed + shared warm-up.
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
}

/// One evaluation point of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// RL steps done.
    pub step: u64,
    /// Rollouts spent so far (sum of `alloc/rollouts`).
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

/// Everything one arm × seed run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Arm name.
    pub arm: String,
    /// Seed.
    pub seed: u64,
    /// Evaluations at step 0, every `eval_every` steps and at the last step.
    pub evals: Vec<EvalPoint>,
    /// The trainer's metrics of every step (TRL names, `alloc/*`, `seed/*`, `time/*`).
    pub steps: Vec<BTreeMap<String, f64>>,
    /// Wall seconds of the RL steps (evaluations excluded).
    pub train_seconds: f64,
    /// Wall seconds of the evaluations.
    pub eval_seconds: f64,
}

/// The shared warm-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WarmupInfo {
    /// The weights file every run started from (`None`: warm-up disabled, every run
    /// starts from the random init of its seed).
    pub path: Option<PathBuf>,
    /// Whether it was loaded from an earlier run instead of trained now.
    pub cached: bool,
    /// Updates run now (0 when cached).
    pub steps: u64,
    /// Final NLL of the warm-up when trained now.
    pub final_nll: Option<f64>,
    /// Seconds spent (training or loading).
    pub seconds: f64,
}

/// The machine the figures came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// CPU model name (from `/proc/cpuinfo`).
    pub cpu: String,
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// 1-minute load average at the start and the end.
    pub load_start: Option<f64>,
    /// 1-minute load average at the end.
    pub load_end: Option<f64>,
    /// UTC time at the start (`date -u` format of `/proc` uptime is not portable; RFC 3339
    /// from the system clock).
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
    /// The shared warm-up.
    pub warmup: WarmupInfo,
    /// The machine.
    pub machine: MachineInfo,
    /// The command line that produced these results.
    pub command: String,
    /// Every run, seed-major (all arms of the first seed, then the next seed).
    pub runs: Vec<RunResult>,
    /// Wall seconds of the whole comparison.
    pub total_seconds: f64,
}

/// Runs (or loads) the shared warm-up once. With `warmup.steps = 0` there is none.
pub fn prepare_warmup(
    config: &CompareConfig,
    out: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<WarmupInfo, BenchError> {
    if config.base.warmup.steps == 0 {
        return Ok(WarmupInfo {
            path: None,
            cached: false,
            steps: 0,
            final_nll: None,
            seconds: 0.0,
        });
    }
    let path = config.warmup_path(out);
    let arm = Arm::plain(Algorithm::Grpo);
    let cfg = config.run_config(&arm, config.warmup_seed, &path)?;
    let dir = out.join("runs").join("warmup");
    fresh_dir(&dir)?;
    let mut trainer = Trainer::new(cfg, &dir)?;
    if !path.is_file() {
        log(&format!(
            "warm-up: {} updates of {} sequences (shared by every run) -> {}",
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
    // Invariant: warm-up steps > 0 and the built-in arithmetic task has gold solutions;
    // a task without them skips the warm-up (None) and every run then starts from its
    // seed's random init.
    Ok(match report {
        Some(r) => WarmupInfo {
            path: Some(path),
            cached: r.cached,
            steps: r.steps,
            final_nll: r.final_nll.is_finite().then_some(r.final_nll),
            seconds: r.seconds,
        },
        None => WarmupInfo {
            path: None,
            cached: false,
            steps: 0,
            final_nll: None,
            seconds: 0.0,
        },
    })
}

fn fresh_dir(dir: &Path) -> Result<(), BenchError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| BenchError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    std::fs::create_dir_all(dir).map_err(|source| BenchError::Io {
        path: dir.to_path_buf(),
        source,
    })
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

/// Trains one arm × seed from the shared warm-up and evaluates it on the schedule.
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
        records.push(r.metrics.to_map());
        if step.is_multiple_of(config.eval_every) || step == steps {
            let p = evaluate(&trainer, rollouts)?;
            log(&format!(
                "  {:<22} seed {seed}  step {step:>4}  pass@1 {:.3}  cons@k {:.3}",
                arm.name, p.pass_at_1, p.cons_at_k
            ));
            evals.push(p);
        }
    }
    Ok(RunResult {
        arm: arm.name.clone(),
        seed,
        evals,
        steps: records,
        train_seconds,
        eval_seconds,
    })
}

/// Runs the whole comparison sequentially: the shared warm-up, then for each seed every
/// arm.
/// Writes nothing but the run directories under `out/runs`; see
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
    std::fs::create_dir_all(out).map_err(|source| BenchError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let warmup = prepare_warmup(config, out, log)?;
    let mut runs = Vec::new();
    let total = config.arms.len() * config.seeds.len();
    // Seed-major order: on a shared machine the load drifts, and interleaving the arms
    // spreads that drift over all of them instead of penalising the last arm's timings.
    for &seed in &config.seeds {
        for arm in &config.arms {
            log(&format!(
                "run {}/{total}: {} seed {seed} (elapsed {:.0}s)",
                runs.len() + 1,
                arm.name,
                start.elapsed().as_secs_f64()
            ));
            runs.push(run_one(config, arm, seed, &warmup, out, log)?);
        }
    }
    machine.load_end = load_average();
    Ok(CompareResults {
        config: config.clone(),
        warmup,
        machine,
        command: command.to_string(),
        runs,
        total_seconds: start.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_key_follows_warmup_inputs_only() {
        let a = CompareConfig::quick();
        let mut b = a.clone();
        b.base.optim.lr *= 2.0; // RL settings do not change the warm-up
        b.base.algorithm = Algorithm::Gspo;
        b.seeds = vec![7];
        assert_eq!(a.warmup_key(), b.warmup_key());
        let mut c = a.clone();
        c.base.warmup.lr *= 2.0;
        assert_ne!(a.warmup_key(), c.warmup_key());
        let mut d = a.clone();
        d.base.task.arithmetic.train_per_level += 1;
        assert_ne!(a.warmup_key(), d.warmup_key());
        let mut e = a.clone();
        e.warmup_seed = 1;
        assert_ne!(a.warmup_key(), e.warmup_key());
        assert_ne!(a.warmup_path(Path::new("o")), e.warmup_path(Path::new("o")));
    }

    #[test]
    fn presets_and_sweeps_are_valid_and_equal_budget() {
        for c in [CompareConfig::quick(), CompareConfig::full()] {
            c.validate().unwrap();
            assert_eq!(c.arms.len(), 6);
            assert!(c.seeds.len() >= 3);
            assert_eq!(c.base.alloc_config().n_fixed, c.base.n_fixed);
        }
        let l = sweep_arms(Sweep::Lambda, true);
        assert_eq!(l.len(), 1 + 3);
        assert_eq!(l[0].algorithm, Algorithm::Grpo);
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
    fn run_dir_names_are_path_safe() {
        assert_eq!(run_dir_name("xrpo λ=0.5", 2), "xrpo---0.5-seed2");
        assert_eq!(run_dir_name("xrpo_no_seed", 0), "xrpo_no_seed-seed0");
    }
}
