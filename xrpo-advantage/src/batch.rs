//! Input types: a [`Group`] of responses to one prompt, and a [`Batch`] of groups stored
//! flat (one array per field plus group offsets) so shapers run without allocating.

use std::ops::Range;

use ndarray::{Array1, ArrayView1, ArrayView2};

use crate::Error;

/// The verifier's score of one response; `None` when it could not be scored (timeout,
/// unparseable gold). A missing reward is excluded from its group's baseline and gets
/// advantage 0, never silently turned into a 0 reward.
pub type Reward = Option<f32>;

/// The responses to one prompt. Guarantees at least one response, finite present
/// rewards, finite `seq_logprob`, and per-response fields of the right length.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    rewards: Vec<Reward>,
    seq_logprob: Option<Vec<f32>>,
    lengths: Option<Vec<u32>>,
}

impl Group {
    /// A group with the given rewards and no log-probs.
    ///
    /// # Errors
    /// [`Error::EmptyGroup`] for no responses, [`Error::NonFiniteReward`] for NaN/∞.
    pub fn new(rewards: Vec<Reward>) -> Result<Self, Error> {
        if rewards.is_empty() {
            return Err(Error::EmptyGroup { group: 0 });
        }
        check_rewards(0, &rewards)?;
        Ok(Self {
            rewards,
            seq_logprob: None,
            lengths: None,
        })
    }

    /// Adds s(y_i), the mean token log-prob of each response under the policy that sampled
    /// it (spec §3: `s(y_i) = (1/|y_i|) Σ_t log π(y_{i,t} | x, y_{i,<t})`).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], [`Error::NonFiniteLogprob`].
    pub fn with_seq_logprob(mut self, seq_logprob: Vec<f32>) -> Result<Self, Error> {
        check_len("seq_logprob", self.rewards.len(), seq_logprob.len())?;
        check_logprobs(0, &seq_logprob)?;
        self.seq_logprob = Some(seq_logprob);
        Ok(self)
    }

    /// Adds the token length |y_i| of each response. A response of length 0 has no
    /// likelihood: novelty sharpening leaves it out of s̄ and gives it no bonus.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`].
    pub fn with_lengths(mut self, lengths: Vec<u32>) -> Result<Self, Error> {
        check_len("lengths", self.rewards.len(), lengths.len())?;
        self.lengths = Some(lengths);
        Ok(self)
    }

    /// Number of responses (≥ 1).
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Always `false`: a group has at least one response. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// The rewards.
    pub fn rewards(&self) -> &[Reward] {
        &self.rewards
    }

    /// The mean token log-probs s(y_i), if given.
    pub fn seq_logprob(&self) -> Option<&[f32]> {
        self.seq_logprob.as_deref()
    }

    /// The token lengths |y_i|, if given.
    pub fn lengths(&self) -> Option<&[u32]> {
        self.lengths.as_deref()
    }
}

/// Many groups stored flat: `rewards[offsets[g]..offsets[g + 1]]` is group `g`.
///
/// Built once per training step (validated on construction), then handed to any
/// [`AdvantageShaper`](crate::AdvantageShaper). `seq_logprob` and `lengths` are present
/// for every response or for none.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    rewards: Array1<Reward>,
    seq_logprob: Option<Array1<f32>>,
    lengths: Option<Array1<u32>>,
    /// `offsets[0] = 0`, strictly increasing (groups are non-empty), last = `len()`.
    offsets: Vec<usize>,
}

impl Batch {
    /// A batch from flat rewards and the size of each group, in order.
    ///
    /// # Errors
    /// [`Error::EmptyGroup`] for a size of 0, [`Error::GroupSizesMismatch`] when sizes do
    /// not sum to `rewards.len()`, [`Error::NonFiniteReward`].
    pub fn from_flat(rewards: Array1<Reward>, group_sizes: &[usize]) -> Result<Self, Error> {
        let mut offsets = Vec::with_capacity(group_sizes.len() + 1);
        offsets.push(0);
        let mut sum = 0usize;
        for (g, &n) in group_sizes.iter().enumerate() {
            if n == 0 {
                return Err(Error::EmptyGroup { group: g });
            }
            sum = sum.saturating_add(n);
            offsets.push(sum);
        }
        if sum != rewards.len() {
            return Err(Error::GroupSizesMismatch {
                sum,
                responses: rewards.len(),
            });
        }
        let batch = Self {
            rewards: standard_layout(rewards),
            seq_logprob: None,
            lengths: None,
            offsets,
        };
        for g in 0..batch.num_groups() {
            check_rewards(g, &batch.rewards_slice()[batch.group_range(g)])?;
        }
        Ok(batch)
    }

    /// A batch of equal-size groups from a `[groups, n]` matrix of rewards, none missing
    /// (the common GRPO layout).
    ///
    /// # Errors
    /// [`Error::EmptyGroup`] when `n == 0`, [`Error::NonFiniteReward`].
    pub fn from_matrix(rewards: ArrayView2<'_, f32>) -> Result<Self, Error> {
        let (groups, n) = rewards.dim();
        let flat: Array1<Reward> = rewards.iter().map(|&r| Some(r)).collect();
        Self::from_flat(flat, &vec![n; groups])
    }

