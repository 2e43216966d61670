//! [`Trainer`]: construction, one step, checkpoints, resume.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use xrpo_advantage::{Batch, Group};
use xrpo_alloc::{AllocatorState, StepRun};
use xrpo_reward::{Outcome, Verifier};
use xrpo_seed::{PromptId, Provenance};

use crate::model::Policy;
use crate::optim::{AdamW, LrSchedule, clip_grad_norm};
use crate::sampler::{self, FinishReason, StopCondition};
use crate::task::{Problem, SplitMix64, TaskSet, arithmetic, jsonl, word_problems};
use crate::tokenizer::TextTokenizer;
use crate::weights::{self, ModelSource};

use super::components::Components;
use super::config::{SeededUpdateContext, TaskKind, TrainConfig};
use super::run_dir::RunDir;
use super::{EvalReport, TrainError};

/// What one step produced: its metrics (one `metrics.jsonl` line) and a few samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based step number (updates done after this step).
    pub step: u64,
    /// Metric name → value (TRL names, `alloc/*`, `seed/*`, `time/*`).
    pub metrics: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointState {
    version: u32,
    step: u64,
    data_pos: u64,
    algorithm: String,
    allocator: AllocatorState,
    seeder: serde_json::Value,
}

/// One sampled response of a step.
struct Rollout {
    prompt: usize,
    context: Vec<u32>,
    tokens: Vec<u32>,
    policy_logprobs: Vec<f32>,
    text: String,
    reward: Option<f32>,
    correct: bool,
    extracted: Option<String>,
    seeded: bool,
    finish: FinishReason,
}

/// Mixes a seed with stream identifiers (SplitMix64 finaliser), for per-step RNGs.
pub(crate) fn mix_seed(seed: u64, a: u64, b: u64) -> u64 {
    let mut r = SplitMix64::new(seed ^ a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b.rotate_left(32));
    r.next_u64()
}

/// The complete trainer: policy, tokenizer, task, components, optimiser, run directory.
pub struct Trainer {
    pub(crate) config: TrainConfig,
    pub(crate) run_dir: RunDir,
    pub(crate) policy: Policy,
    pub(crate) tokenizer: Box<dyn TextTokenizer>,
    pub(crate) reference: Option<Policy>,
    pub(crate) task: TaskSet,
    pub(crate) components: Components,
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

/// Builds the task a config names.
pub fn build_task(config: &TrainConfig) -> Result<TaskSet, TrainError> {
    Ok(match config.task.kind {
        TaskKind::Arithmetic => arithmetic::generate(&config.task.arithmetic, config.seed)?,
        TaskKind::WordProblems => word_problems::generate(&config.task.word_problems, config.seed)?,
        TaskKind::Jsonl => {
            let train = config
                .task
                .train_file
                .as_deref()
                .ok_or_else(|| TrainError::Config {
                    key: "task.train_file".into(),
                    message: "required for task.kind = \"jsonl\"".into(),
                })?;
            jsonl::load_task(
                train,
                config.task.eval_file.as_deref(),
                config.task.eval_share,
            )?
        }
    })
}

impl Trainer {
    /// A fresh run in `out`: validates the config, loads the model, builds the task and
    /// the components the algorithm names, and writes `config.json`.
    pub fn new(config: TrainConfig, out: &Path) -> Result<Self, TrainError> {
        config.validate()?;
        let task = build_task(&config)?;
        let components = Components::from_config(&config, &task.eval)?;
        let trainer = Self::with_components(config, out, task, components)?;
        let json = serde_json::to_string_pretty(&trainer.config)
            .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        trainer
            .run_dir
            .write_atomic("config.json", json.as_bytes())?;
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
        let task = build_task(&config)?;
        let components = Components::from_config(&config, &task.eval)?;
        let mut trainer = Self::with_components(config, dir, task, components)?;
        let ckpt = trainer.run_dir.latest_checkpoint()?;
        trainer.load_checkpoint(&ckpt)?;
        trainer.run_dir.truncate_metrics(trainer.step)?;
        let json = serde_json::to_string_pretty(&trainer.config)
            .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        trainer
            .run_dir
            .write_atomic("config.json", json.as_bytes())?;
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
            let dir = RunDir::create(path)?;
            (path.to_path_buf(), dir.latest_checkpoint()?)
        };
        let mut config = TrainConfig::from_file(&run.join("config.json"))?;
        config.apply_overrides(overrides)?;
        config.validate()?;
        let task = build_task(&config)?;
        let components = Components::from_config(&config, &task.eval)?;
        let mut trainer = Self::with_components(config, &run, task, components)?;
        trainer
            .policy
            .load_safetensors(&ckpt.join("model.safetensors"))?;
        let state: CheckpointState = serde_json::from_str(
            &std::fs::read_to_string(ckpt.join("state.json")).map_err(|source| TrainError::Io {
                path: ckpt.join("state.json"),
                source,
            })?,
        )
        .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        trainer.step = state.step;
        Ok(trainer)
    }

