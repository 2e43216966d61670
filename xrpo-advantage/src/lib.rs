//! Group-relative advantages (XRPO spec §3): GRPO, Dr.GRPO, RLOO and XRPO's novelty-aware
//! sharpening of correct-but-unlikely responses.
#![deny(missing_docs)]
