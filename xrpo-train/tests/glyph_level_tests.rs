//! Level 8 of the arithmetic task (`a#b=`, `#` defined only by exemplars) and the
//! warm-up's operator-inference puzzles that teach the tiny model to read exemplars.

use std::collections::HashSet;

use xrpo_seed::{ExemplarBank, ExemplarSeeder, PromptId, Provenance};
use xrpo_train::task::TaskUse;
use xrpo_train::task::arithmetic::{
    self, ArithmeticConfig, GLYPH_LEVEL, LEVEL_GLYPH, PUZZLE_GLYPHS, PuzzleOp, glyph_puzzle,
};
use xrpo_train::task::{SplitMix64, in_eval_split};
use xrpo_train::tokenizer::ARITHMETIC_ALPHABET;
use xrpo_train::trainer::{TrainConfig, build_task};

/// Splits `"7#3="` into `(7, '#', 3)`, independently of the generator.
fn parse(prompt: &str) -> (i64, char, i64) {
    let body = prompt.strip_suffix('=').expect("prompt ends with '='");
    let i = body
        .find(|c: char| !c.is_ascii_digit())
        .expect("an operator");
    let op = body[i..].chars().next().unwrap();
    let (a, b) = (&body[..i], &body[i + op.len_utf8()..]);
    (a.parse().unwrap(), op, b.parse().unwrap())
}

fn glyph_only() -> ArithmeticConfig {
    ArithmeticConfig {
        levels: vec![GLYPH_LEVEL],
        ..ArithmeticConfig::default()
    }
}

#[test]
fn level_8_is_subtraction_under_the_hash_glyph_with_disjoint_splits() {
    let cfg = glyph_only();
    let set = arithmetic::generate(&cfg, 5).unwrap();
    assert_eq!(set, arithmetic::generate(&cfg, 5).unwrap(), "deterministic");
    set.check_disjoint().unwrap();
    let mut seen = HashSet::new();
    for p in set.train.iter().chain(&set.eval) {
        let (a, op, b) = parse(&p.prompt);
        assert_eq!(op, '#', "{}", p.prompt);
        assert!(
            (1..=a).contains(&b) && a <= 9,
            "operands out of range: {}",
            p.prompt
        );
        // Gold by hand: `#` is `-`.
        assert_eq!(p.answer, (a - b).to_string(), "{}", p.prompt);
        assert_eq!(p.solution.as_deref(), Some(p.answer.as_str()));
        assert_eq!(p.level, Some(GLYPH_LEVEL));
        assert_eq!(p.kind.as_deref(), Some("glyph"));
        assert!(seen.insert(p.prompt.clone()), "duplicate {}", p.prompt);
    }
    // 1 ≤ b ≤ a ≤ 9 has 9·10/2 = 45 pairs; the caps (256 train, 24 eval) exceed them, so
    // all 45 are drawn, each in the split its text hash names.
    assert_eq!(seen.len(), 45);
    for p in &set.eval {
        assert!(in_eval_split(&p.prompt, cfg.eval_share));
    }
    for p in &set.train {
        assert!(!in_eval_split(&p.prompt, cfg.eval_share));
    }
    assert!(!set.train.is_empty() && !set.eval.is_empty());
}

#[test]
fn level_8_stays_out_of_the_warmup() {
    let config = TrainConfig::default();
    assert!(config.task.arithmetic.levels.contains(&GLYPH_LEVEL));
    let task = build_task(&config.task, config.seed, TaskUse::Train).unwrap();
    let warm = arithmetic::warmup_problems(&task, &config.task.arithmetic);
    assert!(!warm.is_empty());
    assert!(warm.iter().all(|p| !p.prompt.contains(LEVEL_GLYPH)));
    assert!(task.train.iter().any(|p| p.level == Some(GLYPH_LEVEL)));
    assert!(task.eval.iter().any(|p| p.level == Some(GLYPH_LEVEL)));
}