    /// Every step record in the run's `metrics.jsonl` (all of them, across resumes).
    pub fn metrics_history(&self) -> Result<Vec<StepRecord>, TrainError> {
        let path = self.run_dir.path("metrics.jsonl");
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
                .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
            let step = v.get("step").and_then(|s| s.as_u64()).unwrap_or(0);
            let metrics = v
                .iter()
                .filter(|(k, _)| k.as_str() != "step")
                .map(|(k, x)| (k.clone(), x.as_f64().unwrap_or(f64::NAN)))
                .collect();
            out.push(StepRecord { step, metrics });
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
    /// One-line description of the model.
    pub fn model_description(&self) -> &str {
        &self.model_description
    }

    /// Token ids of a prompt text: the chat template when the model has one, BOS first
    /// when it expects one.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>, TrainError> {
        let rendered = self.tokenizer.apply_chat_template(text);
        let mut ids = Vec::new();
        if let Some(bos) = self.tokenizer.bos_id() {
            ids.push(bos);
        }
        ids.extend(self.tokenizer.encode(&rendered)?);
        Ok(ids)
    }

    pub(crate) fn stop_condition(&self) -> StopCondition {
        StopCondition {
            eos_ids: self.tokenizer.eos_ids().to_vec(),
            stop_strings: if self.tokenizer.is_chat() {
                Vec::new()
            } else {
                vec!["\n".to_string()]
            },
        }
    }

    pub(crate) fn decode(&self, ids: &[u32]) -> String {
        self.tokenizer.decode(ids).unwrap_or_default()
    }

