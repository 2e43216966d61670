//! XRPO §1–2 as data: [`collect_rollouts`] runs one step's phase loop (allocate → sample →
//! verify → record successes → seed the groups the [`SeedTrigger`] picks) over an
//! [`xrpo_alloc::StepRun`] and returns a [`RolloutBatch`]. The batch owns its rollouts
//! grouped by prompt and hands out, in one fixed order, the advantage
//! [`Batch`](xrpo_advantage::Batch) and the policy update's rows, so an advantage can
//! only ever meet the rollout it was computed for.

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use xrpo_advantage::{Batch, Group};
use xrpo_alloc::{PromptStats, StepRun};
use xrpo_reward::Outcome;
use xrpo_seed::{PromptId, Provenance};

use crate::model::Policy;
use crate::rng::mix_seed;
use crate::sampler::{self, FinishReason, SamplingConfig};
use crate::task::Problem;
use crate::tokenizer::TextTokenizer;

use super::TrainError;
use super::components::Components;
use super::config::SeededUpdateContext;

/// One sampled response of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollout {
    /// Index of its prompt among the step's prompts.
    pub prompt: usize,
    /// Phase (1-based) it was sampled in.
    pub phase: usize,
    /// Whether it was sampled from the seeded context (exemplars in front of the prompt).
    pub seeded: bool,
    /// Completion token ids.
    pub tokens: Vec<u32>,
    /// The sampler's log-prob of each completion token, on the context it was sampled
    /// from.
    pub sampler_logprobs: Vec<f32>,
    /// Decoded completion.
    pub text: String,
    /// Verified reward; `None` when the verifier could not score it (unverifiable).
    pub reward: Option<f32>,
    /// Whether the verifier called it correct.
    pub correct: bool,
    /// The answer the verifier extracted, if any.
    pub extracted: Option<String>,
    /// Why sampling stopped.
    pub finish: FinishReason,
}

/// One prompt of a step and the contexts it was sampled from.
#[derive(Debug, Clone, PartialEq)]
pub struct StepPrompt {
    /// The problem.
    pub problem: Problem,
    /// Token ids of the prompt alone (zero-shot).
    pub plain: Vec<u32>,
    /// Token ids of the seeded prompt, once the seeder gave it exemplars.
    pub seeded: Option<Vec<u32>>,
}

/// Decides which prompts get exemplars for the step's later phases (spec §2).
pub trait SeedTrigger: Send + Sync {
    /// Whether a prompt whose rollouts so far have `stats` should be seeded.
    fn should_seed(&self, stats: &PromptStats) -> bool;
}

/// The spec's trigger: every rollout of the prompt so far is wrong (at least one scored,
/// mean reward 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllWrongSoFar;

impl SeedTrigger for AllWrongSoFar {
    fn should_seed(&self, stats: &PromptStats) -> bool {
        stats.count() > 0 && stats.mean() == 0.0
    }
}

/// Seconds spent in each part of the phase loop.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RolloutTimes {
    /// Sampling.
    pub generate: f64,
    /// Verifying.
    pub verify: f64,
    /// Allocator and seeder.
    pub allocate: f64,
}

/// The rows of one policy update, in [`RolloutBatch`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRows {
    /// The context each completion is scored on (see [`SeededUpdateContext`]).
    pub contexts: Vec<Vec<u32>>,
    /// Completion token ids.
    pub completions: Vec<Vec<u32>>,
    /// Whether the row's update context differs from the context it was sampled from
    /// (a seeded rollout scored on its plain prompt): the sampler's log-probs are then
    /// not π_old's on the update context.
    pub rescored: Vec<bool>,
}

impl UpdateRows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.contexts.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.contexts.is_empty()
    }
}

/// Everything one step's phase loop produced.
#[derive(Debug, Clone)]
pub struct RolloutBatch {
    prompts: Vec<StepPrompt>,
    /// `groups[q]`: the rollouts of prompt `q`, in sampling order.
    groups: Vec<Vec<Rollout>>,
    stats: Vec<PromptStats>,
    phase_rollouts: Vec<usize>,
    seed_attempts: usize,
    times: RolloutTimes,
}

