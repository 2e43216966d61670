//! In-context seeding (XRPO spec §2): an exemplar bank of verified solutions, retrieval of
//! similar solved prompts, and templating them in front of a never-solved prompt.
//!
//! This crate is filled by its own issue; it knows nothing of candle or the trainer.
#![deny(missing_docs)]
