//! [`FlatBatch`]: a borrowed batch in the layout callers already hold (numpy, verl, TRL):
//! rewards as `f32` with NaN = missing, groups as contiguous ranges given by offsets. The
//! fast path of [`AdvantageShaper::shape_flat`](crate::AdvantageShaper::shape_flat):
//! nothing is copied or converted per call.

use std::ops::Range;

use ndarray::Array1;

use crate::{Batch, Error};

/// Many groups stored flat and borrowed: `rewards[offsets[g]..offsets[g + 1]]` is group
/// `g`; a NaN reward is *missing* (the [`Batch`] layout's `None`).
///
/// [`FlatBatch::new`] checks the shape (offsets start at 0, groups are non-empty, the last
/// offset is the number of responses) in O(groups); the values are checked by the shaper
/// while it reads them, in the same pass: a ±∞ reward gives
/// [`Error::NonFiniteReward`], and a shaper that reads `seq_logprob` (novelty
/// sharpening) gives [`Error::NonFiniteLogprob`] for a NaN/∞ log-prob of a response with
/// a scored reward. The log-prob of a response whose reward is missing is never read
/// (it is out of the baseline), so it may be NaN.
///
/// ```
/// use xrpo_advantage::{AdvantageShaper, FlatBatch, Xrpo};
///
/// // Two prompts: rows 0..4 and 4..7; NaN = a reward that could not be verified.
/// let rewards = [1.0, 0.0, 1.0, 0.0, 1.0, f32::NAN, 0.0];
/// let offsets = [0, 4, 7];
/// let seq_logprob = [-0.2, -0.4, -0.9, -0.5, -0.3, f32::NAN, -0.6];
/// let batch = FlatBatch::new(&rewards, &offsets)?.with_seq_logprob(&seq_logprob)?;
/// let mut advantages = vec![0.0f32; batch.len()];
/// let stats = Xrpo::paper().shape_flat(&batch, &mut advantages)?;
/// // Same numbers as through a `Batch` (the unlikely correct answer, row 2, gets a bonus).
/// let via_batch = Xrpo::paper().shape(&batch.to_batch()?)?;
/// assert_eq!(advantages, via_batch.advantages.to_vec());
/// assert!(advantages[2] > advantages[0] && advantages[0] > 0.0);
/// assert_eq!((advantages[5], stats.missing_rewards), (0.0, 1));
/// # Ok::<(), xrpo_advantage::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlatBatch<'a> {
    rewards: &'a [f32],
    offsets: &'a [usize],
    seq_logprob: Option<&'a [f32]>,
    lengths: Option<&'a [u32]>,
}

impl<'a> FlatBatch<'a> {
    /// A flat batch of `rewards` (NaN = missing) in groups `offsets[g]..offsets[g + 1]`.
    ///
    /// # Errors
    /// [`Error::InvalidOffsets`] when `offsets` is empty, does not start at 0 or
    /// decreases; [`Error::EmptyGroup`] for two equal offsets;
    /// [`Error::GroupSizesMismatch`] when the last offset is not `rewards.len()`.
    pub fn new(rewards: &'a [f32], offsets: &'a [usize]) -> Result<Self, Error> {
        match offsets.first() {
            Some(0) => {}
            first => {
                return Err(Error::InvalidOffsets {
                    index: 0,
                    reason: match first {
                        None => "offsets are empty (an empty batch is [0])",
                        Some(_) => "the first offset must be 0",
                    },
                });
            }
        }
        for (g, w) in offsets.windows(2).enumerate() {
            if w[1] == w[0] {
                return Err(Error::EmptyGroup { group: g });
            }
            if w[1] < w[0] {
                return Err(Error::InvalidOffsets {
                    index: g + 1,
                    reason: "offsets must increase",
                });
            }
        }
        let last = offsets[offsets.len() - 1];
        if last != rewards.len() {
            return Err(Error::GroupSizesMismatch {
                sum: last,
                responses: rewards.len(),
            });
        }
        Ok(Self {
            rewards,
            offsets,
            seq_logprob: None,
            lengths: None,
        })
    }

    /// Adds s(y_i), the mean token log-prob of each response under the sampling policy
    /// (flat, same order as the rewards); checked while sharpening reads it.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`].
    pub fn with_seq_logprob(mut self, seq_logprob: &'a [f32]) -> Result<Self, Error> {
        check_len("seq_logprob", self.len(), seq_logprob.len())?;
        self.seq_logprob = Some(seq_logprob);
        Ok(self)
    }

    /// Adds the token length |y_i| of every response (flat).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`].
    pub fn with_lengths(mut self, lengths: &'a [u32]) -> Result<Self, Error> {
        check_len("lengths", self.len(), lengths.len())?;
        self.lengths = Some(lengths);
        Ok(self)
    }

    /// Total number of responses.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// `true` when the batch has no responses.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Number of groups.
    pub fn num_groups(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Group offsets: `num_groups() + 1` entries, the first 0 and the last `len()`.
    pub fn offsets(&self) -> &'a [usize] {
        self.offsets
    }

    /// The flat index range of group `g`.
    ///
    /// # Panics
    /// When `g >= num_groups()`.
    pub fn group_range(&self, g: usize) -> Range<usize> {
        self.offsets[g]..self.offsets[g + 1]
    }

    /// All rewards, NaN = missing.
    pub fn rewards(&self) -> &'a [f32] {
        self.rewards
    }

    /// All s(y_i), if given.
    pub fn seq_logprob(&self) -> Option<&'a [f32]> {
        self.seq_logprob
    }

    /// All token lengths, if given.
    pub fn lengths(&self) -> Option<&'a [u32]> {
        self.lengths
    }

    /// The same batch in the [`Batch`] layout (copies; NaN → `None`). A log-prob of a
    /// missing reward is stored as 0 (it is never read), so a NaN there is no error.
    ///
    /// # Errors
    /// As [`Batch::from_flat`] and [`Batch::with_seq_logprob`]: a ±∞ reward, a NaN/∞
    /// log-prob of a scored response.
    pub fn to_batch(&self) -> Result<Batch, Error> {
        let rewards: Array1<crate::Reward> = self
            .rewards
            .iter()
            .map(|&r| (!r.is_nan()).then_some(r))
            .collect();
        let sizes: Vec<usize> = self.offsets.windows(2).map(|w| w[1] - w[0]).collect();
        let mut batch = Batch::from_flat(rewards, &sizes)?;
        if let Some(s) = self.seq_logprob {
            let s: Array1<f32> = s
                .iter()
                .zip(self.rewards)
                .map(|(&s, r)| if r.is_nan() { 0.0 } else { s })
                .collect();
            batch = batch.with_seq_logprob(s)?;
        }
        if let Some(l) = self.lengths {
            batch = batch.with_lengths(Array1::from(l.to_vec()))?;
        }
        Ok(batch)
    }
}

fn check_len(field: &'static str, expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            field,
            expected,
            found,
        })
    }
}