    /// A batch from groups (copies them into the flat layout).
    ///
    /// # Errors
    /// [`Error::InconsistentField`] when some groups carry `seq_logprob`/`lengths` and
    /// others do not.
    pub fn from_groups<'a>(groups: impl IntoIterator<Item = &'a Group>) -> Result<Self, Error> {
        let mut rewards = Vec::new();
        let mut seq_logprob: Option<Vec<f32>> = None;
        let mut lengths: Option<Vec<u32>> = None;
        let mut offsets = vec![0];
        for (g, group) in groups.into_iter().enumerate() {
            rewards.extend_from_slice(&group.rewards);
            merge_field("seq_logprob", g, &mut seq_logprob, group.seq_logprob())?;
            merge_field("lengths", g, &mut lengths, group.lengths())?;
            offsets.push(rewards.len());
        }
        Ok(Self {
            rewards: Array1::from(rewards),
            seq_logprob: seq_logprob.map(Array1::from),
            lengths: lengths.map(Array1::from),
            offsets,
        })
    }

    /// Adds s(y_i) for every response (flat, same order as the rewards).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], [`Error::NonFiniteLogprob`].
    pub fn with_seq_logprob(mut self, seq_logprob: Array1<f32>) -> Result<Self, Error> {
        check_len("seq_logprob", self.len(), seq_logprob.len())?;
        let seq_logprob = standard_layout(seq_logprob);
        // Invariant: `as_standard_layout` makes the array contiguous.
        let flat = seq_logprob
            .as_slice()
            .expect("standard layout is contiguous");
        for g in 0..self.num_groups() {
            check_logprobs(g, &flat[self.group_range(g)])?;
        }
        self.seq_logprob = Some(seq_logprob);
        Ok(self)
    }

    /// Adds the token length |y_i| of every response (flat).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`].
    pub fn with_lengths(mut self, lengths: Array1<u32>) -> Result<Self, Error> {
        check_len("lengths", self.len(), lengths.len())?;
        self.lengths = Some(standard_layout(lengths));
        Ok(self)
    }

    /// Total number of responses.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// `true` when the batch has no groups.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Number of groups.
    pub fn num_groups(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Group offsets: group `g` is `offsets()[g]..offsets()[g + 1]`; `num_groups() + 1`
    /// entries, the first 0 and the last `len()`.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The flat index range of group `g`.
    ///
    /// # Panics
    /// When `g >= num_groups()`.
    pub fn group_range(&self, g: usize) -> Range<usize> {
        self.offsets[g]..self.offsets[g + 1]
    }

    /// All rewards, flat.
    pub fn rewards(&self) -> ArrayView1<'_, Reward> {
        self.rewards.view()
    }

    /// All s(y_i), flat, if present.
    pub fn seq_logprob(&self) -> Option<ArrayView1<'_, f32>> {
        self.seq_logprob.as_ref().map(|a| a.view())
    }

    /// All token lengths, flat, if present.
    pub fn lengths(&self) -> Option<ArrayView1<'_, u32>> {
        self.lengths.as_ref().map(|a| a.view())
    }

    /// Rewards as a contiguous slice (the hot path of every shaper).
    pub fn rewards_slice(&self) -> &[Reward] {
        // Invariant: every constructor stores an owned array in standard layout.
        self.rewards
            .as_slice()
            .expect("Batch stores rewards contiguously")
    }

    /// s(y_i) as a contiguous slice, if present.
    pub fn seq_logprob_slice(&self) -> Option<&[f32]> {
        // Invariant: `with_seq_logprob` and `from_groups` store standard layout.
        self.seq_logprob
            .as_ref()
            .map(|a| a.as_slice().expect("Batch stores seq_logprob contiguously"))
    }

    /// Token lengths as a contiguous slice, if present.
    pub fn lengths_slice(&self) -> Option<&[u32]> {
        // Invariant: `with_lengths` and `from_groups` store standard layout.
        self.lengths
            .as_ref()
            .map(|a| a.as_slice().expect("Batch stores lengths contiguously"))
    }

    /// Number of missing rewards in the batch.
    pub fn missing_rewards(&self) -> usize {
        self.rewards.iter().filter(|r| r.is_none()).count()
    }
}

/// `a` in standard (contiguous) layout: moved as is when it already is (the usual case,
/// e.g. an array made from a `Vec`), copied otherwise.
fn standard_layout<T: Clone>(a: Array1<T>) -> Array1<T> {
    if a.is_standard_layout() {
        a
    } else {
        a.as_standard_layout().into_owned()
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

fn check_rewards(group: usize, rewards: &[Reward]) -> Result<(), Error> {
    match rewards
        .iter()
        .enumerate()
        .find(|(_, r)| r.is_some_and(|x| !x.is_finite()))
    {
        Some((index, r)) => Err(Error::NonFiniteReward {
            group,
            index,
            value: r.unwrap_or(f32::NAN),
        }),
        None => Ok(()),
    }
}

fn check_logprobs(group: usize, seq_logprob: &[f32]) -> Result<(), Error> {
    match seq_logprob.iter().position(|s| !s.is_finite()) {
        Some(index) => Err(Error::NonFiniteLogprob {
            group,
            index,
            value: seq_logprob[index],
        }),
        None => Ok(()),
    }
}

fn merge_field<T: Copy>(
    field: &'static str,
    group: usize,
    acc: &mut Option<Vec<T>>,
    values: Option<&[T]>,
) -> Result<(), Error> {
    match (group == 0, acc.as_mut(), values) {
        (true, _, Some(v)) => *acc = Some(v.to_vec()),
        (true, _, None) | (false, None, None) => {}
        (false, Some(a), Some(v)) => a.extend_from_slice(v),
        (false, Some(_), None) => {
            return Err(Error::InconsistentField {
                field,
                group,
                has: "lacks",
            });
        }
        (false, None, Some(_)) => {
            return Err(Error::InconsistentField {
                field,
                group,
                has: "has",
            });
        }
    }
    Ok(())
}
