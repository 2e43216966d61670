//! [`AllocatorState`]: what an allocator carries across steps, for checkpoints.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Checkpoint state of an allocator: everything it carries from one training step to the
/// next, so a resumed run continues exactly. Versioned: a reader refuses newer formats.
///
/// ```
/// use xrpo_alloc::{AllocatorState, RolloutAllocator, XrpoAllocator, XrpoConfig};
/// let mut a = XrpoAllocator::new(XrpoConfig::default())?;
/// a.finish_step();
/// let json = serde_json::to_string(&a.state()).unwrap();
/// let mut b = XrpoAllocator::new(XrpoConfig::default())?;
/// b.restore(&serde_json::from_str::<AllocatorState>(&json).unwrap())?;
/// assert_eq!(b.state().completed_steps, 1);
/// # Ok::<(), xrpo_alloc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllocatorState {
    /// Format version; this crate writes [`AllocatorState::VERSION`].
    pub version: u32,
    /// Name of the allocator that wrote it ([`crate::RolloutAllocator::name`]).
    pub allocator: String,
    /// Training steps completed (the count behind `T` with the `training_steps` clock).
    pub completed_steps: u64,
}

impl AllocatorState {
    /// The format version this crate writes and reads.
    pub const VERSION: u32 = 1;

    /// A fresh state for allocator `name`.
    pub fn new(name: &str, completed_steps: u64) -> Self {
        Self {
            version: Self::VERSION,
            allocator: name.to_owned(),
            completed_steps,
        }
    }

    /// Checks that this state can be loaded by allocator `name`.
    ///
    /// # Errors
    /// [`Error::IncompatibleState`] for a newer version or another allocator's state.
    pub fn check(&self, name: &str) -> Result<(), Error> {
        let refuse = |reason| Error::IncompatibleState {
            version: self.version,
            allocator: self.allocator.clone(),
            reason,
        };
        if self.version > Self::VERSION {
            return Err(refuse("written by a newer xrpo-alloc"));
        }
        if self.allocator != name {
            return Err(refuse("written by a different allocator"));
        }
        Ok(())
    }
}

/// The completed-steps counter every built-in allocator carries, with the
/// [`crate::RolloutAllocator::state`] / [`crate::RolloutAllocator::restore`] plumbing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StepCount(pub(crate) u64);

impl StepCount {
    /// Counts one finished step.
    pub(crate) fn advance(&mut self) {
        self.0 += 1;
    }

    /// The checkpoint state of allocator `name`.
    pub(crate) fn state(self, name: &str) -> AllocatorState {
        AllocatorState::new(name, self.0)
    }

    /// Loads `state` if allocator `name` wrote it.
    pub(crate) fn restore(&mut self, name: &str, state: &AllocatorState) -> Result<(), Error> {
        state.check(name)?;
        self.0 = state.completed_steps;
        Ok(())
    }
}

/// The [`crate::RolloutAllocator`] methods shared by the built-in phased allocators that
/// hold a `plan: PhasePlan`, a `steps: StepCount` and a `NAME`: everything but
/// `allocate` (and `groups_to_drop`).
macro_rules! phased_allocator_methods {
    () => {
        fn name(&self) -> &str {
            Self::NAME
        }

        fn plan(&self) -> $crate::PhasePlan {
            self.plan.clone()
        }

        fn finish_step(&mut self) {
            self.steps.advance();
        }

        fn state(&self) -> $crate::AllocatorState {
            self.steps.state(Self::NAME)
        }

        fn restore(&mut self, state: &$crate::AllocatorState) -> Result<(), $crate::Error> {
            self.steps.restore(Self::NAME, state)
        }
    };
}
pub(crate) use phased_allocator_methods;