    /// Index into `task.train` of the prompt at data position `pos`: epochs of a
    /// seed-determined permutation.
    fn prompt_at(&self, pos: u64) -> usize {
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

    /// Runs one training step and appends its metrics line. Returns the record.
    pub fn train_step(&mut self) -> Result<StepRecord, TrainError> {
        let t_step = Instant::now();
        let (mut t_gen, mut t_verify, mut t_alloc) = (0.0f64, 0.0f64, 0.0f64);
        let q_count = self.config.prompts_per_step;
        let batch: Vec<usize> = (0..q_count as u64)
            .map(|i| self.prompt_at(self.data_pos + i))
            .collect();
        let problems: Vec<Problem> = batch.iter().map(|&i| self.task.train[i].clone()).collect();
        let mut contexts: Vec<Vec<u32>> = problems
            .iter()
            .map(|p| self.encode_prompt(&p.prompt))
            .collect::<Result<_, _>>()?;
        // The zero-shot contexts, kept only where seeded rollouts are scored on them.
        let plain_contexts = (self.config.seeded_update_context == SeededUpdateContext::Plain)
            .then(|| contexts.clone());
        let mut seeded = vec![false; q_count];
        let mut seeded_solved = vec![false; q_count];
        let mut seed_attempts = 0usize;
        let stop = self.stop_condition();
        let plan = self.components.allocator.plan();
        let phases = plan.phases();
        let mut run = StepRun::new(plan, q_count)?;
        let mut rollouts: Vec<Rollout> = Vec::new();
        let mut phase_rollouts: Vec<usize> = Vec::new();
        loop {
            let t0 = Instant::now();
            let Some(phase) = run.next_phase(self.components.allocator.as_mut())? else {
                t_alloc += t0.elapsed().as_secs_f64();
                break;
            };
            t_alloc += t0.elapsed().as_secs_f64();
            let mut owners = Vec::new();
            let mut prompts = Vec::new();
            for (q, &k) in phase.rollouts.iter().enumerate() {
                for _ in 0..k {
                    owners.push(q);
                    prompts.push(contexts[q].clone());
                }
            }
            phase_rollouts.push(owners.len());
            let t0 = Instant::now();
            let mut rng = StdRng::seed_from_u64(mix_seed(
                self.config.seed,
                self.step + 1,
                phase.number as u64,
            ));
            let decode = |ids: &[u32]| self.decode(ids);
            let completions = if prompts.is_empty() {
                Vec::new()
            } else {
                sampler::generate(
                    &self.policy,
                    &prompts,
                    &self.config.sampling,
                    &stop,
                    Some(&decode),
                    &mut rng,
                )?
            };
            t_gen += t0.elapsed().as_secs_f64();
            let t0 = Instant::now();
            let texts: Vec<String> = completions.iter().map(|c| self.decode(&c.tokens)).collect();
            let items: Vec<(&str, &xrpo_reward::Reference)> = texts
                .iter()
                .zip(&owners)
                .map(|(t, &q)| (t.as_str(), &problems[q].reference))
                .collect();
            let verdicts = self.components.verifier.verify_batch(&items);
            t_verify += t0.elapsed().as_secs_f64();
            for (((c, text), verdict), (&q, ctx)) in completions
                .into_iter()
                .zip(texts)
                .zip(verdicts)
                .zip(owners.iter().zip(prompts))
            {
                let verdict = verdict?;
                let reward = (verdict.outcome != Outcome::Unverifiable).then_some(verdict.reward);
                run.record(q, reward.map(f64::from))?;
                let correct = verdict.correct();
                if correct {
                    if seeded[q] {
                        seeded_solved[q] = true;
                    }
                    self.components.seeder.record(
                        &PromptId::from(problems[q].id.as_str()),
                        &problems[q].prompt,
                        text.trim(),
                        Provenance::Training {
                            step: self.step + 1,
                        },
                    )?;
                }
                rollouts.push(Rollout {
                    prompt: q,
                    context: ctx,
                    tokens: c.tokens,
                    policy_logprobs: c.policy_logprobs,
                    text,
                    reward,
                    correct,
                    extracted: verdict.extracted,
                    seeded: seeded[q],
                    finish: c.finish,
                });
            }
            // Seed the groups that are all wrong so far, for the later phases.
            if phase.number < phases {
                let t0 = Instant::now();
                for q in 0..q_count {
                    let s = &run.stats()[q];
                    let all_wrong = s.count() > 0 && s.mean() == 0.0;
                    if all_wrong && !seeded[q] {
                        seed_attempts += 1;
                        if let Some(sp) = self.components.seeder.seed(
                            &PromptId::from(problems[q].id.as_str()),
                            &problems[q].prompt,
                        )? {
                            contexts[q] = self.encode_prompt(&sp.text)?;
                            seeded[q] = true;
                        }
                    }
                }
                t_alloc += t0.elapsed().as_secs_f64();
            }
        }

        // Advantages over groups (one per prompt, seeded and plain rollouts together).
        rollouts.sort_by_key(|r| r.prompt);
        let mut groups = Vec::with_capacity(q_count);
        for q in 0..q_count {
            let members: Vec<&Rollout> = rollouts.iter().filter(|r| r.prompt == q).collect();
            if members.is_empty() {
                continue;
            }
            let rewards = members.iter().map(|r| r.reward).collect();
            let seq_lp = members
                .iter()
                .map(|r| {
                    let n = r.policy_logprobs.len().max(1) as f32;
                    r.policy_logprobs.iter().sum::<f32>() / n
                })
                .collect();
            groups.push(Group::new(rewards)?.with_seq_logprob(seq_lp)?);
        }
        let batch_adv = Batch::from_groups(&groups)?;
        let shaped = self.components.shaper.shape(&batch_adv)?;
        let advantages: Vec<f32> = shaped.advantages.to_vec();

        // Policy update: on-policy single update, π_old = π_θ detached.
        let t0 = Instant::now();
        // A seeded rollout is scored on the context it was sampled from (on-policy, the
        // spec's default) or, with `seeded_update_context = "plain"`, on its prompt alone.
        let ctx: Vec<Vec<u32>> = rollouts
            .iter()
            .map(|r| match (&plain_contexts, r.seeded) {
                (Some(plain), true) => plain[r.prompt].clone(),
                _ => r.context.clone(),
            })
            .collect();
        let comps: Vec<Vec<u32>> = rollouts.iter().map(|r| r.tokens.clone()).collect();
        let micro = self.config.micro_batch;
        let reference = match &self.reference {
            Some(r) => Some(super::update::detached_rows(r, &ctx, &comps, micro)?),
            None => None,
        };
        let update = super::update::policy_gradient(
            &self.policy,
            self.components.loss.as_ref(),
            &ctx,
            &comps,
            &advantages,
            reference.as_deref(),
            micro,
        )?;
        // Agreement of the training forward with the sampler's log-probs (verl's
        // `rollout_probs_diff`): a large value means the two paths disagree.
        let (mut diff_sum, mut diff_n) = (0.0f64, 0usize);
        for (row, r) in update.old_rows.iter().zip(&rollouts) {
            for (a, b) in row.iter().zip(&r.policy_logprobs) {
                diff_sum += (a - b).abs() as f64;
                diff_n += 1;
            }
        }
        let mut grads = update.grads;
        let vars = self.optimizer.vars();
        let norm = clip_grad_norm(&mut grads, &vars, self.config.optim.max_grad_norm)?;
        let lr = self.schedule.lr_at(self.step);
        self.optimizer.step(&grads, lr)?;
        let t_update = t0.elapsed().as_secs_f64();

        self.step += 1;
        self.data_pos += q_count as u64;

        // Metrics.
        let mut m = BTreeMap::new();
        let scored: Vec<f64> = rollouts
            .iter()
            .filter_map(|r| r.reward.map(f64::from))
            .collect();
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        m.insert("reward".into(), mean(&scored));
        let stats = run.stats();
        let stds: Vec<f64> = stats
            .iter()
            .map(|s| s.sample_std().unwrap_or(0.0))
            .collect();
        m.insert("reward_std".into(), mean(&stds));
        m.insert(
            "frac_reward_zero_std".into(),
            shaped.stats.frac_reward_zero_std(),
        );
        let lengths: Vec<f64> = rollouts.iter().map(|r| r.tokens.len() as f64).collect();
        m.insert("completions/mean_length".into(), mean(&lengths));
        m.insert(
            "completions/clipped_ratio".into(),
            rollouts
                .iter()
                .filter(|r| r.finish == FinishReason::Length)
                .count() as f64
                / rollouts.len().max(1) as f64,
        );
        m.insert("clip_ratio/low_mean".into(), update.stats.clip_low);
        m.insert("clip_ratio/high_mean".into(), update.stats.clip_high);
        m.insert("clip_ratio/region_mean".into(), update.stats.clip_region);
        m.insert("kl".into(), update.stats.kl);
        // Monte-Carlo entropy estimate: mean −log π of the sampled tokens.
        let all_lp: Vec<f64> = rollouts
            .iter()
            .flat_map(|r| r.policy_logprobs.iter().map(|&x| -(x as f64)))
            .collect();
        m.insert("entropy".into(), mean(&all_lp));
        m.insert("num_tokens".into(), lengths.iter().sum());
        m.insert("loss".into(), update.loss);
        m.insert("logprob_diff".into(), diff_sum / diff_n.max(1) as f64);
        m.insert("grad_norm".into(), norm.pre_clip);
        m.insert("learning_rate".into(), lr);
        let per_prompt: Vec<f64> = stats.iter().map(|s| s.rollouts() as f64).collect();
        m.insert("alloc/rollouts".into(), per_prompt.iter().sum());
        m.insert("alloc/rollouts_per_prompt_mean".into(), mean(&per_prompt));
        m.insert(
            "alloc/rollouts_per_prompt_max".into(),
            per_prompt.iter().cloned().fold(0.0, f64::max),
        );
        m.insert(
            "alloc/rollouts_per_prompt_min".into(),
            per_prompt.iter().cloned().fold(f64::INFINITY, f64::min),
        );
        m.insert(
            "alloc/phase1_rollouts".into(),
            phase_rollouts.first().copied().unwrap_or(0) as f64,
        );
        let n_seeded = seeded.iter().filter(|&&s| s).count();
        m.insert("seed/attempts".into(), seed_attempts as f64);
        m.insert("seed/seeded_prompts".into(), n_seeded as f64);
        m.insert("seed/seeded_share".into(), n_seeded as f64 / q_count as f64);
        m.insert(
            "seed/flipped".into(),
            seeded_solved.iter().filter(|&&s| s).count() as f64,
        );
        m.insert(
            "seed/seeded_rollouts".into(),
            rollouts.iter().filter(|r| r.seeded).count() as f64,
        );
        m.insert(
            "seed/bank_size".into(),
            self.components.seeder.bank_len() as f64,
        );
        // The shaper's own counters (`advantage/*`); `frac_reward_zero_std` is already in.
        for (k, v) in shaped.stats.metrics() {
            m.entry(k.to_string()).or_insert(v);
        }
        m.insert("time/generate".into(), t_gen);
        m.insert("time/verify".into(), t_verify);
        m.insert("time/allocate".into(), t_alloc);
        m.insert("time/update".into(), t_update);
        m.insert("time/step".into(), t_step.elapsed().as_secs_f64());
        let record = StepRecord {
            step: self.step,
            metrics: m,
        };
        let mut line = serde_json::Map::new();
        line.insert("step".into(), self.step.into());
        for (k, v) in &record.metrics {
            line.insert(
                k.clone(),
                serde_json::Number::from_f64(*v)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null),
            );
        }
        self.run_dir.append_line(
            "metrics.jsonl",
            &serde_json::Value::Object(line).to_string(),
        )?;
        for r in rollouts.iter().take(self.config.samples_per_step) {
            let p = &problems[r.prompt];
            let sample = serde_json::json!({
                "step": self.step,
                "id": p.id,
                "prompt": p.prompt,
                "seeded": r.seeded,
                "completion": r.text,
                "extracted": r.extracted,
                "gold": p.answer,
                "reward": r.reward,
                "correct": r.correct,
            });
            self.run_dir
                .append_line("samples.jsonl", &sample.to_string())?;
        }
        Ok(record)
    }

