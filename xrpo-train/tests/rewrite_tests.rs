//! The string-rewriting family (`task.kind = "rewrite"`): generation, splits, gold
//! answers against an independent oracle, the verifier's verdicts, the warm-up's pool and
//! puzzles, and the settings' checks.

use std::collections::HashSet;

use proptest::prelude::*;
use xrpo_reward::{Outcome, Reference, Verifier};
use xrpo_train::rng::SplitMix64;
use xrpo_train::task::rewrite::{
    self, GLYPH_LEVEL, LETTERS, MAX_LEVEL, PUZZLE_GLYPHS, RewriteConfig, RewriteOp,
};
use xrpo_train::task::{
    AnswerExtraction, ExactAnswerVerifier, TaskConfig, TaskKind, TaskUse, build_task, in_eval_split,
};
use xrpo_train::tokenizer::ARITHMETIC_ALPHABET;
use xrpo_train::trainer::TrainConfig;

/// The operations by index arithmetic, written apart from `RewriteOp::apply`: output
/// position `i` takes input position `src(i)`.
fn oracle(glyph: char, word: &str) -> String {
    let w: Vec<char> = word.chars().collect();
    let n = w.len();
    let src = |i: usize| match glyph {
        '<' => n - 1 - i,
        '>' => (i + 1) % n,
        '^' => (i + n - 1) % n,
        // `#`: swap adjacent pairs; a last odd position stays.
        '#' if i ^ 1 < n => i ^ 1,
        '#' => i,
        _ => panic!("unexpected glyph {glyph}"),
    };
    (0..n).map(|i| w[src(i)]).collect()
}

fn split_prompt(prompt: &str) -> (char, &str) {
    let body = prompt.strip_suffix('=').expect("ends with =");
    let glyph = body.chars().next().expect("has a glyph");
    (glyph, &body[glyph.len_utf8()..])
}

fn verifier() -> ExactAnswerVerifier {
    // The trainer's default verifier (`task.verifier = "first_line"`).
    ExactAnswerVerifier {
        extraction: AnswerExtraction::FirstLine,
    }
}

#[test]
fn generation_is_deterministic_per_seed_and_splits_are_disjoint() {
    let cfg = RewriteConfig::default();
    let a = rewrite::generate(&cfg, 3).unwrap();
    assert_eq!(
        a,
        rewrite::generate(&cfg, 3).unwrap(),
        "same seed, same task"
    );
    let b = rewrite::generate(&cfg, 4).unwrap();
    assert_ne!(a.train, b.train, "another seed draws other problems");
    a.check_disjoint().unwrap();
    let train: HashSet<&str> = a.train.iter().map(|p| p.prompt.as_str()).collect();
    for p in &a.eval {
        assert!(!train.contains(p.prompt.as_str()), "{} leaks", p.prompt);
        assert!(in_eval_split(&p.prompt, cfg.eval_share));
    }
    for p in &a.train {
        assert!(!in_eval_split(&p.prompt, cfg.eval_share));
    }
    for level in 0..=MAX_LEVEL {
        let n = a.train.iter().filter(|p| p.level == Some(level)).count();
        let m = a.eval.iter().filter(|p| p.level == Some(level)).count();
        assert_eq!(
            (n, m),
            (cfg.train_per_level, cfg.eval_per_level),
            "level {level}"
        );
    }
    // Built through the task config as the trainer does.
    let cfg = TaskConfig {
        kind: TaskKind::Rewrite,
        ..TaskConfig::default()
    };
    assert_eq!(build_task(&cfg, 3, TaskUse::Train).unwrap(), a);
}

