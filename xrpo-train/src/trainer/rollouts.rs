//! XRPO §1–2 as data: [`collect_rollouts`] runs one step's phase loop (allocate → sample →
//! verify → record successes → seed the groups the [`SeedTrigger`] picks) over an
//! [`xrpo_alloc::StepRun`] and returns a [`RolloutBatch`]. The batch owns its rollouts
//! grouped by prompt and hands out, in one fixed order, the advantage
//! [`Batch`](xrpo_advantage::Batch) and the policy update's rows, so an advantage can
//! only ever meet the rollout it was computed for.
//!
//! After the last phase the allocator names the groups its method drops from the update
//! ([`RolloutAllocator::groups_to_drop`](xrpo_alloc::RolloutAllocator::groups_to_drop):
//! DAPO's dynamic-sampling filter drops the groups whose rewards all agree). Those groups
//! stay in the batch, so their rollouts count in the budget and the rollout metrics, but
//! they have no advantage and no update row ([`RolloutBatch::trained_rollouts`]).

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
    /// `dropped[q]`: the allocator dropped prompt `q`'s group from the update.
    dropped: Vec<bool>,
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
    /// The rollouts the update trains on: those of the groups not dropped, grouped by
    /// prompt (the order of advantages and update rows).
    pub fn trained_rollouts(&self) -> impl Iterator<Item = &Rollout> {
        self.groups
            .iter()
            .zip(&self.dropped)
            .filter(|(_, dropped)| !**dropped)
            .flat_map(|(g, _)| g)
    }
    /// Number of rollouts the update trains on.
    pub fn trained_len(&self) -> usize {
        self.trained_rollouts().count()
    }
    /// Groups the allocator dropped from the update (with rollouts or not).
    pub fn dropped_groups(&self) -> usize {
        self.dropped.iter().filter(|&&d| d).count()
    }
    /// Leaves the groups `groups` (prompt indices) out of the advantage batch and the
    /// update rows; their rollouts stay in [`rollouts`](Self::rollouts).
    ///
    /// # Errors
    /// When an index is not one of the step's prompts.
    pub fn drop_groups(&mut self, groups: &[usize]) -> Result<(), TrainError> {
        for &q in groups {
            let slot = self.dropped.get_mut(q).ok_or_else(|| {
                TrainError::Component(format!(
                    "the allocator dropped group {q} of a step with {} prompts",
                    self.prompts.len()
                ))
            })?;
            *slot = true;
        }
        Ok(())
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

    /// The update rows: every trained rollout's completion on its update context. A seeded
    /// rollout is scored on its seeded prompt (`Seeded`, on-policy) or on the prompt
    /// alone (`Plain`, spec §2's default); every other rollout on its plain prompt.
    pub fn update_rows(&self, context: SeededUpdateContext) -> UpdateRows {
        let n = self.trained_len();
        let mut rows = UpdateRows {
            contexts: Vec::with_capacity(n),
            completions: Vec::with_capacity(n),
            rescored: Vec::with_capacity(n),
        };
        for r in self.trained_rollouts() {
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

    /// The advantage batch: one group per trained prompt with rollouts (empty and
    /// dropped groups are left out, as they have no rows either), rewards in
    /// [`trained_rollouts`](Self::trained_rollouts) order, and `seq_logprob[i]` as
    /// trained rollout `i`'s sequence score for novelty sharpening.
    ///
    /// # Errors
    /// When `seq_logprob` does not have one value per trained rollout, or a group is
    /// invalid.
    pub fn advantage_batch(&self, seq_logprob: &[f32]) -> Result<Batch, TrainError> {
        let n = self.trained_len();
        if seq_logprob.len() != n {
            return Err(TrainError::Component(format!(
                "{} sequence scores for {n} trained rollouts",
                seq_logprob.len(),
            )));
        }
        let mut groups = Vec::with_capacity(self.groups.len());
        let mut at = 0;
        let trained = self
            .groups
            .iter()
            .zip(&self.dropped)
            .filter(|(g, dropped)| !**dropped && !g.is_empty());
        for (members, _) in trained {
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
/// prompt the trigger picks and the seeder can serve gets its seeded context. After the
/// last phase the groups the allocator's `groups_to_drop` names are marked dropped.
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
    // The allocator's method may drop groups from the update (DAPO's filter).
    let stats = run.stats().to_vec();
    let drop = components.allocator.groups_to_drop(&stats);
    let mut batch = RolloutBatch {
        prompts,
        groups,
        dropped: vec![false; q_count],
        stats,
        phase_rollouts,
        seed_attempts,
        times,
    };
    batch.drop_groups(&drop)?;
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use xrpo_alloc::{DapoFilter, RolloutAllocator, XrpoAllocator, XrpoConfig};
    use xrpo_reward::Reference;

    use super::*;

    /// A step of four prompts with the given rewards per prompt; each rollout's only
    /// token is `100·q + i` so a row names its rollout.
    fn batch(rewards: &[&[f32]]) -> RolloutBatch {
        let prompts = (0..rewards.len())
            .map(|q| StepPrompt {
                problem: Problem {
                    id: format!("p{q}"),
                    prompt: format!("{q}+0="),
                    answer: q.to_string(),
                    reference: Reference::Math {
                        answer: q.to_string(),
                    },
                    solution: None,
                    level: None,
                    kind: None,
                },
                plain: vec![q as u32],
                seeded: None,
            })
            .collect();
        let groups: Vec<Vec<Rollout>> = rewards
            .iter()
            .enumerate()
            .map(|(q, rs)| {
                rs.iter()
                    .enumerate()
                    .map(|(i, &r)| Rollout {
                        prompt: q,
                        phase: 1,
                        seeded: false,
                        tokens: vec![(100 * q + i) as u32],
                        sampler_logprobs: vec![-0.5],
                        text: String::new(),
                        reward: Some(r),
                        correct: r > 0.0,
                        extracted: None,
                        finish: FinishReason::Eos,
                    })
                    .collect()
            })
            .collect();
        let stats = rewards
            .iter()
            .map(|rs| PromptStats::from_rewards(rs.iter().map(|&r| r as f64)).unwrap())
            .collect();
        RolloutBatch {
            prompts,
            groups,
            dropped: vec![false; rewards.len()],
            stats,
            phase_rollouts: vec![rewards.iter().map(|r| r.len()).sum()],
            seed_attempts: 0,
            times: RolloutTimes::default(),
        }
    }

    fn row_tokens(rows: &UpdateRows) -> Vec<u32> {
        rows.completions.iter().map(|c| c[0]).collect()
    }

    /// DAPO's filter: the uniform groups (prompts 0 and 2) have no row and no advantage
    /// group; the informative ones keep every rollout, in order; the budget still counts
    /// every rollout.
    #[test]
    fn dapo_filter_leaves_exactly_the_uniform_groups_out_of_the_update() {
        let mut b = batch(&[&[0.0, 0.0, 0.0], &[1.0, 0.0, 1.0], &[1.0, 1.0], &[0.0, 1.0]]);
        let dapo = DapoFilter::new(XrpoConfig::default().plan().unwrap());
        let drop = dapo.groups_to_drop(b.stats());
        assert_eq!(drop, vec![0, 2]);
        b.drop_groups(&drop).unwrap();
        assert_eq!(b.dropped_groups(), 2);
        assert_eq!(b.len(), 10);
        assert_eq!(b.rollouts().count(), 10);
        let rows = b.update_rows(SeededUpdateContext::Plain);
        // Rows: prompt 1's three rollouts, then prompt 3's two.
        assert_eq!(row_tokens(&rows), vec![100, 101, 102, 300, 301]);
        assert_eq!(
            rows.contexts,
            vec![vec![1], vec![1], vec![1], vec![3], vec![3]]
        );
        let adv = b.advantage_batch(&[-0.5; 5]).unwrap();
        assert_eq!(adv.len(), 5);
        assert_eq!(adv.num_groups(), 2);
        // A score vector sized for every rollout (dropped ones included) is refused.
        assert!(b.advantage_batch(&[-0.5; 10]).is_err());
    }

    /// The paper's allocator drops nothing: rows are every rollout, in order.
    #[test]
    fn the_default_allocator_drops_nothing() {
        let mut b = batch(&[&[0.0, 0.0], &[1.0, 0.0]]);
        let xrpo = XrpoAllocator::new(XrpoConfig::default()).unwrap();
        let drop = xrpo.groups_to_drop(b.stats());
        assert!(drop.is_empty());
        b.drop_groups(&drop).unwrap();
        let rows = b.update_rows(SeededUpdateContext::Plain);
        assert_eq!(row_tokens(&rows), vec![0, 1, 100, 101]);
        assert_eq!(b.advantage_batch(&[0.0; 4]).unwrap().num_groups(), 2);
    }

    /// Every group uniform: no row, no advantage; an out-of-range index is an error.
    #[test]
    fn dropping_every_group_leaves_no_row_and_a_bad_index_is_refused() {
        let mut b = batch(&[&[0.0, 0.0], &[1.0, 1.0]]);
        b.drop_groups(&[0, 1]).unwrap();
        assert!(b.update_rows(SeededUpdateContext::Seeded).is_empty());
        assert_eq!(b.trained_len(), 0);
        assert_eq!(b.len(), 4);
        let err = b.drop_groups(&[2]).unwrap_err().to_string();
        assert!(err.contains("group 2"), "{err}");
    }
}
