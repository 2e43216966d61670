//! Rollout allocation (XRPO spec §1): how many rollouts each prompt of a step gets.
#![deny(missing_docs)]
