//! String rewriting on a difficulty ladder, for the tiny character-level model: the
//! second built-in family, where a solved exemplar *demonstrates a procedure* on another
//! word and the model has to carry it out on its own word.
//!
//! A prompt is an operator glyph, a word of distinct letters from [`LETTERS`] and `=`
//! (`"<abcd="`); the gold completion is the rewritten word (`"dcba"`), which the model ends
//! with EOS (or a newline). Each operation ([`RewriteOp`]) is a small multi-position
//! procedure over the whole word; answers are at most 5 characters, so they fit the
//! trainer's default `sampling.max_new_tokens = 6` with EOS.
//!
//! | level | form | operation | word length | problems |
//! |---|---|---|---|---|
//! | 0 | `<w=` | reverse (`abcd` → `dcba`) | 3–4 | 47,040 |
//! | 1 | `>w=` | rotate left (`abcd` → `bcda`) | 3–4 | 47,040 |
//! | 2 | `^w=` | rotate right (`abcd` → `dabc`) | 3–4 | 47,040 |
//! | 3 | `<w=`, `>w=`, `^w=` | as levels 0–2 | 5 | 1,572,480 |
//! | 4 | `#w=`, `#` means swap adjacent pairs (only exemplars say so) | `abcd` → `badc` | 3–4 | 47,040 |
//!
//! The supervised warm-up trains on gold solutions of levels ≤ `warmup_max_level`
//! (default 2), so RL starts from partial success on levels 0–2 (a short warm-up does not
//! finish them), level 3 asks for the same procedures on longer words than the warm-up
//! ever showed (length generalisation, which the tiny model mostly lacks), and level 4 is
//! unsolved zero-shot.
//!
//! # What the family is for, and how it differs from the arithmetic ladder
//! It is the check that a result on [`super::arithmetic`] is not specific to that task.
//! On the arithmetic ladder's exemplar level an exemplar (`8#2=6`) tells the model which
//! one-step fact it already knows applies (`#` is `-`). Here an exemplar (`#efgh=fehg`)
//! shows a procedure carried out position by position on a *different* word: copying the
//! exemplar's answer is always wrong (exemplars are other words, and every operation is
//! one-to-one), so the model must apply the demonstrated permutation of positions to its
//! own letters. Level 4's procedure, swapping adjacent pairs, is never named by any
//! prompt: the model meets it only in the warm-up's *procedure-inference puzzles*
//! ([`puzzle`]), where exemplars and a target share a glyph drawn from [`PUZZLE_GLYPHS`]
//! whose operation ([`RewriteOp::ALL`]) is drawn anew for each puzzle, so only the
//! exemplars tell which. The puzzles never use `#`, so no level-4 text is ever a warm-up
//! target; level 4's gold answers reach the model only through the exemplar bank
//! (training prompts only; eval prompts are blocked from it).
//!
//! # Honest limits
//! The family was designed from first principles and not tuned on XRPO results, but it is
//! still *designed so that seeding has something to do*: that exemplars help on level 4
//! is a property built into the task, not evidence that seeding helps in general. The
//! procedures are four fixed permutations of at most five positions, which a 4-layer
//! model can learn by attention and copying; the exemplars select and demonstrate one of
//! procedures the warm-up taught (under other glyphs), they do not teach a wholly new
//! algorithm, as a large model's in-context learning can. Letters are distinct within a
//! word, so every operation changes a word of length ≥ 3 and no two operations agree on
//! one.
//!
//! Whether the default warm-up (4000 updates, shared with arithmetic) gives the tiny model
//! the skill level 4 needs is a measured question, not a given: at this commit it does
//! not yet (two exemplars lift level 4 only slightly and hurt level 1), so on this family
//! seeding has less to work with than on arithmetic's level 8. Measure it with
//! `xrpo eval --checkpoint RUN --weights RUN/warmup.safetensors --exemplars 2` against
//! `--exemplars 0`; BENCHMARKS.md holds the figures.

use super::ladder::{Ladder, LadderConfig};
use super::{LadderQuota, Problem, SplitMix64, TaskError, TaskSet, generate_ladder};

/// Highest level of the ladder.
pub const MAX_LEVEL: u32 = 4;

/// The level whose operator (`#`, swap adjacent pairs) only exemplars define.
pub const GLYPH_LEVEL: u32 = 4;

/// The operator glyph of [`GLYPH_LEVEL`]; it means [`RewriteOp::SwapPairs`].
pub const LEVEL_GLYPH: char = '#';

/// The letters words are made of (distinct within a word).
pub const LETTERS: &str = "abcdefghijklmnop";

/// Glyphs of the warm-up's procedure-inference puzzles ([`puzzle`]): characters of the
/// built-in alphabet that are neither letters of [`LETTERS`], `=`, the named operators
/// `< > ^`, whitespace, nor [`LEVEL_GLYPH`].
pub const PUZZLE_GLYPHS: &str = "/.,?:*+-!()";

/// A rewriting procedure over a whole word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RewriteOp {
    /// The letters in reverse order: `abcd` → `dcba`.
    Reverse,
    /// The first letter moved to the end: `abcd` → `bcda`.
    RotateLeft,
    /// The last letter moved to the front: `abcd` → `dabc`.
    RotateRight,
    /// Adjacent pairs swapped, a last odd letter left in place: `abcde` → `badce`.
    SwapPairs,
}

impl RewriteOp {
    /// Every operation, in the puzzles' draw order.
    pub const ALL: [RewriteOp; 4] = [
        RewriteOp::Reverse,
        RewriteOp::RotateLeft,
        RewriteOp::RotateRight,
        RewriteOp::SwapPairs,
    ];

