//! Supervised warm-up on gold solutions, so RL starts from partial success.

use std::time::Instant;

use crate::optim::{AdamW, AdamWConfig, clip_grad_norm};
use crate::task::{Problem, SplitMix64, arithmetic};

use super::TrainError;
use super::config::TaskKind;
use super::step::{Trainer, mix_seed};

/// What the warm-up did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WarmupReport {
    /// Whether the weights came from the cache instead of training.
    pub cached: bool,
    /// Updates run.
    pub steps: u64,
    /// Mean token negative log-likelihood over the last 10 % of updates.
    pub final_nll: f64,
    /// Seconds spent.
    pub seconds: f64,
}

impl Trainer {
    /// Runs (or loads from cache) the supervised warm-up; `None` when disabled or the
    /// task has no gold solutions. `on_step(i, nll)` sees each update.
    pub fn warmup(
        &mut self,
        on_step: &mut dyn FnMut(u64, f64),
    ) -> Result<Option<WarmupReport>, TrainError> {
        let cfg = self.config.warmup.clone();
        if cfg.steps == 0 {
            return Ok(None);
        }
        let pool: Vec<Problem> = match self.config.task.kind {
            TaskKind::Arithmetic => {
                arithmetic::warmup_problems(&self.task, &self.config.task.arithmetic)
                    .into_iter()
                    .cloned()
                    .collect()
            }
            _ => self
                .task
                .train
                .iter()
                .filter(|p| p.solution.is_some())
                .cloned()
                .collect(),
        };
        if pool.is_empty() {
            return Ok(None);
        }
        let cache = cfg
            .cache
            .clone()
            .unwrap_or_else(|| self.run_dir.path("warmup.safetensors"));
        let start = Instant::now();
        if cache.is_file() {
            self.policy.load_safetensors(&cache)?;
            return Ok(Some(WarmupReport {
                cached: true,
                steps: 0,
                final_nll: f64::NAN,
                seconds: start.elapsed().as_secs_f64(),
            }));
        }
        let eos = self.tokenizer.eos_ids().first().copied();
        let template = self.config.seed_bank.template.clone();
        let k = self.config.seed_bank.k;
        let mut opt = AdamW::new(self.policy.named_vars(), AdamWConfig::default())?;
        let vars = opt.vars();
        let mut rng = SplitMix64::new(mix_seed(self.config.seed, 0x3a4d, 0));
        let tail_from = cfg.steps - (cfg.steps / 10).max(1);
        let (mut tail_sum, mut tail_n) = (0.0, 0usize);
        for s in 0..cfg.steps {
            let mut prompts = Vec::with_capacity(cfg.batch);
            let mut targets = Vec::with_capacity(cfg.batch);
            for _ in 0..cfg.batch {
                let p = &pool[rng.range(0, pool.len() as i64 - 1) as usize];
                // Invariant: the pool only holds problems with a solution.
                let solution = p.solution.as_deref().unwrap_or(&p.answer);
                let text = if rng.unit() < cfg.fewshot_share {
                    // K other solved problems of the same level, as seeding renders them.
                    let mut shots: Vec<(&str, &str)> = Vec::new();
                    for _ in 0..4 * k {
                        if shots.len() >= k {
                            break;
                        }
                        let e = &pool[rng.range(0, pool.len() as i64 - 1) as usize];
                        if e.id != p.id && e.level == p.level {
                            shots.push((&e.prompt, e.solution.as_deref().unwrap_or(&e.answer)));
                        }
                    }
                    template.render(&shots, &p.prompt)
                } else {
                    p.prompt.clone()
                };
                prompts.push(self.encode_prompt(&text)?);
                let mut target = self.tokenizer.encode(solution)?;
                if let Some(e) = eos {
                    target.push(e);
                }
                targets.push(target);
            }
            let tl = self.policy.token_logprobs(&prompts, &targets)?;
            let count = tl.mask.sum_all()?.to_scalar::<f32>()?.max(1.0) as f64;
            let nll = (tl.logprobs.sum_all()?.neg()? / count)?;
            let value = nll.to_scalar::<f32>()? as f64;
            let mut grads = nll.backward()?;
            clip_grad_norm(&mut grads, &vars, 1.0)?;
            opt.step(&grads, cfg.lr)?;
            if s >= tail_from {
                tail_sum += value;
                tail_n += 1;
            }
            on_step(s + 1, value);
        }
        self.policy.save_safetensors(&cache)?;
        Ok(Some(WarmupReport {
            cached: false,
            steps: cfg.steps,
            final_nll: tail_sum / tail_n.max(1) as f64,
            seconds: start.elapsed().as_secs_f64(),
        }))
    }
}
