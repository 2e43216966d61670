//! Supervised warm-up on gold solutions, so RL starts from partial success.
//!
//! A share of the warm-up examples (`warmup.fewshot_share`) is rendered in the seeded
//! format: the K exemplars (`seed_bank.k`) that the trainer's own exemplar bank retrieves
//! for the prompt from the other warm-up problems' gold solutions, laid out by the same
//! template (`seed_bank.template`), then the prompt; the target is still the prompt's own
//! gold solution. Without this the model never sees an exemplar-formatted context and
//! exemplars in front of a prompt only confuse it (XRPO's in-context seeding assumes a
//! policy that can read exemplars, as the paper's LLMs can).
//!
//! On the arithmetic task, a share of those seeded examples
//! (`task.arithmetic.puzzle_share`) are operator-inference puzzles instead
//! ([`crate::task::arithmetic::glyph_puzzle`]): K exemplars and a target sharing a glyph whose
//! operation changes from puzzle to puzzle, rendered by the same template. Reading the
//! exemplars is the only way to get those right, so the model learns to take the rule
//! from them, which the task's level 8 (`a#b=`, `#` defined only by exemplars) needs.
//! The puzzles never use level 8's glyph, so no level-8 text is ever a warm-up target.
//! The rewriting task ([`crate::task::rewrite`]) has the same kind of puzzles
//! (`task.rewrite.puzzle_share`): a glyph whose word procedure only the exemplars show.

use std::time::Instant;

use xrpo_seed::{ExemplarBank, ExemplarSeeder, PromptId, SeedConfig, SeededPrompt};

use crate::optim::{AdamW, AdamWConfig, clip_grad_norm};
use crate::rng::{SplitMix64, mix_seed};
use crate::task::Problem;
use crate::tokenizer::TextTokenizer;

use super::TrainError;
use super::components::{curated_bank, lexical_bank_factory};
use super::trainer::Trainer;

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
    /// Whether a SIGINT/SIGTERM stopped it early (after
    /// [`install_interrupt_handler`](super::install_interrupt_handler)): `steps` updates
    /// ran and nothing was cached, so a resumed run starts the warm-up over.
    #[serde(default)]
    pub interrupted: bool,
}

/// The seeded rendering of each problem of `pool`, in order: the K most similar *other*
/// problems of `pool` (their gold solutions), retrieved by an [`ExemplarBank`] built from
/// `seed_config` exactly as seeding at RL time retrieves and renders them. Texts in
/// `blocked` (the eval prompts) are never stored. `None` where nothing passes the
/// similarity threshold. Retrieval sees prompt texts only (no levels, no answers).
pub fn seeded_warmup_prompts(
    pool: &[Problem],
    blocked: &[Problem],
    seed_config: &SeedConfig,
) -> Result<Vec<Option<SeededPrompt>>, TrainError> {
    let bank = curated_bank(
        &lexical_bank_factory(),
        seed_config.clone(),
        pool,
        blocked,
        "warmup",
    )?;
    seeded_renderings(bank, pool)
}