    /// Writes a checkpoint of the current state (weights, optimiser, allocator, seeder,
    /// data position) atomically and returns its directory.
    pub fn save_checkpoint(&self) -> Result<std::path::PathBuf, TrainError> {
        let tmp = self
            .run_dir
            .root()
            .join("checkpoints")
            .join(format!(".tmp-step-{:06}", self.step));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|source| TrainError::Io {
                path: tmp.clone(),
                source,
            })?;
        }
        std::fs::create_dir_all(&tmp).map_err(|source| TrainError::Io {
            path: tmp.clone(),
            source,
        })?;
        self.policy
            .save_safetensors(&tmp.join("model.safetensors"))?;
        self.optimizer.save(&tmp.join("optimizer.safetensors"))?;
        let state = CheckpointState {
            version: 1,
            step: self.step,
            data_pos: self.data_pos,
            algorithm: self.config.algorithm.name().to_string(),
            allocator: self.components.allocator.state(),
            seeder: self.components.seeder.save_state()?,
        };
        let json = serde_json::to_vec(&state).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        std::fs::write(tmp.join("state.json"), json).map_err(|source| TrainError::Io {
            path: tmp.join("state.json"),
            source,
        })?;
        self.run_dir.publish_checkpoint(&tmp, self.step)
    }

    /// Restores the state written by [`Trainer::save_checkpoint`].
    pub fn load_checkpoint(&mut self, dir: &Path) -> Result<(), TrainError> {
        let text =
            std::fs::read_to_string(dir.join("state.json")).map_err(|source| TrainError::Io {
                path: dir.join("state.json"),
                source,
            })?;
        let state: CheckpointState = serde_json::from_str(&text)
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", dir.display())))?;
        if state.algorithm != self.config.algorithm.name() {
            return Err(TrainError::Checkpoint(format!(
                "checkpoint is from algorithm `{}`, config says `{}`",
                state.algorithm,
                self.config.algorithm.name()
            )));
        }
        self.policy
            .load_safetensors(&dir.join("model.safetensors"))?;
        self.optimizer.load(&dir.join("optimizer.safetensors"))?;
        self.components.allocator.restore(&state.allocator)?;
        self.components.seeder.load_state(state.seeder)?;
        self.step = state.step;
        self.data_pos = state.data_pos;
        Ok(())
    }

    /// Runs steps until `until` steps are done (at most `config.steps`), checkpointing
    /// every `checkpoint_every` steps and at the end; `on_step` sees every record.
    pub fn run_steps(
        &mut self,
        until: u64,
        on_step: &mut dyn FnMut(&StepRecord),
    ) -> Result<(), TrainError> {
        let until = until.min(self.config.steps);
        while self.step < until {
            let record = self.train_step()?;
            on_step(&record);
            let every = self.config.checkpoint_every;
            if every > 0 && self.step.is_multiple_of(every) && self.step < until {
                self.save_checkpoint()?;
            }
        }
        self.save_checkpoint()?;
        Ok(())
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
