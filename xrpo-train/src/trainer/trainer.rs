//! [`Trainer`]: construction (fresh, resumed, opened for evaluation), accessors, the
//! data order, and the loop of steps with its checkpoints and interrupt handling.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use xrpo_reward::Verifier;

use crate::model::Policy;
use crate::optim::{AdamW, LrSchedule};
use crate::rng::{SplitMix64, mix_seed};
use crate::task::{TaskSet, TaskUse, build_task};
use crate::tokenizer::TextTokenizer;
use crate::weights::{self, ModelSource};

use super::components::Components;
use super::config::TrainConfig;
use super::metrics::StepRecord;
use super::rollouts::{AllWrongSoFar, SeedTrigger};
use super::run_dir::RunDir;
use super::{EvalReport, TrainError};

/// The complete trainer: policy, tokenizer, task, components, optimiser, run directory.
pub struct Trainer {
    pub(crate) config: TrainConfig,
    pub(crate) run_dir: RunDir,
    pub(crate) policy: Policy,
    pub(crate) tokenizer: Box<dyn TextTokenizer>,
    pub(crate) reference: Option<Policy>,
    pub(crate) task: TaskSet,
    pub(crate) components: Components,
    pub(crate) trigger: Box<dyn SeedTrigger>,
    pub(crate) optimizer: AdamW,
    pub(crate) schedule: LrSchedule,
    pub(crate) step: u64,
    pub(crate) data_pos: u64,
    pub(crate) model_description: String,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("step", &self.step)
            .field("model", &self.model_description)
            .field("components", &self.components)
            .finish_non_exhaustive()
    }
}

impl Trainer {
    /// A fresh run in `out`: validates the config, loads the model, builds the task and
    /// the components the algorithm names, and writes `config.json`.
    pub fn new(config: TrainConfig, out: &Path) -> Result<Self, TrainError> {
        config.validate()?;
        let task = build_task(&config.task, config.seed, TaskUse::Train)?;
        let components = Components::from_config(&config, &task)?;
        let trainer = Self::with_components(config, out, task, components)?;
        trainer.write_config()?;
        Ok(trainer)
    }

    /// A run with user-supplied components (any allocator, seeder, verifier, shaper,
    /// loss) and task.
    pub fn with_components(
        config: TrainConfig,
        out: &Path,
        task: TaskSet,
        components: Components,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        let run_dir = RunDir::create(out)?;
        let source: ModelSource = config.model.parse()?;
        let device = crate::device::parse(&config.device).map_err(|e| TrainError::Config {
            key: "device".into(),
            message: e.to_string(),
        })?;
        let loaded = weights::load(&source, &device, config.seed)?;
        let policy = loaded.policy;
        let reference = if config.loss.kl.beta > 0.0 {
            Some(policy.snapshot()?)
        } else {
            None
        };
        let optimizer = AdamW::new(policy.named_vars(), config.optim.adamw)?;
        let schedule = LrSchedule {
            peak_lr: config.optim.lr,
            warmup_steps: config.optim.warmup_steps,
            total_steps: config.optim.schedule_steps.unwrap_or(config.steps),
            min_lr_ratio: config.optim.min_lr_ratio,
        };
        schedule.validate()?;
        Ok(Self {
            config,
            run_dir,
            policy,
            tokenizer: loaded.tokenizer,
            reference,
            task,
            components,
            trigger: Box::new(AllWrongSoFar),
            optimizer,
            schedule,
            step: 0,
            data_pos: 0,
            model_description: loaded.description,
        })
    }

    /// Reopens the run in `dir` at its latest checkpoint. `steps` (if given) replaces the
    /// configured total number of steps.
    pub fn resume(dir: &Path, steps: Option<u64>) -> Result<Self, TrainError> {
        Self::resume_on(dir, steps, None)
    }

