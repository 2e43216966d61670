//! Evaluation of the policy on held-out prompts: k samples each, pass@1 / pass@k /
//! cons@k overall and per level.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use xrpo_seed::{ExemplarBank, ExemplarSeeder, PromptId};

use crate::eval::{EvalSummary, SampleOutcome, summarize};
use crate::sampler::{self, SamplingConfig};
use crate::task::Problem;

use super::TrainError;
use crate::rng::mix_seed;
use crate::tokenizer::TextTokenizer;

use super::trainer::{Trainer, equivalent};

/// Prompts sampled per `generate` call during evaluation.
const EVAL_CHUNK: usize = 256;

/// Result of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Steps done when evaluated.
    pub step: u64,
    /// Overall metrics.
    pub summary: EvalSummary,
    /// pass@1 per difficulty level (tasks with levels).
    pub pass_at_1_by_level: BTreeMap<u32, f64>,
}

/// Up to `n` eval problems (0 = all), round-robin over levels so every level is present.
pub fn select_eval(eval: &[Problem], n: usize) -> Vec<Problem> {
    if n == 0 || n >= eval.len() {
        return eval.to_vec();
    }
    let mut by_level: BTreeMap<u32, Vec<&Problem>> = BTreeMap::new();
    for p in eval {
        by_level.entry(p.level.unwrap_or(0)).or_default().push(p);
    }
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        let mut any = false;
        for list in by_level.values() {
            if let Some(p) = list.get(i) {
                if out.len() < n {
                    out.push((*p).clone());
                }
                any = true;
            }
        }
        if !any {
            break;
        }
        i += 1;
    }
    out
}

/// A bank of the training problems' gold solutions when `eval.exemplars > 0`.
fn exemplar_bank(trainer: &Trainer) -> Result<Option<ExemplarBank>, TrainError> {
    let k = trainer.config.eval.exemplars;
    if k == 0 {
        return Ok(None);
    }
    let mut cfg = trainer.config.seed_bank.clone();
    cfg.k = k;
    let bank = trainer.components.curated_bank(
        cfg,
        &trainer.task.train,
        &trainer.task.eval,
        &trainer.task.name,
    )?;
    Ok(Some(bank))
}

/// Samples `k` completions per problem at `temperature` and scores them.
pub(crate) fn evaluate(
    trainer: &Trainer,
    problems: &[Problem],
    k: usize,
    temperature: f64,
) -> Result<EvalReport, TrainError> {
    let cfg = SamplingConfig {
        temperature,
        ..trainer.config.sampling.clone()
    };
    let stop = trainer.tokenizer.stop_condition();
    let decode = |ids: &[u32]| trainer.decode(ids);
    let mut rng = StdRng::seed_from_u64(mix_seed(trainer.config.seed, 0xe7a1, trainer.step));
    let mut jobs: Vec<(usize, Vec<u32>)> = Vec::with_capacity(problems.len() * k);
    let mut bank = exemplar_bank(trainer)?;
    for (i, p) in problems.iter().enumerate() {
        let text = match bank.as_mut() {
            Some(bank) => bank
                .seed(&PromptId::from(p.id.as_str()), &p.prompt)?
                .map(|s| s.text)
                .unwrap_or_else(|| p.prompt.clone()),
            None => p.prompt.clone(),
        };
        let ids = trainer.encode_prompt(&text)?;
        for _ in 0..k {
            jobs.push((i, ids.clone()));
        }
    }
    let mut outcomes: Vec<Vec<SampleOutcome>> = vec![Vec::with_capacity(k); problems.len()];
    for chunk in jobs.chunks(EVAL_CHUNK) {
        let prompts: Vec<Vec<u32>> = chunk.iter().map(|(_, ids)| ids.clone()).collect();
        let completions = sampler::generate(
            &trainer.policy,
            &prompts,
            &cfg,
            &stop,
            Some(&decode),
            &mut rng,
        )?;
        let texts: Vec<String> = completions
            .iter()
            .map(|c| trainer.decode(&c.tokens))
            .collect();
        let items: Vec<(&str, &xrpo_reward::Reference)> = texts
            .iter()
            .zip(chunk)
            .map(|(t, (i, _))| (t.as_str(), &problems[*i].reference))
            .collect();
        let verdicts = trainer.components.verifier.verify_batch(&items);
        for ((c, v), (i, _)) in completions.iter().zip(verdicts).zip(chunk) {
            let v = v?;
            outcomes[*i].push(SampleOutcome {
                extracted: v.extracted.clone(),
                correct: v.correct(),
                length: c.tokens.len(),
            });
        }
    }
    let verifier = trainer.components.verifier.as_ref();
    let summary = summarize(&outcomes, k, &|a, b| equivalent(verifier, a, b))?;
    let mut by_level: BTreeMap<u32, (f64, usize)> = BTreeMap::new();
    for (p, o) in problems.iter().zip(&outcomes) {
        if let Some(level) = p.level {
            let acc = o.iter().filter(|s| s.correct).count() as f64 / o.len().max(1) as f64;
            let e = by_level.entry(level).or_default();
            e.0 += acc;
            e.1 += 1;
        }
    }
    Ok(EvalReport {
        step: trainer.step,
        summary,
        pass_at_1_by_level: by_level
            .into_iter()
            .map(|(l, (s, n))| (l, s / n as f64))
            .collect(),
    })
}
