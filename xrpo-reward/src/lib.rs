//! Verifiable rewards: decide whether a model's response is right.
//!
//! In RL with verifiable rewards the reward *is* the gradient, so a verifier keeps three
//! outcomes apart and never quietly turns one into another:
//!
//! - the answer is wrong: [`Outcome::Wrong`], reward 0;
//! - the response could not be verified (unparseable gold, say): [`Outcome::Unverifiable`],
//!   which a trainer excludes from its baseline;
//! - the verifier itself failed (a sandbox could not start): `Err(`[`VerifyError`]`)`.
//!
//! Every verifier implements the object-safe [`Verifier`] trait; [`Reference`] says what a
//! response is checked against (a math answer, code tests).
//!
//! This crate knows nothing of candle or the trainer.
#![deny(missing_docs)]

pub mod code;
pub mod math;
mod verifier;

pub use verifier::{Outcome, Reason, Reference, Verdict, Verifier, VerifyError};
