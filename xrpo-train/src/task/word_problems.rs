//! Arithmetic word problems in English, for chat models such as SmolLM2.
//!
//! Three templates (as the project's PyTorch anchor, `shared/bench/torch_anchor.py`):
//! buy-then-give-away (`a + b − c`), boxes (`b · c`), lost-then-found (`a − (b mod a) + c`).
//! The prompt is the user turn; the trainer wraps it in the model's chat template.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use xrpo_reward::Reference;

use super::{Problem, SplitMix64, TaskError, TaskSet, in_eval_split};

const NAMES: [&str; 8] = ["Tom", "Ann", "Sam", "Lily", "Ben", "Mia", "Jack", "Emma"];
const ITEMS: [&str; 8] = [
    "apples", "pencils", "marbles", "stickers", "cookies", "books", "coins", "cards",
];

/// Settings of the word-problem family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WordProblemConfig {
    /// Training problems. Default 512.
    pub train: usize,
    /// Eval problems. Default 64.
    pub eval: usize,
    /// Share of the prompt space (by hash) reserved for evaluation. Default 0.2.
    pub eval_share: f64,
    /// Text appended to every problem (an answer-format instruction). Default
    /// `" Answer with the number at the end."`.
    pub instruction: String,
}

impl Default for WordProblemConfig {
    fn default() -> Self {
        Self {
            train: 512,
            eval: 64,
            eval_share: 0.2,
            instruction: " Answer with the number at the end.".into(),
        }
    }
}

/// Generates `config.train` + `config.eval` problems for `seed`, disjoint by prompt hash.
pub fn generate(config: &WordProblemConfig, seed: u64) -> Result<TaskSet, TaskError> {
    if !(config.eval_share > 0.0 && config.eval_share < 1.0) {
        return Err(TaskError::Setting {
            name: "eval_share",
            message: format!("{} is not in (0, 1)", config.eval_share),
        });
    }
    let mut rng = SplitMix64::new(seed ^ 0x3070_7264);
    let mut seen = HashSet::new();
    let (mut train, mut eval) = (Vec::new(), Vec::new());
    let attempts = 40 * (config.train + config.eval);
    for i in 0..attempts {
        if train.len() >= config.train && eval.len() >= config.eval {
            break;
        }
        let name = NAMES[rng.range(0, 7) as usize];
        let item = ITEMS[rng.range(0, 7) as usize];
        let (a, b, c) = (rng.range(10, 60), rng.range(5, 40), rng.range(2, 9));
        let (kind, text, answer) = match i % 3 {
            0 => (
                "buy_give",
                format!(
                    "{name} has {a} {item} and buys {b} more, then gives away {c}. How many {item} are left?"
                ),
                a + b - c,
            ),
            1 => (
                "boxes",
                format!(
                    "{name} has {c} boxes with {b} {item} in each box. How many {item} are there in total?"
                ),
                b * c,
            ),
            _ => (
                "lost_found",
                format!(
                    "{name} had {a} {item}, lost {}, and then found {c}. How many {item} does {name} have now?",
                    b % a
                ),
                a - (b % a) + c,
            ),
        };
        if !seen.insert(text.clone()) {
            continue;
        }
        let is_eval = in_eval_split(&text, config.eval_share);
        let (list, cap) = if is_eval {
            (&mut eval, config.eval)
        } else {
            (&mut train, config.train)
        };
        if list.len() >= cap {
            continue;
        }
        let answer = answer.to_string();
        list.push(Problem {
            id: format!(
                "wp{}:{}",
                if is_eval { "e" } else { "t" },
                super::fnv1a(&text)
            ),
            prompt: format!("{text}{}", config.instruction),
            reference: Reference::Math {
                answer: answer.clone(),
            },
            solution: Some(format!("The answer is {answer}.")),
            answer,
            level: None,
            kind: Some(kind.to_string()),
        });
    }
    super::finish_task("word_problems", train, eval)
}
