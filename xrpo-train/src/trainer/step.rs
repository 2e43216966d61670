//! One training step, as named stages:
//!
//! 1. **XRPO §1–2 rollouts** ([`collect_rollouts`]): phased allocation, sampling,
//!    verification, in-context seeding.
//! 2. **XRPO §3 advantages**: the [`RolloutBatch`]'s advantage batch through the
//!    configured [`AdvantageShaper`](xrpo_advantage::AdvantageShaper) (group advantages
//!    and novelty sharpening).
//! 3. **host update** (GRPO/GSPO): `num_iterations` (μ) passes over the rollouts in
//!    `steps_per_generation` mini-batches, one clipped policy-gradient update each.
//! 4. **log**: one `metrics.jsonl` line ([`StepMetrics`]) and a few samples.
//!
//! # One context per rollout
//! Each rollout has one *update context*: the context it was sampled from, except a
//! seeded rollout with `seeded_update_context = "plain"` (the default), whose update
//! context is its plain prompt ([`RolloutBatch::update_rows`]). π_old's log-probs, the
//! importance ratio π_θ/π_old and the novelty score (spec §3's sequence mean log-prob)
//! are all taken on that context. Where it is the sampling context the score uses the
//! sampler's log-probs (π_old's own, equal to the training forward's up to the
//! `logprob_diff` metric); where it is not, a forward pass without graph scores the
//! completion on its plain prompt.

use std::time::Instant;

use crate::optim::clip_grad_norm;
use crate::sampler::FinishReason;

use super::TrainError;
use super::metrics::{StepMetrics, StepRecord};
use super::rollouts::{RolloutBatch, UpdateRows, collect_rollouts, mean_logprob};
use super::trainer::Trainer;
use super::update::{detached_rows, policy_gradient};

/// What the host update stage did.
#[derive(Debug, Clone, Default)]
struct UpdateSummary {
    updates: usize,
    loss: f64,
    clip_low: f64,
    clip_high: f64,
    clip_region: f64,
    kl: f64,
    grad_norm: f64,
    learning_rate: f64,
    /// Σ |training forward − sampler| over tokens scored on their sampling context, and
    /// their count.
    logprob_diff: (f64, usize),
    seconds: f64,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

impl Trainer {
    /// Runs one training step and appends its metrics line. Returns the record.
    pub fn train_step(&mut self) -> Result<StepRecord, TrainError> {
        let t_step = Instant::now();
        if self.task.train.is_empty() {
            return Err(TrainError::Config {
                key: "task".into(),
                message: "the task has no train problems (opened for evaluation only?)".into(),
            });
        }
        let problems = (0..self.config.prompts_per_step as u64)
            .map(|i| self.task.train[self.prompt_at(self.data_pos + i)].clone())
            .collect();

        // ---- XRPO §1–2: phased rollouts, verification, in-context seeding ----
        let batch = collect_rollouts(
            &self.policy,
            self.tokenizer.as_ref(),
            &mut self.components,
            self.trigger.as_ref(),
            &self.config.sampling,
            self.config.seed,
            self.step + 1,
            problems,
        )?;
        // Rows of the groups the allocator kept (all of them but under DAPO's filter).
        let rows = batch.update_rows(self.config.seeded_update_context);

        // ---- XRPO §3: group advantages with novelty sharpening ----
        let shaped = if rows.is_empty() {
            // Every group dropped (or none sampled): no advantage, no update.
            xrpo_advantage::Advantages {
                advantages: ndarray::Array1::zeros(0),
                stats: xrpo_advantage::ShapingStats::default(),
            }
        } else {
            let scores = self.sequence_scores(&batch, &rows)?;
            self.components
                .shaper
                .shape(&batch.advantage_batch(&scores)?)?
        };

        // ---- host update: μ passes of clipped policy gradient ----
        let update = self.update_policy(&batch, &rows, &shaped.advantages)?;
        self.step += 1;
        self.data_pos += self.config.prompts_per_step as u64;

        // ---- log ----
        let mut metrics = self.step_metrics(&batch, &shaped.stats, &update);
        metrics.time.update = update.seconds;
        metrics.time.step = t_step.elapsed().as_secs_f64();
        let record = StepRecord {
            step: self.step,
            metrics,
        };
        self.log_step(&record, &batch)?;
        Ok(record)
    }

