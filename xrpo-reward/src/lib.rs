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
//!
//! # Example
//!
//! Math answers, checked by [`math::MathVerifier`] (extraction of the last final answer,
//! then exact or numeric equivalence with the gold, which is read whole as one answer):
//!
//! ```
//! use xrpo_reward::math::MathVerifier;
//! use xrpo_reward::{Outcome, Reason, Reference, Verifier};
//!
//! let verifier: Box<dyn Verifier> = Box::new(MathVerifier::default());
//! let gold = Reference::Math { answer: "$\\frac{3}{4}$".into() };
//!
//! let right = verifier.verify("… so the answer is $\\boxed{0.75}$.", &gold).unwrap();
//! assert!(right.correct());
//! assert_eq!(right.reward, 1.0);
//!
//! let wrong = verifier.verify("The answer is 3/5.", &gold).unwrap();
//! assert_eq!((wrong.outcome, wrong.reason), (Outcome::Wrong, Reason::WrongAnswer));
//!
//! // An unparseable gold is neither right nor wrong: the trainer excludes it.
//! let unknown = Reference::Math { answer: "see the figure".into() };
//! let skip = verifier.verify("\\boxed{1}", &unknown).unwrap();
//! assert_eq!(skip.outcome, Outcome::Unverifiable);
//!
//! // A batch uses all cores and keeps the input order.
//! let batch = verifier.verify_batch(&[("#### 0.75", &gold), ("\\boxed{1}", &gold)]);
//! assert!(batch[0].as_ref().unwrap().correct() && !batch[1].as_ref().unwrap().correct());
//! ```
#![deny(missing_docs)]

pub mod code;
mod exact;
pub mod math;
mod verifier;

pub use exact::{AnswerExtraction, ExactAnswerVerifier};
pub use verifier::{Outcome, Reason, Reference, Verdict, Verifier, VerifyError};