    /// [`Trainer::resume`] on another device than the run's (`cpu`, `cuda`, `cuda:N`): a
    /// run started on a GPU can go on on the CPU and back. The checkpoint is the same.
    pub fn resume_on(
        dir: &Path,
        steps: Option<u64>,
        device: Option<&str>,
    ) -> Result<Self, TrainError> {
        let mut config = TrainConfig::from_file(&dir.join("config.json"))?;
        if let Some(d) = device {
            config.device = d.to_string();
        }
        if let Some(s) = steps {
            // Keep the LR horizon of the original run unless it was open-ended.
            if config.optim.schedule_steps.is_none() {
                config.optim.schedule_steps = Some(config.steps);
            }
            config.steps = s;
        }
        let task = build_task(&config.task, config.seed, TaskUse::Train)?;
        let components = Components::from_config(&config, &task)?;
        let mut trainer = Self::with_components(config, dir, task, components)?;
        // A run killed before its first checkpoint starts over in its own directory
        // (steps done: 0), so `--resume` is right in every state of a run directory.
        if let Some(ckpt) = trainer.run_dir.resumable_checkpoint()? {
            trainer.load_checkpoint(&ckpt)?;
        }
        trainer.run_dir.truncate_metrics(trainer.step)?;
        trainer.write_config()?;
        Ok(trainer)
    }

    /// Opens a run directory or one of its checkpoint directories for evaluation: the
    /// run's config with `overrides` applied, weights of that checkpoint (the latest for a
    /// run directory). Nothing in the directory is changed.
    pub fn open_checkpoint(path: &Path, overrides: &[String]) -> Result<Self, TrainError> {
        let (run, ckpt) = if path.join("state.json").is_file() {
            let run = path.parent().and_then(Path::parent).ok_or_else(|| {
                TrainError::Checkpoint(format!("{} has no run directory", path.display()))
            })?;
            (run.to_path_buf(), path.to_path_buf())
        } else {
            let config = path.join("config.json");
            if !config.is_file() {
                return Err(TrainError::Checkpoint(format!(
                    "{} is neither a run directory (no config.json) nor a checkpoint (no \
                     state.json)",
                    path.display()
                )));
            }
            let dir = RunDir::open(path);
            (path.to_path_buf(), dir.latest_checkpoint()?)
        };
        let mut config = TrainConfig::from_file(&run.join("config.json"))?;
        config.apply_overrides(overrides)?;
        config.validate()?;
        let task = build_task(&config.task, config.seed, TaskUse::Eval)?;
        let components = Components::from_config(&config, &task)?;
        let mut trainer = Self::with_components(config, &run, task, components)?;
        trainer
            .policy
            .load_safetensors(&ckpt.join("model.safetensors"))?;
        trainer.step = super::checkpoint::read_state(&ckpt)?.step;
        Ok(trainer)
    }

    /// Writes the resolved config to the run's `config.json`.
    fn write_config(&self) -> Result<(), TrainError> {
        let json = serde_json::to_string_pretty(&self.config)
            .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        self.run_dir.write_atomic("config.json", json.as_bytes())
    }