    /// Spec §3's sequence score of every rollout (mean log-prob under π_old) on its
    /// update context: the sampler's where that is the sampling context, a forward pass
    /// without graph where it is not (see the module docs).
    fn sequence_scores(
        &self,
        batch: &RolloutBatch,
        rows: &UpdateRows,
    ) -> Result<Vec<f32>, TrainError> {
        let mut scores: Vec<f32> = batch
            .trained_rollouts()
            .map(|r| mean_logprob(&r.sampler_logprobs))
            .collect();
        let rescored: Vec<usize> = (0..rows.len()).filter(|&i| rows.rescored[i]).collect();
        if !rescored.is_empty() {
            let ctx: Vec<Vec<u32>> = rescored.iter().map(|&i| rows.contexts[i].clone()).collect();
            let comps: Vec<Vec<u32>> = rescored
                .iter()
                .map(|&i| rows.completions[i].clone())
                .collect();
            let lp = detached_rows(&self.policy, &ctx, &comps, self.config.micro_batch)?;
            for (&i, row) in rescored.iter().zip(&lp) {
                scores[i] = mean_logprob(row);
            }
        }
        Ok(scores)
    }

    /// The host update: `num_iterations` passes, each over `steps_per_generation`
    /// contiguous mini-batches, one optimizer update per mini-batch. π_old is stored
    /// before the first update unless the step makes a single update (then π_old = π_θ
    /// detached inside the loss, the same values without a second forward pass). The
    /// learning rate is the schedule's value for this step for every inner update.
    fn update_policy(
        &mut self,
        batch: &RolloutBatch,
        rows: &UpdateRows,
        advantages: &ndarray::Array1<f32>,
    ) -> Result<UpdateSummary, TrainError> {
        let t0 = Instant::now();
        let n = rows.len();
        let lr = self.schedule.lr_at(self.step);
        if n == 0 {
            // Every group dropped: the step makes no update (`updates` = 0).
            return Ok(UpdateSummary {
                learning_rate: lr,
                seconds: t0.elapsed().as_secs_f64(),
                ..UpdateSummary::default()
            });
        }
        let micro = self.config.micro_batch;
        let (epochs, minibatches) = (
            self.config.num_iterations,
            self.config.steps_per_generation.min(n.max(1)),
        );
        let advantages: Vec<f32> = advantages.to_vec();
        let stored_old = if epochs * minibatches > 1 {
            Some(detached_rows(
                &self.policy,
                &rows.contexts,
                &rows.completions,
                micro,
            )?)
        } else {
            None
        };
        let reference = match &self.reference {
            Some(r) => Some(detached_rows(r, &rows.contexts, &rows.completions, micro)?),
            None => None,
        };
        let mut s = UpdateSummary {
            learning_rate: lr,
            ..UpdateSummary::default()
        };
        for epoch in 0..epochs {
            for mb in 0..minibatches {
                let (lo, hi) = (mb * n / minibatches, (mb + 1) * n / minibatches);
                if lo == hi {
                    continue;
                }
                let update = policy_gradient(
                    &self.policy,
                    self.components.loss.as_ref(),
                    &rows.contexts[lo..hi],
                    &rows.completions[lo..hi],
                    &advantages[lo..hi],
                    stored_old.as_ref().map(|o| &o[lo..hi]),
                    reference.as_ref().map(|r| &r[lo..hi]),
                    micro,
                )?;
                if epoch == 0 {
                    // Agreement of the training forward with the sampler's log-probs
                    // (verl's `rollout_probs_diff`), where both score the same context.
                    let sampled = batch.trained_rollouts().skip(lo).take(hi - lo);
                    for ((row, r), &rescored) in update
                        .old_rows
                        .iter()
                        .zip(sampled)
                        .zip(&rows.rescored[lo..hi])
                    {
                        if rescored {
                            continue;
                        }
                        for (a, b) in row.iter().zip(&r.sampler_logprobs) {
                            s.logprob_diff.0 += (a - b).abs() as f64;
                            s.logprob_diff.1 += 1;
                        }
                    }
                }
                let mut grads = update.grads;
                let vars = self.optimizer.vars();
                let norm = clip_grad_norm(&mut grads, &vars, self.config.optim.max_grad_norm)?;
                self.optimizer.step(&grads, lr)?;
                s.updates += 1;
                s.loss += update.loss;
                s.clip_low += update.stats.clip_low;
                s.clip_high += update.stats.clip_high;
                s.clip_region += update.stats.clip_region;
                s.kl += update.stats.kl;
                s.grad_norm += norm.pre_clip;
            }
        }
        let k = s.updates.max(1) as f64;
        for v in [
            &mut s.loss,
            &mut s.clip_low,
            &mut s.clip_high,
            &mut s.clip_region,
            &mut s.kl,
            &mut s.grad_norm,
        ] {
            *v /= k;
        }
        s.seconds = t0.elapsed().as_secs_f64();
        Ok(s)
    }