impl RolloutBatch {
    /// The step's prompts.
    pub fn prompts(&self) -> &[StepPrompt] {
        &self.prompts
    }
    /// Every rollout, grouped by prompt (the order of advantages and update rows).
    pub fn rollouts(&self) -> impl Iterator<Item = &Rollout> {
        self.groups.iter().flatten()
    }
    /// Number of rollouts.
    pub fn len(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }
    /// Whether no rollout was sampled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The allocator's per-prompt statistics after the last phase.
    pub fn stats(&self) -> &[PromptStats] {
        &self.stats
    }
    /// Rollouts sampled in each phase.
    pub fn phase_rollouts(&self) -> &[usize] {
        &self.phase_rollouts
    }
    /// Prompts the trigger fired for.
    pub fn seed_attempts(&self) -> usize {
        self.seed_attempts
    }
    /// Time spent per stage.
    pub fn times(&self) -> RolloutTimes {
        self.times
    }

    /// The update rows: every rollout's completion on its update context. A seeded
    /// rollout is scored on its seeded prompt (`Seeded`, on-policy) or on the prompt
    /// alone (`Plain`, spec §2's default); every other rollout on its plain prompt.
    pub fn update_rows(&self, context: SeededUpdateContext) -> UpdateRows {
        let mut rows = UpdateRows {
            contexts: Vec::with_capacity(self.len()),
            completions: Vec::with_capacity(self.len()),
            rescored: Vec::with_capacity(self.len()),
        };
        for r in self.rollouts() {
            let p = &self.prompts[r.prompt];
            let (ctx, rescored) = match (r.seeded, &p.seeded, context) {
                (true, Some(seeded), SeededUpdateContext::Seeded) => (seeded, false),
                (true, _, _) => (&p.plain, true),
                (false, _, _) => (&p.plain, false),
            };
            rows.contexts.push(ctx.clone());
            rows.completions.push(r.tokens.clone());
            rows.rescored.push(rescored);
        }
        rows
    }

    /// The advantage batch: one group per prompt with rollouts (empty groups are left
    /// out, as they have no rows either), rewards in [`rollouts`](Self::rollouts) order,
    /// and `seq_logprob[i]` as rollout `i`'s sequence score for novelty sharpening.
    ///
    /// # Errors
    /// When `seq_logprob` does not have one value per rollout, or a group is invalid.
    pub fn advantage_batch(&self, seq_logprob: &[f32]) -> Result<Batch, TrainError> {
        if seq_logprob.len() != self.len() {
            return Err(TrainError::Component(format!(
                "{} sequence scores for {} rollouts",
                seq_logprob.len(),
                self.len()
            )));
        }
        let mut groups = Vec::with_capacity(self.groups.len());
        let mut at = 0;
        for members in self.groups.iter().filter(|g| !g.is_empty()) {
            let rewards = members.iter().map(|r| r.reward).collect();
            let scores = seq_logprob[at..at + members.len()].to_vec();
            at += members.len();
            groups.push(Group::new(rewards)?.with_seq_logprob(scores)?);
        }
        Ok(Batch::from_groups(&groups)?)
    }
}

/// Mean of a log-prob row (0 for an empty row): the sequence score of spec §3.
pub fn mean_logprob(row: &[f32]) -> f32 {
    let n = row.len().max(1) as f32;
    row.iter().sum::<f32>() / n
}

