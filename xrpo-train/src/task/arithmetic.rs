//! Arithmetic expressions on a difficulty ladder, for the tiny character-level model.
//!
//! Text stays inside the built-in character alphabet (digits, `+ - * = ( )`). A prompt is
//! the expression with a trailing `=` (`"47+8="`), the gold completion is the result
//! (`"55"`), which the model ends with EOS (or a newline).
//!
//! | level | form | operands | problems |
//! |---|---|---|---|
//! | 0 | `a+b=` | a, b ∈ 0..=9 | 100 |
//! | 1 | `a+b=` | a ∈ 10..=99, b ∈ 0..=9 | 900 |
//! | 2 | `a-b=` | a ∈ 10..=99, b ∈ 0..=9 | 900 |
//! | 3 | `a*b=` | a, b ∈ 2..=9 | 64 |
//! | 4 | `a+b=` | a, b ∈ 10..=99 | 8,100 |
//! | 5 | `a-b=` | 10 ≤ b ≤ a ≤ 99 | 4,095 |
//! | 6 | `a*b=` | a ∈ 10..=99, b ∈ 2..=9 | 720 |
//! | 7 | `(a+b)*c=` | a, b, c ∈ 1..=9 | 729 |
//!
//! The supervised warm-up trains on gold solutions of the easy levels only
//! (`warmup_max_level`, default 2), so reinforcement learning starts from partial success:
//! near-solved easy levels, some middle levels near 50 %, the hardest at 0 %.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use xrpo_reward::Reference;

use super::{Problem, SplitMix64, TaskError, TaskSet, in_eval_split};

/// Highest level of the ladder.
pub const MAX_LEVEL: u32 = 7;

/// Settings of the arithmetic family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArithmeticConfig {
    /// Levels to include (0..=7). Default all.
    pub levels: Vec<u32>,
    /// Training problems per level (fewer when a level has fewer). Default 256.
    pub train_per_level: usize,
    /// Eval problems per level (fewer when a level has fewer). Default 24.
    pub eval_per_level: usize,
    /// Share of the prompt space (by hash of the text) reserved for evaluation. Default
    /// 0.2. In `(0, 1)`.
    pub eval_share: f64,
    /// Highest level whose gold solutions the supervised warm-up sees. Default 2.
    pub warmup_max_level: u32,
}

impl Default for ArithmeticConfig {
    fn default() -> Self {
        Self {
            levels: (0..=MAX_LEVEL).collect(),
            train_per_level: 256,
            eval_per_level: 24,
            eval_share: 0.2,
            warmup_max_level: 2,
        }
    }
}

impl ArithmeticConfig {
    /// Checks ranges; the error names the setting.
    pub fn validate(&self) -> Result<(), TaskError> {
        if let Some(l) = self.levels.iter().find(|&&l| l > MAX_LEVEL) {
            return Err(TaskError::Setting {
                name: "levels",
                message: format!("level {l} > {MAX_LEVEL}"),
            });
        }
        if self.levels.is_empty() {
            return Err(TaskError::Setting {
                name: "levels",
                message: "no level selected".into(),
            });
        }
        if !(self.eval_share > 0.0 && self.eval_share < 1.0) {
            return Err(TaskError::Setting {
                name: "eval_share",
                message: format!("{} is not in (0, 1)", self.eval_share),
            });
        }
        if self.train_per_level == 0 {
            return Err(TaskError::Setting {
                name: "train_per_level",
                message: "must be >= 1".into(),
            });
        }
        Ok(())
    }
}

/// Draws one expression of `level`: `(prompt, answer)`.
fn draw(level: u32, rng: &mut SplitMix64) -> (String, i64) {
    match level {
        0 => {
            let (a, b) = (rng.range(0, 9), rng.range(0, 9));
            (format!("{a}+{b}="), a + b)
        }
        1 => {
            let (a, b) = (rng.range(10, 99), rng.range(0, 9));
            (format!("{a}+{b}="), a + b)
        }
        2 => {
            let (a, b) = (rng.range(10, 99), rng.range(0, 9));
            (format!("{a}-{b}="), a - b)
        }
        3 => {
            let (a, b) = (rng.range(2, 9), rng.range(2, 9));
            (format!("{a}*{b}="), a * b)
        }
        4 => {
            let (a, b) = (rng.range(10, 99), rng.range(10, 99));
            (format!("{a}+{b}="), a + b)
        }
        5 => {
            let a = rng.range(10, 99);
            let b = rng.range(10, a);
            (format!("{a}-{b}="), a - b)
        }
        6 => {
            let (a, b) = (rng.range(10, 99), rng.range(2, 9));
            (format!("{a}*{b}="), a * b)
        }
        _ => {
            let (a, b, c) = (rng.range(1, 9), rng.range(1, 9), rng.range(1, 9));
            (format!("({a}+{b})*{c}="), (a + b) * c)
        }
    }
}

fn kind(level: u32) -> &'static str {
    match level {
        0 | 1 | 4 => "add",
        2 | 5 => "sub",
        3 | 6 => "mul",
        _ => "paren",
    }
}

/// Generates the task set for `seed`: deterministic, disjoint splits, ordered by level.
pub fn generate(config: &ArithmeticConfig, seed: u64) -> Result<TaskSet, TaskError> {
    config.validate()?;
    let mut train = Vec::new();
    let mut eval = Vec::new();
    for &level in &config.levels {
        let mut rng = SplitMix64::new(seed ^ (0x5eed_0000 + level as u64).wrapping_mul(0x9e37));
        let mut seen = HashSet::new();
        let (mut n_train, mut n_eval) = (0, 0);
        let attempts = 40 * (config.train_per_level + config.eval_per_level);
        for _ in 0..attempts {
            if n_train >= config.train_per_level && n_eval >= config.eval_per_level {
                break;
            }
            let (prompt, value) = draw(level, &mut rng);
            if !seen.insert(prompt.clone()) {
                continue;
            }
            let is_eval = in_eval_split(&prompt, config.eval_share);
            let target = if is_eval { &mut n_eval } else { &mut n_train };
            let cap = if is_eval {
                config.eval_per_level
            } else {
                config.train_per_level
            };
            if *target >= cap {
                continue;
            }
            *target += 1;
            let answer = value.to_string();
            let problem = Problem {
                id: format!("L{level}:{prompt}"),
                reference: Reference::Math {
                    answer: answer.clone(),
                },
                solution: Some(answer.clone()),
                answer,
                prompt,
                level: Some(level),
                kind: Some(kind(level).to_string()),
            };
            if is_eval {
                eval.push(problem);
            } else {
                train.push(problem);
            }
        }
    }
    let set = TaskSet {
        name: "arithmetic".into(),
        train,
        eval,
    };
    if set.train.is_empty() {
        return Err(TaskError::Empty {
            name: set.name,
            split: "train",
        });
    }
    set.check_disjoint()?;
    Ok(set)
}

/// Training problems whose gold solutions the supervised warm-up uses (level ≤
/// `config.warmup_max_level`).
pub fn warmup_problems<'a>(set: &'a TaskSet, config: &ArithmeticConfig) -> Vec<&'a Problem> {
    set.train
        .iter()
        .filter(|p| p.level.is_some_and(|l| l <= config.warmup_max_level))
        .collect()
}
