//! The pluggable pieces of a step, built from the config or handed in by the user.

use xrpo_advantage::{AdvantageShaper, DrGrpo, Grpo, NoveltySharpening, StdScale};
use xrpo_alloc::{
    AllocatorState, Error as AllocError, FixedAllocator, PhasePlan, PromptStats, RolloutAllocator,
    XrpoAllocator,
};
use xrpo_reward::Verifier;
use xrpo_seed::{
    BankState, ExemplarBank, ExemplarSeeder, NullSeeder, PromptId, Provenance, RecordOutcome,
    SeedError, SeededPrompt,
};

use crate::loss::{Aggregation, PolicyLoss, SequenceClipLoss, TokenClipLoss};
use crate::task::{AnswerExtraction, ExactAnswerVerifier, Problem};

use super::TrainError;
use super::config::{Algorithm, Host, TrainConfig, VerifierKind};

/// An [`ExemplarSeeder`] whose state can be checkpointed (as JSON).
pub trait StatefulSeeder: ExemplarSeeder {
    /// The state to checkpoint.
    fn save_state(&self) -> Result<serde_json::Value, TrainError>;
    /// Restores a checkpointed state.
    fn load_state(&mut self, state: serde_json::Value) -> Result<(), TrainError>;
    /// Number of stored exemplars (0 for seeders without a bank).
    fn bank_len(&self) -> usize {
        0
    }
}

impl StatefulSeeder for ExemplarBank {
    fn save_state(&self) -> Result<serde_json::Value, TrainError> {
        serde_json::to_value(self.state()).map_err(|e| TrainError::Checkpoint(e.to_string()))
    }
    fn load_state(&mut self, state: serde_json::Value) -> Result<(), TrainError> {
        let state: BankState =
            serde_json::from_value(state).map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        *self = ExemplarBank::lexical_from_state(state)
            .map_err(|e| TrainError::Checkpoint(e.to_string()))?;
        Ok(())
    }
    fn bank_len(&self) -> usize {
        self.len()
    }
}

/// The "no seeding" ablation with an empty state.
#[derive(Debug, Default)]
pub struct NoSeeding(NullSeeder);

impl ExemplarSeeder for NoSeeding {
    fn record(
        &mut self,
        id: &PromptId,
        prompt: &str,
        solution: &str,
        provenance: Provenance,
    ) -> Result<RecordOutcome, SeedError> {
        self.0.record(id, prompt, solution, provenance)
    }
    fn seed(&mut self, id: &PromptId, prompt: &str) -> Result<Option<SeededPrompt>, SeedError> {
        self.0.seed(id, prompt)
    }
}

impl StatefulSeeder for NoSeeding {
    fn save_state(&self) -> Result<serde_json::Value, TrainError> {
        Ok(serde_json::Value::Null)
    }
    fn load_state(&mut self, _: serde_json::Value) -> Result<(), TrainError> {
        Ok(())
    }
}

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

/// Everything a step calls through a trait. Build with [`Components::from_config`] or
/// assemble your own.
pub struct Components {
    /// How many rollouts each prompt gets, per phase.
    pub allocator: Box<dyn RolloutAllocator + Send>,
    /// The exemplar bank (or the no-seeding ablation).
    pub seeder: Box<dyn StatefulSeeder>,
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

impl Components {
    /// The components `config.algorithm` names, at equal rollout budget.
    pub fn from_config(config: &TrainConfig, eval: &[Problem]) -> Result<Self, TrainError> {
        let algo = config.algorithm;
        let alloc_cfg = config.alloc_config();
        let comp = |e: &dyn std::fmt::Display| TrainError::Component(e.to_string());
        let allocator: Box<dyn RolloutAllocator + Send> = if algo.allocates() {
            Box::new(XrpoAllocator::new(alloc_cfg).map_err(|e| comp(&e))?)
        } else if algo.phased() {
            Box::new(UniformPhasedAllocator::new(
                alloc_cfg.plan().map_err(|e| comp(&e))?,
            ))
        } else {
            Box::new(FixedAllocator::new(config.n_fixed).map_err(|e| comp(&e))?)
        };
        let seeder: Box<dyn StatefulSeeder> = if algo.seeds() {
            let mut bank = ExemplarBank::lexical(config.seed_bank.clone()).map_err(|e| comp(&e))?;
            // Leakage guard: eval prompts never become exemplars.
            bank.block_texts(eval.iter().map(|p| p.prompt.as_str()));
            Box::new(bank)
        } else {
            Box::new(NoSeeding::default())
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
        let base: Box<dyn AdvantageShaper + Send + Sync> = match algo {
            Algorithm::DrGrpo => Box::new(DrGrpo),
            _ => Box::new(
                Grpo::new(StdScale::Group, xrpo_advantage::GRPO_STD_EPSILON)
                    .map_err(|e| comp(&e))?,
            ),
        };
        let shaper: Box<dyn AdvantageShaper + Send + Sync> = if algo.sharpens() {
            Box::new(
                NoveltySharpening::new(base, config.lambda_novelty, config.kappa_clip)
                    .map_err(|e| comp(&e))?,
            )
        } else {
            base
        };
        let sequence_level = match algo {
            Algorithm::Gspo => true,
            a if a.is_xrpo() => config.host == Host::Gspo,
            _ => false,
        };
        let norm_len = Some(config.sampling.max_new_tokens);
        let loss: Box<dyn PolicyLoss> = if sequence_level {
            Box::new(SequenceClipLoss {
                eps_low: config.loss.gspo_eps_low,
                eps_high: config.loss.gspo_eps_high,
                aggregation: config
                    .loss
                    .aggregation
                    .unwrap_or(Aggregation::SeqMeanTokenMean),
                norm_len,
                kl: config.loss.kl,
            })
        } else {
            let default_agg = if algo == Algorithm::DrGrpo {
                Aggregation::SeqMeanTokenSumNorm
            } else {
                Aggregation::TokenMean
            };
            Box::new(TokenClipLoss {
                eps_low: config.loss.eps_low,
                eps_high: config.loss.eps_high,
                aggregation: config.loss.aggregation.unwrap_or(default_agg),
                norm_len,
                kl: config.loss.kl,
            })
        };
        Ok(Self {
            allocator,
            seeder,
            verifier,
            shaper,
            loss,
        })
    }
}