/// Runs one step's phase loop (spec §1–2) over `problems` and returns the rollouts.
///
/// Phase by phase: the allocator grants rollouts (`StepRun::next_phase`), the policy
/// samples them (RNG seeded by `(seed, step, phase)`), the verifier scores them, every
/// correct response is recorded in the seeder, and, before each later phase, every
/// prompt the trigger picks and the seeder can serve gets its seeded context.
/// `step` is the 1-based number of the step being made.
#[allow(clippy::too_many_arguments)]
pub fn collect_rollouts(
    policy: &Policy,
    tokenizer: &dyn TextTokenizer,
    components: &mut Components,
    trigger: &dyn SeedTrigger,
    sampling: &SamplingConfig,
    seed: u64,
    step: u64,
    problems: Vec<Problem>,
) -> Result<RolloutBatch, TrainError> {
    let q_count = problems.len();
    let mut prompts: Vec<StepPrompt> = problems
        .into_iter()
        .map(|problem| {
            let plain = tokenizer.encode_prompt(&problem.prompt)?;
            Ok(StepPrompt {
                problem,
                plain,
                seeded: None,
            })
        })
        .collect::<Result<_, TrainError>>()?;
    let stop = tokenizer.stop_condition();
    let decode = |ids: &[u32]| tokenizer.decode(ids).unwrap_or_default();
    let mut times = RolloutTimes::default();
    let mut groups: Vec<Vec<Rollout>> = vec![Vec::new(); q_count];
    let mut phase_rollouts = Vec::new();
    let mut seed_attempts = 0;
    let plan = components.allocator.plan();
    let phases = plan.phases();
    let mut run = StepRun::new(plan, q_count)?;
    loop {
        let t0 = Instant::now();
        let next = run.next_phase(components.allocator.as_mut())?;
        times.allocate += t0.elapsed().as_secs_f64();
        let Some(phase) = next else { break };

        // Sample the phase's grants.
        let mut owners = Vec::new();
        let mut contexts = Vec::new();
        for (q, &k) in phase.rollouts.iter().enumerate() {
            let p = &prompts[q];
            let ctx = p.seeded.as_ref().unwrap_or(&p.plain);
            for _ in 0..k {
                owners.push(q);
                contexts.push(ctx.clone());
            }
        }
        phase_rollouts.push(owners.len());
        let t0 = Instant::now();
        let mut rng = StdRng::seed_from_u64(mix_seed(seed, step, phase.number as u64));
        let completions = if contexts.is_empty() {
            Vec::new()
        } else {
            sampler::generate(policy, &contexts, sampling, &stop, Some(&decode), &mut rng)?
        };
        times.generate += t0.elapsed().as_secs_f64();

        // Verify, record successes.
        let t0 = Instant::now();
        let texts: Vec<String> = completions.iter().map(|c| decode(&c.tokens)).collect();
        let items: Vec<(&str, &xrpo_reward::Reference)> = texts
            .iter()
            .zip(&owners)
            .map(|(t, &q)| (t.as_str(), &prompts[q].problem.reference))
            .collect();
        let verdicts = components.verifier.verify_batch(&items);
        times.verify += t0.elapsed().as_secs_f64();
        for ((c, text), (verdict, &q)) in completions
            .into_iter()
            .zip(texts)
            .zip(verdicts.into_iter().zip(&owners))
        {
            let verdict = verdict?;
            let reward = (verdict.outcome != Outcome::Unverifiable).then_some(verdict.reward);
            run.record(q, reward.map(f64::from))?;
            let correct = verdict.correct();
            let problem = &prompts[q].problem;
            if correct {
                components.seeder.record(
                    &PromptId::from(problem.id.as_str()),
                    &problem.prompt,
                    text.trim(),
                    Provenance::Training { step },
                )?;
            }
            groups[q].push(Rollout {
                prompt: q,
                phase: phase.number,
                seeded: prompts[q].seeded.is_some(),
                tokens: c.tokens,
                sampler_logprobs: c.policy_logprobs,
                text,
                reward,
                correct,
                extracted: verdict.extracted,
                finish: c.finish,
            });
        }

        // Seed the prompts the trigger picks, for the later phases.
        if phase.number < phases {
            let t0 = Instant::now();
            let stats = run.stats();
            for (prompt, stats) in prompts.iter_mut().zip(stats).take(q_count) {
                // A prompt the seeder could not serve yet is tried again after the next
                // phase: that phase's successes may have filled the bank.
                if prompt.seeded.is_some() || !trigger.should_seed(stats) {
                    continue;
                }
                seed_attempts += 1;
                let problem = &prompt.problem;
                if let Some(sp) = components
                    .seeder
                    .seed(&PromptId::from(problem.id.as_str()), &problem.prompt)?
                {
                    prompt.seeded = Some(tokenizer.encode_prompt(&sp.text)?);
                }
            }
            times.allocate += t0.elapsed().as_secs_f64();
        }
    }
    Ok(RolloutBatch {
        prompts,
        groups,
        stats: run.stats().to_vec(),
        phase_rollouts,
        seed_attempts,
        times,
    })
}