#[test]
fn every_gold_matches_the_oracle_and_fits_the_tiny_model() {
    let set = rewrite::generate(&RewriteConfig::default(), 9).unwrap();
    for p in set.train.iter().chain(&set.eval) {
        let (glyph, word) = split_prompt(&p.prompt);
        assert_eq!(p.answer, oracle(glyph, word), "{}", p.prompt);
        assert_eq!(p.solution.as_deref(), Some(p.answer.as_str()));
        assert_eq!(
            p.reference,
            Reference::Math {
                answer: p.answer.clone()
            }
        );
        // Distinct letters; the answer is a different word of the same letters.
        let letters: HashSet<char> = word.chars().collect();
        assert_eq!(letters.len(), word.len(), "{}", p.prompt);
        assert!(word.chars().all(|c| LETTERS.contains(c)));
        assert_ne!(p.answer, word, "{}", p.prompt);
        // Answer + EOS fit the default 6 new tokens; every character is in the alphabet.
        assert!(p.answer.len() <= 5, "{}", p.answer);
        assert!(
            p.prompt
                .chars()
                .chain(p.answer.chars())
                .all(|c| ARITHMETIC_ALPHABET.contains(c)),
            "{}",
            p.prompt
        );
        let level = p.level.unwrap();
        assert_eq!(glyph == '#', level == GLYPH_LEVEL, "{}", p.prompt);
        let len = word.chars().count();
        assert!(
            if level == 3 {
                len == 5
            } else {
                (3..=4).contains(&len)
            },
            "{}",
            p.prompt
        );
    }
}

#[test]
fn every_gold_verifies_and_a_perturbed_answer_does_not() {
    let set = rewrite::generate(&RewriteConfig::default(), 5).unwrap();
    let v = verifier();
    for p in set.train.iter().chain(&set.eval) {
        let right = v.verify(&format!("{}\n", p.answer), &p.reference).unwrap();
        assert_eq!(right.outcome, Outcome::Correct, "{}", p.prompt);
        assert_eq!(right.reward, 1.0);
        // Perturbed: the first two letters swapped (distinct letters, so a new word).
        let mut c: Vec<char> = p.answer.chars().collect();
        c.swap(0, 1);
        let wrong: String = c.into_iter().collect();
        let verdict = v.verify(&wrong, &p.reference).unwrap();
        assert_eq!(verdict.outcome, Outcome::Wrong, "{} vs {wrong}", p.answer);
        assert_eq!(verdict.reward, 0.0);
        // The unrewritten word, and a prefix of the answer, are wrong too.
        let (_, word) = split_prompt(&p.prompt);
        assert_eq!(v.verify(word, &p.reference).unwrap().reward, 0.0);
        let prefix = &p.answer[..p.answer.len() - 1];
        assert_eq!(v.verify(prefix, &p.reference).unwrap().reward, 0.0);
    }
}

#[test]
fn the_warmup_never_sees_the_exemplar_only_level() {
    let cfg = RewriteConfig::default();
    let set = rewrite::generate(&cfg, 1).unwrap();
    let pool = rewrite::warmup_problems(&set, &cfg);
    assert!(!pool.is_empty());
    assert!(
        pool.iter()
            .all(|p| p.level.unwrap() <= cfg.warmup_max_level)
    );
    // Even asked for every level, level 4's `#` stays out.
    let all = RewriteConfig {
        warmup_max_level: MAX_LEVEL,
        ..cfg.clone()
    };
    let pool = rewrite::warmup_problems(&set, &all);
    assert!(pool.iter().any(|p| p.level == Some(3)));
    assert!(pool.iter().all(|p| !p.prompt.contains('#')));
    // The trainer's pool is the same list.
    let task = TaskConfig {
        kind: TaskKind::Rewrite,
        rewrite: cfg.clone(),
        ..TaskConfig::default()
    };
    let trainer_pool = task.warmup_pool(&set);
    let direct: Vec<_> = rewrite::warmup_problems(&set, &cfg)
        .into_iter()
        .cloned()
        .collect();
    assert_eq!(trainer_pool, direct);
}