#[test]
fn puzzles_share_one_glyph_and_one_rule_that_is_never_the_level_glyph() {
    let mut rng = SplitMix64::new(42);
    let mut ops = HashSet::new();
    let mut glyphs = HashSet::new();
    for _ in 0..2000 {
        let k = 2;
        let p = glyph_puzzle(&mut rng, k);
        assert_eq!(p.exemplars.len(), k);
        assert_ne!(p.glyph, LEVEL_GLYPH);
        assert!(PUZZLE_GLYPHS.contains(p.glyph));
        ops.insert(p.op);
        glyphs.insert(p.glyph);
        let mut prompts = HashSet::new();
        for (q, a) in p
            .exemplars
            .iter()
            .chain([&(p.prompt.clone(), p.answer.clone())])
        {
            assert!(prompts.insert(q.clone()), "repeated prompt {q}");
            let (x, g, y) = parse(q);
            assert_eq!(g, p.glyph, "{q}");
            assert!((0..=9).contains(&x) && (0..=9).contains(&y), "{q}");
            // The rule, written out independently of `PuzzleOp::apply`.
            let want = match p.op {
                PuzzleOp::Add => (x + y).to_string(),
                PuzzleOp::Sub => {
                    assert!(x >= y, "negative difference in {q}");
                    (x - y).to_string()
                }
                PuzzleOp::Concat => format!("{x}{y}"),
                PuzzleOp::Swap => format!("{y}{x}"),
            };
            assert_eq!(a, &want, "{q} under {:?}", p.op);
            assert!(
                q.chars()
                    .chain(a.chars())
                    .all(|c| ARITHMETIC_ALPHABET.contains(c)),
                "{q}{a} leaves the tiny model's alphabet"
            );
        }
    }
    // Every rule and most glyphs occur, so no glyph is tied to one rule by the draw.
    assert_eq!(ops.len(), PuzzleOp::ALL.len());
    assert!(glyphs.len() * 10 >= PUZZLE_GLYPHS.chars().count() * 9);
}

#[test]
fn puzzle_share_is_validated_by_name() {
    for bad in [-0.1, 1.5, f64::NAN] {
        let cfg = ArithmeticConfig {
            puzzle_share: bad,
            ..ArithmeticConfig::default()
        };
        let err = arithmetic::generate(&cfg, 0).unwrap_err();
        assert!(err.to_string().contains("puzzle_share"), "{err}");
    }
}

/// The design relies on the lexical bank retrieving other `#` prompts for a `#` prompt:
/// with the trainer's default seeding settings and a bank of all training gold solutions
/// (as `xrpo eval --exemplars 2` builds it), every level-8 eval prompt gets K = 2
/// exemplars, all level-8 *training* prompts with their gold answers, none an eval prompt.
#[test]
fn level_8_eval_prompts_retrieve_level_8_training_exemplars_only() {
    let config = TrainConfig::default();
    let task = build_task(&config.task, config.seed, TaskUse::Train).unwrap();
    let mut bank = ExemplarBank::lexical(config.seed_bank.clone()).unwrap();
    bank.block_texts(task.eval.iter().map(|p| p.prompt.as_str()));
    for p in &task.train {
        bank.record(
            &PromptId::from(p.id.as_str()),
            &p.prompt,
            p.solution.as_deref().unwrap(),
            Provenance::Curated { source: None },
        )
        .unwrap();
    }
    let eval_texts: HashSet<&str> = task.eval.iter().map(|p| p.prompt.as_str()).collect();
    let mut checked = 0;
    for p in task.eval.iter().filter(|p| p.level == Some(GLYPH_LEVEL)) {
        let seeded = bank
            .seed(&PromptId::from(p.id.as_str()), &p.prompt)
            .unwrap()
            .expect("a level-8 prompt finds exemplars");
        let lines: Vec<&str> = seeded.text.split('\n').collect();
        assert_eq!(lines.len(), 3, "{:?}", seeded.text);
        assert_eq!(lines[2], p.prompt);
        for line in &lines[..2] {
            let eq = line.find('=').unwrap() + 1;
            let (q, a) = line.split_at(eq);
            assert!(
                !eval_texts.contains(q),
                "eval prompt {q} leaked as exemplar"
            );
            let (x, g, y) = parse(q);
            assert_eq!(g, '#', "non-level-8 exemplar {line:?} for {}", p.prompt);
            assert_eq!(a, (x - y).to_string());
        }
        checked += 1;
    }
    assert!(checked > 0);
}