    /// The step's metrics (all but `time/update` and `time/step`).
    fn step_metrics(
        &self,
        batch: &RolloutBatch,
        shaped: &xrpo_advantage::ShapingStats,
        update: &UpdateSummary,
    ) -> StepMetrics {
        let rollouts: Vec<_> = batch.rollouts().collect();
        let scored: Vec<f64> = rollouts
            .iter()
            .filter_map(|r| r.reward.map(f64::from))
            .collect();
        let stats = batch.stats();
        let stds: Vec<f64> = stats
            .iter()
            .map(|s| s.sample_std().unwrap_or(0.0))
            .collect();
        let lengths: Vec<f64> = rollouts.iter().map(|r| r.tokens.len() as f64).collect();
        // Monte-Carlo entropy estimate: mean −log π of the sampled tokens.
        let neg_lp: Vec<f64> = rollouts
            .iter()
            .flat_map(|r| r.sampler_logprobs.iter().map(|&x| -(x as f64)))
            .collect();
        let per_prompt: Vec<f64> = stats.iter().map(|s| s.rollouts() as f64).collect();
        let q_count = batch.prompts().len();
        let n_seeded = batch
            .prompts()
            .iter()
            .filter(|p| p.seeded.is_some())
            .count();
        let mut flipped = vec![false; q_count];
        for r in &rollouts {
            if r.seeded && r.correct {
                flipped[r.prompt] = true;
            }
        }
        let mut m = StepMetrics {
            reward: mean(&scored),
            reward_std: mean(&stds),
            frac_reward_zero_std: shaped.frac_reward_zero_std(),
            mean_length: mean(&lengths),
            clipped_ratio: rollouts
                .iter()
                .filter(|r| r.finish == FinishReason::Length)
                .count() as f64
                / rollouts.len().max(1) as f64,
            clip_low: update.clip_low,
            clip_high: update.clip_high,
            clip_region: update.clip_region,
            kl: update.kl,
            entropy: mean(&neg_lp),
            num_tokens: lengths.iter().sum(),
            loss: update.loss,
            logprob_diff: update.logprob_diff.0 / update.logprob_diff.1.max(1) as f64,
            grad_norm: update.grad_norm,
            learning_rate: update.learning_rate,
            updates: update.updates as f64,
            ..StepMetrics::default()
        };
        m.alloc.rollouts = per_prompt.iter().sum();
        m.alloc.rollouts_per_prompt_mean = mean(&per_prompt);
        m.alloc.rollouts_per_prompt_max = per_prompt.iter().cloned().fold(0.0, f64::max);
        m.alloc.rollouts_per_prompt_min = per_prompt.iter().cloned().fold(f64::INFINITY, f64::min);
        m.alloc.phase1_rollouts = batch.phase_rollouts().first().copied().unwrap_or(0) as f64;
        m.alloc.dropped_groups = batch.dropped_groups() as f64;
        m.seed.attempts = batch.seed_attempts() as f64;
        m.seed.seeded_prompts = n_seeded as f64;
        m.seed.seeded_share = n_seeded as f64 / q_count.max(1) as f64;
        m.seed.flipped = flipped.iter().filter(|&&f| f).count() as f64;
        m.seed.seeded_rollouts = rollouts.iter().filter(|r| r.seeded).count() as f64;
        m.seed.bank_size = self.components.seeder.exemplar_count() as f64;
        // The shaper's own counters (`advantage/*`); `frac_reward_zero_std` is a field.
        for (k, v) in shaped.metrics() {
            if k != "frac_reward_zero_std" {
                m.other.insert(k.to_string(), Some(v));
            }
        }
        let t = batch.times();
        m.time.generate = t.generate;
        m.time.verify = t.verify;
        m.time.allocate = t.allocate;
        m
    }

    /// Appends the step's `metrics.jsonl` line and its first `samples_per_step` samples.
    fn log_step(&self, record: &StepRecord, batch: &RolloutBatch) -> Result<(), TrainError> {
        let line =
            serde_json::to_string(record).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        self.run_dir.append_line("metrics.jsonl", &line)?;
        for r in batch.rollouts().take(self.config.samples_per_step) {
            let p = &batch.prompts()[r.prompt].problem;
            let sample = serde_json::json!({
                "step": record.step,
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
        Ok(())
    }
}