#[test]
fn puzzles_hide_their_rule_in_the_exemplars_and_never_use_the_level_glyph() {
    let mut rng = SplitMix64::new(17);
    let mut ops = HashSet::new();
    for _ in 0..400 {
        let p = rewrite::puzzle(&mut rng, 2);
        assert!(PUZZLE_GLYPHS.contains(p.glyph));
        assert_ne!(p.glyph, '#');
        assert_eq!(p.exemplars.len(), 2);
        ops.insert(p.op);
        let mut words = HashSet::new();
        for (q, a) in p
            .exemplars
            .iter()
            .chain([&(p.prompt.clone(), p.answer.clone())])
        {
            assert!(!q.contains('#') && !a.contains('#'));
            let body = q.strip_suffix('=').unwrap();
            assert!(body.starts_with(p.glyph), "{q}");
            let word = &body[p.glyph.len_utf8()..];
            assert!(words.insert(word.to_string()), "repeated word {word}");
            assert_eq!(*a, p.op.apply(word));
            // The named glyph's oracle agrees with the puzzle's operation.
            assert_eq!(*a, oracle(p.op.glyph(), word));
        }
        // Copying an exemplar's answer is never right.
        assert!(p.exemplars.iter().all(|(_, a)| *a != p.answer));
    }
    assert_eq!(ops.len(), RewriteOp::ALL.len(), "every operation is drawn");
    // Deterministic per seed.
    let (mut r1, mut r2) = (SplitMix64::new(5), SplitMix64::new(5));
    assert_eq!(rewrite::puzzle(&mut r1, 3), rewrite::puzzle(&mut r2, 3));
}

#[test]
fn settings_are_checked_and_errors_name_the_field() {
    let bad = [
        (
            RewriteConfig {
                levels: vec![5],
                ..RewriteConfig::default()
            },
            "levels",
        ),
        (
            RewriteConfig {
                levels: vec![],
                ..RewriteConfig::default()
            },
            "levels",
        ),
        (
            RewriteConfig {
                eval_share: 1.0,
                ..RewriteConfig::default()
            },
            "eval_share",
        ),
        (
            RewriteConfig {
                puzzle_share: -0.1,
                ..RewriteConfig::default()
            },
            "puzzle_share",
        ),
        (
            RewriteConfig {
                train_per_level: 0,
                ..RewriteConfig::default()
            },
            "train_per_level",
        ),
        (
            RewriteConfig {
                warmup_max_level: 7,
                ..RewriteConfig::default()
            },
            "warmup_max_level",
        ),
    ];
    for (cfg, field) in bad {
        let err = rewrite::generate(&cfg, 0).unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
    RewriteConfig::default().validate().unwrap();
    // Through the trainer's config: selected by name, checked with the section named.
    let mut c = TrainConfig::default();
    c.apply_overrides(&["task.kind=\"rewrite\"".into()])
        .unwrap();
    assert_eq!(c.task.kind, TaskKind::Rewrite);
    c.validate().unwrap();
    c.apply_overrides(&["task.rewrite.levels=[0, 9]".into()])
        .unwrap();
    let err = c.validate().unwrap_err().to_string();
    assert!(
        err.contains("task.rewrite") && err.contains("levels"),
        "{err}"
    );
    let mut c = TrainConfig::default();
    let err = c
        .apply_overrides(&["task.rewrite.levls=[0]".into()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("levls"), "{err}");
}

proptest! {
    /// Every operation is a permutation of the letters, one-to-one on words of a length,
    /// and matches the oracle; swapping pairs twice, and reversing twice, is the identity;
    /// rotating left then right is the identity.
    #[test]
    fn operations_are_the_permutations_they_claim(
        letters in proptest::sample::subsequence(LETTERS.chars().collect::<Vec<_>>(), 1..=8),
        shuffle in any::<u64>(),
    ) {
        let mut v = letters.clone();
        let mut rng = SplitMix64::new(shuffle);
        for i in (1..v.len()).rev() {
            v.swap(i, rng.range(0, i as i64) as usize);
        }
        let w: String = v.into_iter().collect();
        for op in RewriteOp::ALL {
            let out = op.apply(&w);
            let (mut a, mut b): (Vec<char>, Vec<char>) = (w.chars().collect(), out.chars().collect());
            a.sort_unstable();
            b.sort_unstable();
            prop_assert_eq!(a, b);
            prop_assert_eq!(&out, &oracle(op.glyph(), &w));
        }
        prop_assert_eq!(RewriteOp::Reverse.apply(&RewriteOp::Reverse.apply(&w)), w.clone());
        prop_assert_eq!(RewriteOp::SwapPairs.apply(&RewriteOp::SwapPairs.apply(&w)), w.clone());
        prop_assert_eq!(RewriteOp::RotateRight.apply(&RewriteOp::RotateLeft.apply(&w)), w);
    }
}
