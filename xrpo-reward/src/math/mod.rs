//! Math answers: extraction of the final answer and equivalence with the gold.
//! Filled by the math verifier issue.
