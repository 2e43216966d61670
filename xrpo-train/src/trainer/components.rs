//! The pluggable pieces of a step, built from the config (the algorithm's
//! [`Preset`](super::Preset) and the explicit tables) or handed in by the user.

use std::sync::Arc;

use xrpo_advantage::AdvantageShaper;
use xrpo_alloc::RolloutAllocator;
use xrpo_reward::{AnswerExtraction, ExactAnswerVerifier, Verifier};
use xrpo_seed::{
    ExemplarBank, ExemplarSeeder, NullSeeder, PromptId, Provenance, SeedConfig, SeedError,
};

use crate::loss::{PolicyLoss, SequenceClipLoss, TokenClipLoss};
use crate::task::{Problem, TaskSet, VerifierKind};

use super::TrainError;
use super::config::TrainConfig;

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
        // The preset's allocator, or the family member `alloc.kind` names
        // (TrainConfig::alloc_config); every kind is built and validated by xrpo-alloc.
        let allocator: Box<dyn RolloutAllocator + Send> =
            alloc_cfg.build().map_err(|e| comp(&e))?;
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
