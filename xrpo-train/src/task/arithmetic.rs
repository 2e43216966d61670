//! Arithmetic expressions on a difficulty ladder, for the tiny character-level model.
//!
//! Text stays inside the built-in character alphabet (digits, `+ - * = ( ) #`, and for the
//! warm-up's puzzles a few more glyphs). A prompt is the expression with a trailing `=`
//! (`"47+8="`), the gold completion is the result (`"55"`), which the model ends with EOS
//! (or a newline).
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
//! | 8 | `a#b=`, `#` means `-` (only exemplars say so) | 1 ≤ b ≤ a ≤ 9 | 45 |
//!
//! The supervised warm-up trains on gold solutions of the easy levels only
//! (`warmup_max_level`, default 2), so reinforcement learning starts from partial success:
//! near-solved easy levels, some middle levels near 50 %, the hardest at 0 %.
//!
//! # Level 8: an operator only exemplars define
//!
//! Level 8 is a property of the task we *designed* so that XRPO's in-context seeding has
//! something to seed with; it is not evidence that seeding helps in general. On the
//! other levels a solved exemplar of a similar prompt (`3*5=15` in front of `3*7=`)
//! carries nothing a tiny model can use: it would have to know the operation already.
//! On level 8 the prompt `7#3=` names its operation with a glyph, `#`, that no zero-shot
//! training text ever defines; an exemplar such as `8#2=6` reveals that `#` is
//! subtraction, which the model can already do. Zero-shot the model can only guess;
//! with exemplars of other `#` prompts (which the lexical bank retrieves, the `#`
//! n-grams being rare) it can read the rule off them. This is the tiny-model analogue of
//! the in-context learning of a large model that the paper's seeding relies on.
//!
//! To give the tiny model that skill, a share of the warm-up's seeded examples
//! ([`ArithmeticConfig::puzzle_share`]) are *operator-inference puzzles*
//! ([`glyph_puzzle`]): K exemplars and a target that all use one glyph drawn from
//! [`PUZZLE_GLYPHS`], with an operation ([`PuzzleOp`]: `+`, `-`, digits side by side,
//! digits swapped) drawn anew for each puzzle, so only the exemplars tell which. The
//! puzzles never use `#`, so no level-8 prompt or answer, train or eval, is ever a
//! warm-up target: the model meets `#` first at RL time (or evaluation), and level 8's
//! gold answers reach it only through the exemplar bank (training prompts only; eval
//! prompts are blocked from it).
//!
//! Choices made after a few experiments, stated so nobody mistakes them for findings:
//! one-digit operands (the 4-layer model did not learn to read the operation off
//! exemplars with two-digit operands within a few thousand warm-up updates), and
//! subtraction as the meaning of `#` (with `+`, the model's zero-shot guess for an
//! unknown operator was often already addition, so exemplars had less to add). `b ≥ 1`
//! so that `a#0=` cannot be solved by that addition guess.

use super::ladder::{Ladder, LadderConfig};
use super::{LadderQuota, Problem, SplitMix64, TaskError, TaskSet, generate_ladder};

/// Highest level of the ladder.
pub const MAX_LEVEL: u32 = 8;

/// The level whose operator (`#`, subtraction) only exemplars define (see the module
/// doc).
pub const GLYPH_LEVEL: u32 = 8;

/// The operator glyph of [`GLYPH_LEVEL`]; it means `-`.
pub const LEVEL_GLYPH: char = '#';

/// Glyphs the warm-up's operator-inference puzzles ([`glyph_puzzle`]) use: characters of
/// the built-in alphabet that are neither digits, `=`, the real operators `+ - *`,
/// brackets, whitespace, nor [`LEVEL_GLYPH`].
pub const PUZZLE_GLYPHS: &str = "/^.,?:!<>abcdefghijklmnopqrstuvwxyz";

/// Settings of the arithmetic family (`task.arithmetic`): levels `0..=MAX_LEVEL` (8), the
/// trainer's default picks 0, 1, 2, 3, 8. Its puzzles are [`glyph_puzzle`]s.
pub type ArithmeticConfig = LadderConfig<Arithmetic>;

/// The arithmetic ladder, as [`LadderConfig`]'s family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Arithmetic;

impl Ladder for Arithmetic {
    const MAX_LEVEL: u32 = MAX_LEVEL;
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
        7 => {
            let (a, b, c) = (rng.range(1, 9), rng.range(1, 9), rng.range(1, 9));
            (format!("({a}+{b})*{c}="), (a + b) * c)
        }
        _ => {
            // GLYPH_LEVEL: `#` means `-`; only exemplars say so (module doc).
            let a = rng.range(1, 9);
            let b = rng.range(1, a);
            (format!("{a}{LEVEL_GLYPH}{b}="), a - b)
        }
    }
}