/// Each problem of `pool` seeded from `bank` (its own entry is never used).
fn seeded_renderings(
    mut bank: ExemplarBank,
    pool: &[Problem],
) -> Result<Vec<Option<SeededPrompt>>, TrainError> {
    pool.iter()
        .map(|p| Ok(bank.seed(&PromptId::from(p.id.as_str()), &p.prompt)?))
        .collect()
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
        let pool: Vec<Problem> = self.config.task.warmup_pool(&self.task);
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
                interrupted: false,
            }));
        }
        let eos = self.tokenizer.eos_ids().first().copied();
        let seeded: Vec<Option<String>> = if cfg.fewshot_share > 0.0 {
            let bank = self.components.curated_bank(
                self.config.seed_bank.clone(),
                &pool,
                &self.task.eval,
                "warmup",
            )?;
            seeded_renderings(bank, &pool)?
                .into_iter()
                .map(|s| s.map(|s| s.text))
                .collect()
        } else {
            vec![None; pool.len()]
        };
        // Rule-inference puzzles (built-in ladders only): a share of the seeded examples.
        let puzzle_share = self.config.task.puzzle_share();
        let template = self.config.seed_bank.template.clone();
        let shots = self.config.seed_bank.k.max(1);
        let mut puzzle_rng = SplitMix64::new(mix_seed(self.config.seed, 0x9a22, 0));
        let mut opt = AdamW::new(self.policy.named_vars(), AdamWConfig::default())?;
        let vars = opt.vars();
        let mut rng = SplitMix64::new(mix_seed(self.config.seed, 0x3a4d, 0));
        let tail_from = cfg.steps - (cfg.steps / 10).max(1);
        let (mut tail_sum, mut tail_n) = (0.0, 0usize);
        for s in 0..cfg.steps {
            // Two sub-batches (plain prompts, seeded prompts) so short plain sequences are
            // not padded to the seeded length; the loss is still the token mean over the
            // whole batch.
            let mut plain: (Vec<Vec<u32>>, Vec<Vec<u32>>) = (Vec::new(), Vec::new());
            let mut with_shots: (Vec<Vec<u32>>, Vec<Vec<u32>>) = (Vec::new(), Vec::new());
            for _ in 0..cfg.batch {
                let i = rng.range(0, pool.len() as i64 - 1) as usize;
                let p = &pool[i];
                // Invariant: the pool only holds problems with a solution.
                let solution = p.solution.as_deref().unwrap_or(&p.answer);
                // Drawn for every example so the stream does not depend on retrieval.
                let want_shots = rng.unit() < cfg.fewshot_share;
                let want_puzzle = rng.unit() < puzzle_share;
                let puzzle = (want_shots && want_puzzle)
                    .then(|| self.config.task.warmup_puzzle(&mut puzzle_rng, shots))
                    .flatten();
                if let Some(puzzle) = puzzle {
                    let pairs: Vec<(&str, &str)> = puzzle
                        .exemplars
                        .iter()
                        .map(|(q, a)| (q.as_str(), a.as_str()))
                        .collect();
                    let text = template.render(&pairs, &puzzle.prompt);
                    with_shots.0.push(self.encode_prompt(&text)?);
                    let mut target = self.tokenizer.encode(&puzzle.answer)?;
                    if let Some(e) = eos {
                        target.push(e);
                    }
                    with_shots.1.push(target);
                    continue;
                }
                let (text, dest) = match (&seeded[i], want_shots) {
                    (Some(t), true) => (t.as_str(), &mut with_shots),
                    _ => (p.prompt.as_str(), &mut plain),
                };
                dest.0.push(self.encode_prompt(text)?);
                let mut target = self.tokenizer.encode(solution)?;
                if let Some(e) = eos {
                    target.push(e);
                }
                dest.1.push(target);
            }
            let (mut total, mut count) = (None::<candle_core::Tensor>, 0.0f64);
            for (prompts, targets) in [&plain, &with_shots] {
                if prompts.is_empty() {
                    continue;
                }
                let tl = self.policy.token_logprobs(prompts, targets)?;
                count += tl.mask.sum_all()?.to_scalar::<f32>()? as f64;
                let sum = tl.logprobs.sum_all()?;
                total = Some(match total {
                    Some(t) => (t + sum)?,
                    None => sum,
                });
            }
            // Invariant: cfg.batch >= 1 (validated), so one sub-batch is non-empty.
            let total = total.expect("a warm-up batch has at least one sequence");
            let nll = (total.neg()? / count.max(1.0))?;
            let value = nll.to_scalar::<f32>()? as f64;
            let mut grads = nll.backward()?;
            clip_grad_norm(&mut grads, &vars, 1.0)?;
            opt.step(&grads, cfg.lr)?;
            if s >= tail_from {
                tail_sum += value;
                tail_n += 1;
            }
            on_step(s + 1, value);
            if super::interrupt_requested() {
                // The update just made is finished; partial weights are never cached
                // (a cache hit would pass them off as a complete warm-up).
                return Ok(Some(WarmupReport {
                    cached: false,
                    steps: s + 1,
                    final_nll: value,
                    seconds: start.elapsed().as_secs_f64(),
                    interrupted: true,
                }));
            }
        }
        self.policy.save_safetensors(&cache)?;
        Ok(Some(WarmupReport {
            cached: false,
            steps: cfg.steps,
            final_nll: tail_sum / tail_n.max(1) as f64,
            seconds: start.elapsed().as_secs_f64(),
            interrupted: false,
        }))
    }
}
