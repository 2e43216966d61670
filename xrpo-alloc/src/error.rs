//! The crate's error type.

/// Everything that can go wrong in `xrpo-alloc`. Each variant carries the evidence.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Occurs when a configuration field holds a value outside its documented range.
    #[error("invalid config field `{field}` = {value}: {reason}")]
    InvalidConfig {
        /// The config field's name, as spelled in TOML/JSON.
        field: &'static str,
        /// The offending value, rendered as text.
        value: String,
        /// What the field requires.
        reason: &'static str,
    },
    /// Occurs when a reward is NaN or infinite (a missing reward must be left out, or
    /// recorded with [`crate::PromptStats::record_unscored`], never encoded as NaN).
    #[error("prompt {prompt}: reward #{position} is not finite ({value})")]
    NonFiniteReward {
        /// Index of the prompt in the batch (0 when built outside a batch).
        prompt: usize,
        /// 0-based position of the reward within the prompt's rewards.
        position: usize,
        /// The offending value.
        value: f64,
    },
    /// Occurs when a step budget cannot pay for phase 1 (`n_base` rollouts per prompt).
    #[error(
        "step budget {budget} is smaller than phase 1 needs ({n_base} rollouts x {num_prompts} prompts = {needed})"
    )]
    BudgetTooSmall {
        /// The step budget B.
        budget: usize,
        /// Rollouts every prompt gets in phase 1.
        n_base: usize,
        /// Number of prompts in the step.
        num_prompts: usize,
        /// `n_base * num_prompts`.
        needed: usize,
    },
    /// Occurs when a phase number outside `1..=P` is asked for.
    #[error("phase {phase} does not exist (the plan has phases 1..={phases})")]
    NoSuchPhase {
        /// The phase asked for (1-based).
        phase: usize,
        /// The number of phases P.
        phases: usize,
    },
    /// Occurs when a phase plan has budget left after phase 1 but no later phase to
    /// spend it in (`phases = 1` with a step budget above `n_base` per prompt).
    #[error(
        "step budget {budget} leaves {remainder} rollouts after phase 1 but the plan has no later phase"
    )]
    UnspendableBudget {
        /// The step budget B.
        budget: usize,
        /// Rollouts left after phase 1.
        remainder: usize,
    },
    /// Occurs when the next phase is requested before every rollout of the previous
    /// phases was recorded (as a reward or as unscored).
    #[error("prompt {prompt}: {requested} rollouts requested so far but {recorded} recorded")]
    PhaseIncomplete {
        /// Index of the prompt.
        prompt: usize,
        /// Rollouts requested for it so far this step.
        requested: usize,
        /// Rewards plus unscored rollouts recorded for it.
        recorded: usize,
    },
    /// Occurs when the stats handed to an allocator do not match the batch it expects.
    #[error("a phase's results hold {got} prompts but the step has {expected}")]
    WrongPromptCount {
        /// Number of prompts in the step.
        expected: usize,
        /// Number of entries given.
        got: usize,
    },
    /// Occurs when results are recorded for a prompt index outside the batch.
    #[error("prompt index {index} is out of range (the step has {num_prompts} prompts)")]
    PromptOutOfRange {
        /// The index given.
        index: usize,
        /// Number of prompts in the step.
        num_prompts: usize,
    },
    /// Occurs when a checkpointed [`crate::AllocatorState`] cannot be restored: a newer
    /// format version, or state written by a different allocator.
    #[error(
        "cannot restore allocator state: {reason} (state version {version}, allocator `{allocator}`)"
    )]
    IncompatibleState {
        /// The state's format version.
        version: u32,
        /// The allocator that wrote the state.
        allocator: String,
        /// Why it was refused.
        reason: &'static str,
    },
}