fn kind(level: u32) -> &'static str {
    match level {
        0 | 1 | 4 => "add",
        2 | 5 => "sub",
        3 | 6 => "mul",
        7 => "paren",
        _ => "glyph",
    }
}

/// Generates the task set for `seed`: deterministic, disjoint splits, ordered by level.
pub fn generate(config: &ArithmeticConfig, seed: u64) -> Result<TaskSet, TaskError> {
    config.validate()?;
    let quota = LadderQuota {
        train: config.train_per_level,
        eval: config.eval_per_level,
        eval_share: config.eval_share,
    };
    let draw = |level, rng: &mut SplitMix64| {
        let (prompt, value) = draw(level, rng);
        (prompt, value.to_string(), kind(level))
    };
    generate_ladder(
        "arithmetic",
        &config.levels,
        quota,
        0x5eed_0000,
        'L',
        draw,
        seed,
    )
}

/// Training problems whose gold solutions the supervised warm-up uses (level ≤
/// `config.warmup_max_level`).
pub fn warmup_problems<'a>(set: &'a TaskSet, config: &ArithmeticConfig) -> Vec<&'a Problem> {
    set.train
        .iter()
        .filter(|p| p.level.is_some_and(|l| l <= config.warmup_max_level))
        .collect()
}

/// The operation a puzzle glyph stands for in one [`glyph_puzzle`], on one-digit operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PuzzleOp {
    /// `a+b`.
    Add,
    /// `a-b` (operands drawn with `a ≥ b`).
    Sub,
    /// The digits side by side: `"ab"`.
    Concat,
    /// The digits swapped: `"ba"`.
    Swap,
}

impl PuzzleOp {
    /// Every puzzle operation, in draw order.
    pub const ALL: [PuzzleOp; 4] = [
        PuzzleOp::Add,
        PuzzleOp::Sub,
        PuzzleOp::Concat,
        PuzzleOp::Swap,
    ];

    /// The answer text of `a op b`.
    pub fn apply(self, a: i64, b: i64) -> String {
        match self {
            PuzzleOp::Add => (a + b).to_string(),
            PuzzleOp::Sub => (a - b).to_string(),
            PuzzleOp::Concat => format!("{a}{b}"),
            PuzzleOp::Swap => format!("{b}{a}"),
        }
    }
}

/// An operator-inference puzzle for the warm-up: exemplars and a target that share one
/// glyph whose operation only the exemplars reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlyphPuzzle {
    /// The glyph (from [`PUZZLE_GLYPHS`], never [`LEVEL_GLYPH`]).
    pub glyph: char,
    /// What the glyph means in this puzzle.
    pub op: PuzzleOp,
    /// `(prompt, answer)` exemplars, e.g. `("7:3=", "4")`.
    pub exemplars: Vec<(String, String)>,
    /// The target prompt, e.g. `"8:2="`.
    pub prompt: String,
    /// The target's gold answer, e.g. `"6"`.
    pub answer: String,
}

/// Draws a puzzle with `k` exemplars: a glyph from [`PUZZLE_GLYPHS`], an operation from
/// [`PuzzleOp::ALL`], and `k + 1` distinct one-digit operand pairs (`a ≥ b` for
/// [`PuzzleOp::Sub`]; the first `k` the exemplars, the last the target).
pub fn glyph_puzzle(rng: &mut SplitMix64, k: usize) -> GlyphPuzzle {
    let glyphs: Vec<char> = PUZZLE_GLYPHS.chars().collect();
    let glyph = glyphs[rng.range(0, glyphs.len() as i64 - 1) as usize];
    let op = PuzzleOp::ALL[rng.range(0, PuzzleOp::ALL.len() as i64 - 1) as usize];
    let mut pairs: Vec<(i64, i64)> = Vec::with_capacity(k + 1);
    // 100 pairs (55 with a ≥ b) exist, so k + 1 distinct ones exist for k < 55; beyond
    // that repeats are allowed rather than looping forever.
    let mut tries = 0;
    while pairs.len() < k + 1 {
        let (x, y) = (rng.range(0, 9), rng.range(0, 9));
        let pair = if op == PuzzleOp::Sub {
            (x.max(y), x.min(y))
        } else {
            (x, y)
        };
        tries += 1;
        if pairs.contains(&pair) && tries < 1000 {
            continue;
        }
        pairs.push(pair);
    }
    let render = |(a, b): (i64, i64)| (format!("{a}{glyph}{b}="), op.apply(a, b));
    // Invariant: the loop above pushed k + 1 >= 1 pairs.
    let (prompt, answer) = render(pairs.pop().expect("k + 1 >= 1 pairs"));
    GlyphPuzzle {
        glyph,
        op,
        exemplars: pairs.into_iter().map(render).collect(),
        prompt,
        answer,
    }
}
