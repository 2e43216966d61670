//! The pluggable pieces of a step, built from the config (the algorithm's
//! [`Preset`](super::Preset) and the explicit tables) or handed in by the user.

use std::sync::Arc;

use xrpo_advantage::AdvantageShaper;
use xrpo_alloc::{
    AllocatorState, Error as AllocError, FixedAllocator, PhasePlan, PromptStats, RolloutAllocator,
    XrpoAllocator,
};
use xrpo_reward::{AnswerExtraction, ExactAnswerVerifier, Verifier};
use xrpo_seed::{
    ExemplarBank, ExemplarSeeder, NullSeeder, PromptId, Provenance, SeedConfig, SeedError,
};

use crate::loss::{PolicyLoss, SequenceClipLoss, TokenClipLoss};
use crate::task::{Problem, TaskSet, VerifierKind};

use super::TrainError;
use super::config::{AllocatorKind, TrainConfig};

/// The "no allocation" ablation: XRPO's phase plan, but each later phase's budget is
/// spread evenly over prompts (round-robin from the lowest index, respecting `n_max`)
/// instead of by priority Π_q.
#[derive(Debug, Clone)]
pub struct UniformPhasedAllocator {
    plan: PhasePlan,
    completed_steps: u64,
}

impl UniformPhasedAllocator {
    /// Uses `plan` (normally `XrpoConfig::plan()`).
    pub fn new(plan: PhasePlan) -> Self {
        Self {
            plan,
            completed_steps: 0,
        }
    }
}

impl RolloutAllocator for UniformPhasedAllocator {
    fn name(&self) -> &str {
        "uniform_phased"
    }
    fn plan(&self) -> PhasePlan {
        self.plan.clone()
    }
    fn allocate(&mut self, stats: &[PromptStats], budget: usize) -> Result<Vec<usize>, AllocError> {
        let n_max = self.plan.n_max();
        let mut grants = vec![0usize; stats.len()];
        let mut left = budget;
        loop {
            let mut granted_any = false;
            for (g, s) in grants.iter_mut().zip(stats) {
                if left == 0 {
                    break;
                }
                if s.rollouts() + *g < n_max {
                    *g += 1;
                    left -= 1;
                    granted_any = true;
                }
            }
            if left == 0 || !granted_any {
                break;
            }
        }
        Ok(grants)
    }
    fn finish_step(&mut self) {
        self.completed_steps += 1;
    }
    fn state(&self) -> AllocatorState {
        AllocatorState::new(self.name(), self.completed_steps)
    }
    fn restore(&mut self, state: &AllocatorState) -> Result<(), AllocError> {
        state.check(self.name())?;
        self.completed_steps = state.completed_steps;
        Ok(())
    }
}

/// Builds an empty exemplar bank from seeding settings: the one place that decides the
/// embedder, used for the training bank, the warm-up's exemplars and the eval's.
pub type BankFactory = Arc<dyn Fn(SeedConfig) -> Result<ExemplarBank, SeedError> + Send + Sync>;

/// Everything a step calls through a trait. Build with [`Components::from_config`] or
/// assemble your own.
pub struct Components {
    /// How many rollouts each prompt gets, per phase.
    pub allocator: Box<dyn RolloutAllocator + Send>,
    /// The exemplar seeder (checkpointed through `ExemplarSeeder::state`).
    pub seeder: Box<dyn ExemplarSeeder>,
    /// Builds the curated banks of warm-up and eval exemplars (default: the lexical
    /// bank); set it with the training bank's embedder to retrieve the same way.
    pub bank_factory: BankFactory,
    /// Scores responses.
    pub verifier: Box<dyn Verifier>,
    /// Rewards → advantages.
    pub shaper: Box<dyn AdvantageShaper + Send + Sync>,
    /// The policy loss.
    pub loss: Box<dyn PolicyLoss>,
}

impl std::fmt::Debug for Components {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Components")
            .field("allocator", &self.allocator.name())
            .field("loss", &self.loss.name())
            .finish_non_exhaustive()
    }
}

/// The lexical bank ([`ExemplarBank::lexical`]): the default [`BankFactory`].
pub fn lexical_bank_factory() -> BankFactory {
    Arc::new(ExemplarBank::lexical)
}

