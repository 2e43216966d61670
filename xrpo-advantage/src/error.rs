//! The crate's typed errors: bad input data ([`Error`]) and bad configuration
//! ([`ConfigError`]).

/// Why a batch could not be built or shaped.
///
/// Every variant names the group and response (0-based) or the field that was wrong, so a
/// caller can point at the offending row without a debugger.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Occurs when a group has no responses at all (a [`crate::Group`] always has n ≥ 1).
    #[error("group {group} is empty: a group needs at least one response")]
    EmptyGroup {
        /// Index of the empty group in the batch.
        group: usize,
    },
    /// Occurs when a per-response field (`seq_logprob`, `lengths`) or a flat array does not
    /// have one entry per response.
    #[error("{field} has {found} entries but there are {expected} responses")]
    LengthMismatch {
        /// The field whose length is wrong.
        field: &'static str,
        /// Number of responses (the length the field must have).
        expected: usize,
        /// Length the field actually has.
        found: usize,
    },
    /// Occurs when group sizes do not add up to the number of responses in a flat batch.
    #[error("group sizes add up to {sum} but there are {responses} responses")]
    GroupSizesMismatch {
        /// Sum of the given group sizes.
        sum: usize,
        /// Number of responses in the flat arrays.
        responses: usize,
    },
    /// Occurs when the group offsets of a [`crate::FlatBatch`] are not offsets: empty, not
    /// starting at 0, or decreasing.
    #[error("group offsets: offsets[{index}]: {reason}")]
    InvalidOffsets {
        /// Position in the offsets of the first bad entry.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Occurs when a present reward is NaN or infinite (use `None` for a missing reward;
    /// in a [`crate::FlatBatch`], NaN is missing and only ±∞ is rejected).
    #[error(
        "group {group}, response {index}: reward {value} is not finite (a missing reward is None, or NaN in a flat batch)"
    )]
    NonFiniteReward {
        /// Group index.
        group: usize,
        /// Response index inside the group.
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// Occurs when a sequence log-probability s(y_i) is NaN or infinite.
    #[error("group {group}, response {index}: seq_logprob {value} is not finite")]
    NonFiniteLogprob {
        /// Group index.
        group: usize,
        /// Response index inside the group.
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// Occurs when some groups of a batch carry `seq_logprob` (or `lengths`) and others do
    /// not: a batch has the field for every response or for none.
    #[error("group {group} {has} {field} but earlier groups do not agree")]
    InconsistentField {
        /// The field present on some groups only.
        field: &'static str,
        /// First group that disagrees with the ones before it.
        group: usize,
        /// "has" or "lacks", describing `group`.
        has: &'static str,
    },
    /// Occurs when novelty sharpening is applied to a batch without `seq_logprob`.
    #[error("novelty sharpening needs seq_logprob (mean token log-prob s(y_i)) for every response")]
    MissingSeqLogprob,
    /// Occurs when the output slice passed to
    /// [`AdvantageShaper::shape_into`](crate::AdvantageShaper::shape_into) does not have
    /// one slot per response.
    #[error("output has {found} slots but the batch has {expected} responses")]
    OutputLength {
        /// Number of responses in the batch.
        expected: usize,
        /// Length of the output slice.
        found: usize,
    },
}

/// Why a configuration was rejected by `validate()` or a constructor.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Occurs when a parameter that must be a finite number ≥ 0 (ε, λ_nov, κ_clip) is
    /// negative, NaN or infinite.
    #[error("{field} must be a finite number >= 0, got {value}")]
    NotNonNegative {
        /// Config field name (e.g. `epsilon`, `lambda_novelty`, `kappa_clip`).
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
}

/// Checks that `value` is finite and ≥ 0.
pub(crate) fn non_negative(field: &'static str, value: f64) -> Result<f64, ConfigError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(ConfigError::NotNonNegative { field, value })
    }
}