    /// `word` rewritten by the operation.
    pub fn apply(self, word: &str) -> String {
        let mut c: Vec<char> = word.chars().collect();
        match self {
            RewriteOp::Reverse => c.reverse(),
            RewriteOp::RotateLeft if !c.is_empty() => c.rotate_left(1),
            RewriteOp::RotateRight if !c.is_empty() => c.rotate_right(1),
            RewriteOp::SwapPairs => {
                for pair in c.chunks_exact_mut(2) {
                    pair.swap(0, 1);
                }
            }
            _ => {}
        }
        c.into_iter().collect()
    }

    /// The glyph that names the operation in prompts of levels 0–4.
    pub fn glyph(self) -> char {
        match self {
            RewriteOp::Reverse => '<',
            RewriteOp::RotateLeft => '>',
            RewriteOp::RotateRight => '^',
            RewriteOp::SwapPairs => LEVEL_GLYPH,
        }
    }
}

/// Settings of the rewriting family (`task.rewrite`): levels `0..=MAX_LEVEL` (4). Its
/// puzzles are [`puzzle`]s.
pub type RewriteConfig = LadderConfig<Rewrite>;

/// The rewriting ladder, as [`LadderConfig`]'s family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rewrite;

impl Ladder for Rewrite {
    const MAX_LEVEL: u32 = MAX_LEVEL;
}

/// A word of `len` distinct letters of [`LETTERS`].
fn word(rng: &mut SplitMix64, len: usize) -> String {
    let mut pool: Vec<char> = LETTERS.chars().collect();
    let mut out = String::with_capacity(len);
    for _ in 0..len.min(pool.len()) {
        let i = rng.range(0, pool.len() as i64 - 1) as usize;
        out.push(pool.swap_remove(i));
    }
    out
}

/// Draws one problem of `level`: `(op, word)`.
fn draw(level: u32, rng: &mut SplitMix64) -> (RewriteOp, String) {
    let (op, len) = match level {
        0 => (RewriteOp::Reverse, rng.range(3, 4)),
        1 => (RewriteOp::RotateLeft, rng.range(3, 4)),
        2 => (RewriteOp::RotateRight, rng.range(3, 4)),
        3 => (RewriteOp::ALL[rng.range(0, 2) as usize], 5),
        _ => (RewriteOp::SwapPairs, rng.range(3, 4)),
    };
    (op, word(rng, len as usize))
}

fn kind(op: RewriteOp) -> &'static str {
    match op {
        RewriteOp::Reverse => "reverse",
        RewriteOp::RotateLeft => "rotate_left",
        RewriteOp::RotateRight => "rotate_right",
        RewriteOp::SwapPairs => "glyph",
    }
}

/// Generates the task set for `seed`: deterministic, disjoint splits, ordered by level.
pub fn generate(config: &RewriteConfig, seed: u64) -> Result<TaskSet, TaskError> {
    config.validate()?;
    let quota = LadderQuota {
        train: config.train_per_level,
        eval: config.eval_per_level,
        eval_share: config.eval_share,
    };
    let draw = |level, rng: &mut SplitMix64| {
        let (op, w) = draw(level, rng);
        (format!("{}{w}=", op.glyph()), op.apply(&w), kind(op))
    };
    generate_ladder(
        "rewrite",
        &config.levels,
        quota,
        0x4e77_0000,
        'R',
        draw,
        seed,
    )
}

/// Training problems whose gold solutions the supervised warm-up uses: level ≤
/// `config.warmup_max_level`, never [`GLYPH_LEVEL`].
pub fn warmup_problems<'a>(set: &'a TaskSet, config: &RewriteConfig) -> Vec<&'a Problem> {
    set.train
        .iter()
        .filter(|p| {
            p.level
                .is_some_and(|l| l <= config.warmup_max_level && l != GLYPH_LEVEL)
        })
        .collect()
}

/// A procedure-inference puzzle for the warm-up: exemplars and a target that share one
/// glyph whose operation only the exemplars reveal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewritePuzzle {
    /// The glyph (from [`PUZZLE_GLYPHS`], never [`LEVEL_GLYPH`]).
    pub glyph: char,
    /// What the glyph means in this puzzle.
    pub op: RewriteOp,
    /// `(prompt, answer)` exemplars, e.g. `("?efgh=", "fehg")`.
    pub exemplars: Vec<(String, String)>,
    /// The target prompt, e.g. `"?abc="`.
    pub prompt: String,
    /// The target's gold answer, e.g. `"bac"`.
    pub answer: String,
}

/// Draws a puzzle with `k` exemplars: a glyph from [`PUZZLE_GLYPHS`], an operation from
/// [`RewriteOp::ALL`], and `k + 1` distinct words of 3–4 letters (the first `k` the
/// exemplars, the last the target).
pub fn puzzle(rng: &mut SplitMix64, k: usize) -> RewritePuzzle {
    let glyphs: Vec<char> = PUZZLE_GLYPHS.chars().collect();
    let glyph = glyphs[rng.range(0, glyphs.len() as i64 - 1) as usize];
    let op = RewriteOp::ALL[rng.range(0, RewriteOp::ALL.len() as i64 - 1) as usize];
    let mut words: Vec<String> = Vec::with_capacity(k + 1);
    while words.len() < k + 1 {
        let len = rng.range(3, 4) as usize;
        let w = word(rng, len);
        // 47,040 words exist; a repeat is redrawn.
        if !words.contains(&w) {
            words.push(w);
        }
    }
    let render = |w: &str| (format!("{glyph}{w}="), op.apply(w));
    // Invariant: the loop above pushed k + 1 >= 1 words.
    let (prompt, answer) = render(&words.pop().expect("k + 1 >= 1 words"));
    RewritePuzzle {
        glyph,
        op,
        exemplars: words.iter().map(|w| render(w)).collect(),
        prompt,
        answer,
    }
}
