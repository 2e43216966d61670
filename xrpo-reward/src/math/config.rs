//! [`MathConfig`]: what to extract and how strictly to compare.

use serde::{Deserialize, Serialize};

/// What kind of final answer to look for in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// LaTeX: `\boxed{}` / `\fbox{}`, `$…$`, `$$…$$`, `\[…\]`, `\(…\)`, bare `\frac{a}{b}`.
    Latex,
    /// Plain text: numbers (with thousand separators, decimal commas, percent words) and
    /// simple expressions such as `2/3`, after "The final answer is", "Answer:", `####`.
    Expr,
    /// Multiple-choice letters from [`MathConfig::choices`].
    Choice,
}

/// Configuration of [`MathVerifier`](super::MathVerifier). Defaults follow Math-Verify
/// 0.9.0's `verify(parse(gold), parse(pred))` except where noted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MathConfig {
    /// Which answer kinds to extract. Default `[latex, expr]` (Math-Verify's default).
    pub targets: Vec<Target>,
    /// Priority of `\boxed{}` among the anchors (lower is tried first): 0 boxed first,
    /// 50 after "The final answer is … I hope" / "final answer … is". Other anchors sit at
    /// 0 ("final answer is X. I hope"), 10 (`#### X`), 50, 100 ("answer:"), 200 ("answer"),
    /// 300 (no anchor). Default 0 (Math-Verify's `parse` uses 50; its tests use 0). Unit:
    /// priority rank.
    pub boxed_priority: u32,
    /// Whether answers with no anchor (the last `$…$`, the last number) count. Default true.
    pub try_extract_without_anchor: bool,
    /// The letters a [`Target::Choice`] extraction accepts. Default `["A","B","C","D"]`.
    pub choices: Vec<String>,
    /// Compare choice letters case-insensitively. Default true.
    pub choice_lowercase: bool,
    /// Digits a decimal answer must agree to: when either side is written as a decimal,
    /// both sides must round to the same value at this many decimal places (Math-Verify's
    /// `float_rounding`) AND agree to this many significant digits (relative difference
    /// ≤ 5·10^-precision), so `1.5 \times 10^{-8}` ≠ `1.5 \times 10^{-7}`. Default 6.
    /// Unit: digits.
    pub precision: u32,
    /// Relative tolerance for comparisons that involve irrational values or variables
    /// (evaluated in `f64`): `|a − b| ≤ rel_tol · max(|a|, |b|)`, with an absolute floor
    /// of 1e-12 that only matters near 0. Exact rationals and polynomials are compared
    /// exactly. Default 1e-6.
    pub rel_tol: f64,
    /// Whether variable names matter (`f(x)` vs `f(y)`); false matches variables by
    /// position. Default true.
    pub strict: bool,
    /// Also compare a set or interval gold with a relation prediction (`[0, \infty)` vs
    /// `x \ge 0`); a relation gold against a set prediction is always compared. Default
    /// true (Math-Verify's default is false).
    pub allow_set_relation_comp: bool,
    /// Compare tuples `(a, b)` in order (points, ordered pairs). False compares them as
    /// sets. Bare lists (`1, 2`, `x = 1 \text{ or } x = 2`) and `\{…\}` are solution sets
    /// and always unordered. Default true.
    pub tuple_order: bool,
    /// Let a percentage match its bare number (`25\%` vs `25`, Math-Verify's rule) as well
    /// as its value (`25\%` vs `0.25`). Two percentages always compare their numbers
    /// (`0.25\%` ≠ `25\%`). Default true.
    pub percent_bare_number: bool,
    /// Longest response searched, in bytes. The whole response is searched (the last
    /// final answer counts wherever it is); a longer one has no answer and is judged wrong
    /// with reason `too_large`. Default 4 MiB (far beyond any sampled completion).
    pub max_response_chars: usize,
    /// Longest single extracted answer parsed, in chars. Default 2000.
    pub max_answer_chars: usize,
    /// Deepest nesting the parser follows. Default 48.
    pub max_depth: usize,
    /// Most digits in one number literal. Default 400.
    pub max_digits: usize,
    /// Largest exponent magnitude evaluated (`10^{10^{10}}` stops here). Default 10000.
    pub max_exponent: f64,
    /// Sample points for expressions with variables (the first two positive, the rest of
    /// pseudo-random sign). Default 8.
    pub sample_points: usize,
}

impl Default for MathConfig {
    fn default() -> Self {
        MathConfig {
            targets: vec![Target::Latex, Target::Expr],
            boxed_priority: 0,
            try_extract_without_anchor: true,
            choices: ["A", "B", "C", "D"].map(String::from).to_vec(),
            choice_lowercase: true,
            precision: 6,
            rel_tol: 1e-6,
            strict: true,
            allow_set_relation_comp: true,
            tuple_order: true,
            percent_bare_number: true,
            max_response_chars: 1 << 22,
            max_answer_chars: 2_000,
            max_depth: 48,
            max_digits: 400,
            max_exponent: 10_000.0,
            sample_points: 8,
        }
    }
}

/// A [`MathConfig`] that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Occurs when `targets` is empty: nothing would ever be extracted.
    #[error("`targets` is empty: list at least one of latex, expr, choice")]
    NoTargets,
    /// Occurs when `rel_tol` is negative, NaN or ≥ 1.
    #[error("`rel_tol` must be in [0, 1), got {0}")]
    BadTolerance(f64),
    /// Occurs when `precision` exceeds 15 decimal places (beyond `f64`).
    #[error("`precision` must be at most 15 decimal places, got {0}")]
    BadPrecision(u32),
    /// Occurs when a cap is zero (`max_response_chars`, `max_answer_chars`, `max_depth`,
    /// `max_digits`, `sample_points`); the field is named.
    #[error("`{0}` must be positive")]
    ZeroCap(&'static str),
    /// Occurs when `targets` holds `choice` but `choices` is empty or holds an empty string.
    #[error("`choices` must be non-empty strings when `choice` is a target")]
    EmptyChoices,
}

impl MathConfig {
    /// Checks the configuration.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.targets.is_empty() {
            return Err(ConfigError::NoTargets);
        }
        if !(self.rel_tol >= 0.0 && self.rel_tol < 1.0) {
            return Err(ConfigError::BadTolerance(self.rel_tol));
        }
        if self.precision > 15 {
            return Err(ConfigError::BadPrecision(self.precision));
        }
        for (name, v) in [
            ("max_response_chars", self.max_response_chars),
            ("max_answer_chars", self.max_answer_chars),
            ("max_depth", self.max_depth),
            ("max_digits", self.max_digits),
            ("sample_points", self.sample_points),
        ] {
            if v == 0 {
                return Err(ConfigError::ZeroCap(name));
            }
        }
        if self.targets.contains(&Target::Choice)
            && (self.choices.is_empty() || self.choices.iter().any(String::is_empty))
        {
            return Err(ConfigError::EmptyChoices);
        }
        Ok(())
    }
}
