//! The settings every built-in difficulty ladder shares ([`LadderConfig`]): which levels,
//! how many problems, the eval share, what the warm-up sees. [`super::arithmetic`] and
//! [`super::rewrite`] name it with their own highest level.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use super::TaskError;

/// A generated ladder family: its highest level.
pub trait Ladder {
    /// Levels run `0..=MAX_LEVEL`.
    const MAX_LEVEL: u32;
}

/// Settings of a generated ladder `L` (levels `0..=L::MAX_LEVEL`, written `MAX` below).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, bound = "")]
pub struct LadderConfig<L: Ladder> {
    /// Levels to include (`0..=MAX`). Default all.
    pub levels: Vec<u32>,
    /// Training problems per level (fewer when a level has fewer), ≥ 1. Default 256.
    pub train_per_level: usize,
    /// Eval problems per level (fewer when a level has fewer). Default 24.
    pub eval_per_level: usize,
    /// Share of the prompt space (by hash of the text) reserved for evaluation. Default
    /// 0.2. In `(0, 1)`.
    pub eval_share: f64,
    /// Highest level whose gold solutions the supervised warm-up sees, in `0..=MAX`; the
    /// exemplar-only level never reaches the warm-up, whatever this says. Default 2.
    pub warmup_max_level: u32,
    /// Share of the warm-up's seeded (few-shot) examples that are inference puzzles (the
    /// family's `puzzle`: read an operation off exemplars) instead of retrieved exemplars
    /// of warm-up problems; all warm-up examples that are puzzles:
    /// `warmup.fewshot_share × puzzle_share`. Unitless, in `[0, 1]`; 0 = none. Default 0.5.
    pub puzzle_share: f64,
    /// The family (a type marker; not serialised). Build settings with
    /// `..Default::default()` to fill it.
    #[serde(skip)]
    pub family: PhantomData<L>,
}

impl<L: Ladder> Default for LadderConfig<L> {
    fn default() -> Self {
        Self {
            levels: (0..=L::MAX_LEVEL).collect(),
            train_per_level: 256,
            eval_per_level: 24,
            eval_share: 0.2,
            warmup_max_level: 2,
            puzzle_share: 0.5,
            family: PhantomData,
        }
    }
}

impl<L: Ladder> LadderConfig<L> {
    /// Checks ranges; the error names the setting.
    pub fn validate(&self) -> Result<(), TaskError> {
        let max = L::MAX_LEVEL;
        let bad = |name, message: String| Err(TaskError::Setting { name, message });
        if let Some(l) = self.levels.iter().find(|&&l| l > max) {
            return bad("levels", format!("level {l} > {max}"));
        }
        if self.levels.is_empty() {
            return bad("levels", "no level selected".into());
        }
        if !(self.eval_share > 0.0 && self.eval_share < 1.0) {
            return bad(
                "eval_share",
                format!("{} is not in (0, 1)", self.eval_share),
            );
        }
        if !(0.0..=1.0).contains(&self.puzzle_share) {
            return bad(
                "puzzle_share",
                format!("{} is not in [0, 1]", self.puzzle_share),
            );
        }
        if self.train_per_level == 0 {
            return bad("train_per_level", "must be >= 1".into());
        }
        if self.warmup_max_level > max {
            return bad(
                "warmup_max_level",
                format!("{} > {max}", self.warmup_max_level),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_out_of_range_setting_is_named() {
        type L = LadderConfig<crate::task::rewrite::Rewrite>;
        assert!(L::default().validate().is_ok());
        assert_eq!(L::default().levels, vec![0, 1, 2, 3, 4]);
        let cases: [(&str, L); 6] = [
            (
                "levels",
                L {
                    levels: vec![5],
                    ..L::default()
                },
            ),
            (
                "levels",
                L {
                    levels: vec![],
                    ..L::default()
                },
            ),
            (
                "eval_share",
                L {
                    eval_share: 1.0,
                    ..L::default()
                },
            ),
            (
                "puzzle_share",
                L {
                    puzzle_share: -0.1,
                    ..L::default()
                },
            ),
            (
                "train_per_level",
                L {
                    train_per_level: 0,
                    ..L::default()
                },
            ),
            (
                "warmup_max_level",
                L {
                    warmup_max_level: 5,
                    ..L::default()
                },
            ),
        ];
        for (field, c) in cases {
            match c.validate() {
                Err(TaskError::Setting { name, .. }) => assert_eq!(name, field),
                other => panic!("{field}: expected a Setting error, got {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_fields_are_refused_and_missing_ones_default() {
        let c: LadderConfig<crate::task::arithmetic::Arithmetic> =
            serde_json::from_str(r#"{"levels": [1, 8]}"#).unwrap();
        assert_eq!(c.levels, vec![1, 8]);
        assert_eq!(c.train_per_level, 256);
        assert!(
            serde_json::from_str::<LadderConfig<crate::task::arithmetic::Arithmetic>>(
                r#"{"level": [1]}"#
            )
            .is_err()
        );
    }
}