    /// Every step record in the run's `metrics.jsonl` (all of them, across resumes).
    pub fn metrics_history(&self) -> Result<Vec<StepRecord>, TrainError> {
        let path = self.run_dir.path("metrics.jsonl");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            out.push(serde_json::from_str(line).map_err(|e| {
                TrainError::Checkpoint(format!("{}:{}: {e}", path.display(), i + 1))
            })?);
        }
        Ok(out)
    }

    /// The resolved config.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }
    /// The run directory.
    pub fn run_dir(&self) -> &RunDir {
        &self.run_dir
    }
    /// The policy being trained.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
    /// The tokenizer.
    pub fn tokenizer(&self) -> &dyn TextTokenizer {
        self.tokenizer.as_ref()
    }
    /// The task.
    pub fn task(&self) -> &TaskSet {
        &self.task
    }
    /// Steps completed.
    pub fn steps_done(&self) -> u64 {
        self.step
    }
    /// Replaces the rule that picks the prompts to seed (default [`AllWrongSoFar`]).
    pub fn set_seed_trigger(&mut self, trigger: Box<dyn SeedTrigger>) {
        self.trigger = trigger;
    }
    /// One-line description of the model.
    pub fn model_description(&self) -> &str {
        &self.model_description
    }

    /// Token ids of a prompt text (see [`TextTokenizer::encode_prompt`]).
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>, TrainError> {
        Ok(self.tokenizer.encode_prompt(text)?)
    }

    pub(crate) fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids).unwrap_or_default()
    }

    /// Index into `task.train` of the prompt at data position `pos`: epochs of a
    /// seed-determined permutation.
    pub(crate) fn prompt_at(&self, pos: u64) -> usize {
        let n = self.task.train.len() as u64;
        let epoch = pos / n;
        let mut order: Vec<usize> = (0..n as usize).collect();
        let mut rng = SplitMix64::new(mix_seed(self.config.seed, 0xda7a, epoch));
        for i in (1..order.len()).rev() {
            let j = rng.range(0, i as i64) as usize;
            order.swap(i, j);
        }
        order[(pos % n) as usize]
    }

    /// Runs steps until `until` steps are done (at most `config.steps`), checkpointing
    /// every `checkpoint_every` steps and at the end; `on_step` sees every record.
    ///
    /// After [`install_interrupt_handler`], a SIGINT or SIGTERM lets the current step
    /// finish, saves a checkpoint and returns [`RunEnd::Interrupted`]; the run goes on
    /// with [`Trainer::resume`].
    pub fn run_steps(
        &mut self,
        until: u64,
        on_step: &mut dyn FnMut(&StepRecord),
    ) -> Result<RunEnd, TrainError> {
        let until = until.min(self.config.steps);
        while self.step < until {
            if interrupt_requested() {
                self.save_checkpoint()?;
                return Ok(RunEnd::Interrupted);
            }
            let record = self.train_step()?;
            on_step(&record);
            let every = self.config.checkpoint_every;
            if every > 0 && self.step.is_multiple_of(every) && self.step < until {
                self.save_checkpoint()?;
            }
        }
        self.save_checkpoint()?;
        Ok(if interrupt_requested() {
            RunEnd::Interrupted
        } else {
            RunEnd::Finished
        })
    }

    /// Evaluates the current policy on the eval split with the config's settings.
    pub fn evaluate(&self) -> Result<EvalReport, TrainError> {
        let problems = super::evaluate::select_eval(&self.task.eval, self.config.eval.prompts);
        super::evaluate::evaluate(
            self,
            &problems,
            self.config.eval.k,
            self.config.eval.temperature,
        )
    }
}

/// How [`Trainer::run_steps`] ended; either way the last state is checkpointed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// The requested steps are done.
    Finished,
    /// A SIGINT/SIGTERM arrived: the current step was finished and saved.
    Interrupted,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether a SIGINT/SIGTERM arrived since [`install_interrupt_handler`].
pub fn interrupt_requested() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

extern "C" fn on_signal(_: libc::c_int) {
    // A second signal means "now": exit at once (only async-signal-safe calls here).
    if INTERRUPTED.swap(true, Ordering::SeqCst) {
        // SAFETY: `_exit` is async-signal-safe and ends the process.
        unsafe { libc::_exit(130) };
    }
}

/// Makes SIGINT and SIGTERM request a clean stop: [`Trainer::run_steps`] finishes the
/// current step, checkpoints and returns [`RunEnd::Interrupted`]. A second signal exits
/// immediately. For binaries; a library embedding the trainer keeps its own handlers.
pub fn install_interrupt_handler() -> Result<(), TrainError> {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` only touches an atomic and calls `_exit`, both
        // async-signal-safe; `signal` itself is safe to call with a valid handler.
        let prev = unsafe { libc::signal(sig, on_signal as *const () as libc::sighandler_t) };
        if prev == libc::SIG_ERR {
            return Err(TrainError::Io {
                path: "<signal handler>".into(),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// Makes `Verifier` usable in equivalence checks of cons@k.
pub(crate) fn equivalent(verifier: &dyn Verifier, a: &str, b: &str) -> bool {
    verifier
        .verify(
            a,
            &xrpo_reward::Reference::Math {
                answer: b.to_string(),
            },
        )
        .is_ok_and(|v| v.correct())
}