impl Components {
    /// The components the config's algorithm preset and explicit tables name, at equal
    /// rollout budget. `task.eval`'s prompts are blocked from the exemplar bank.
    pub fn from_config(config: &TrainConfig, task: &TaskSet) -> Result<Self, TrainError> {
        let preset = config.algorithm.preset(config.host);
        let alloc_cfg = config.alloc_config();
        let comp = |e: &dyn std::fmt::Display| TrainError::Component(e.to_string());
        let allocator: Box<dyn RolloutAllocator + Send> = match preset.allocator {
            AllocatorKind::Xrpo => Box::new(XrpoAllocator::new(alloc_cfg).map_err(|e| comp(&e))?),
            AllocatorKind::UniformPhased => Box::new(UniformPhasedAllocator::new(
                alloc_cfg.plan().map_err(|e| comp(&e))?,
            )),
            AllocatorKind::Fixed => {
                Box::new(FixedAllocator::new(config.n_fixed).map_err(|e| comp(&e))?)
            }
        };
        let bank_factory = lexical_bank_factory();
        let seeder: Box<dyn ExemplarSeeder> = if preset.seeding {
            let mut bank = bank_factory(config.seed_bank.clone()).map_err(|e| comp(&e))?;
            // Leakage guard: eval prompts never become exemplars.
            bank.block_texts(task.eval.iter().map(|p| p.prompt.as_str()));
            Box::new(bank)
        } else {
            Box::new(NullSeeder)
        };
        let verifier: Box<dyn Verifier> = match config.task.verifier {
            VerifierKind::FirstLine => Box::new(ExactAnswerVerifier {
                extraction: AnswerExtraction::FirstLine,
            }),
            VerifierKind::LastInteger => Box::new(ExactAnswerVerifier {
                extraction: AnswerExtraction::LastInteger,
            }),
            VerifierKind::Math => Box::new(xrpo_reward::math::MathVerifier::default()),
        };
        let shaper = config.advantage_config()?.build().map_err(|e| comp(&e))?;
        let norm_len = Some(config.sampling.max_new_tokens);
        let aggregation = config.loss.aggregation.unwrap_or(preset.aggregation);
        let loss: Box<dyn PolicyLoss> = if preset.sequence_level {
            Box::new(SequenceClipLoss {
                eps_low: config.loss.gspo_eps_low,
                eps_high: config.loss.gspo_eps_high,
                aggregation,
                norm_len,
                kl: config.loss.kl,
            })
        } else {
            Box::new(TokenClipLoss {
                eps_low: config.loss.eps_low,
                eps_high: config.loss.eps_high,
                aggregation,
                norm_len,
                kl: config.loss.kl,
            })
        };
        Ok(Self {
            allocator,
            seeder,
            bank_factory,
            verifier,
            shaper,
            loss,
        })
    }

    /// A bank of curated exemplars: the gold solutions of `pool` (problems without one
    /// are skipped), built by [`bank_factory`](Self::bank_factory) from `config`, with
    /// `blocked`'s prompts refused. Warm-up and eval exemplars come from here.
    pub fn curated_bank(
        &self,
        config: SeedConfig,
        pool: &[Problem],
        blocked: &[Problem],
        source: &str,
    ) -> Result<ExemplarBank, TrainError> {
        curated_bank(&self.bank_factory, config, pool, blocked, source)
    }
}

/// [`Components::curated_bank`] with an explicit factory.
pub(crate) fn curated_bank(
    factory: &BankFactory,
    config: SeedConfig,
    pool: &[Problem],
    blocked: &[Problem],
    source: &str,
) -> Result<ExemplarBank, TrainError> {
    let mut bank = factory(config)?;
    bank.block_texts(blocked.iter().map(|p| p.prompt.as_str()));
    for p in pool {
        if let Some(solution) = &p.solution {
            bank.record(
                &PromptId::from(p.id.as_str()),
                &p.prompt,
                solution,
                Provenance::Curated {
                    source: Some(source.to_string()),
                },
            )?;
        }
    }
    Ok(bank)
}
