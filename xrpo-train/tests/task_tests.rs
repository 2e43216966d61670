//! Built-in tasks, the JSON-lines loader and the exact-answer verifier.

use std::collections::HashSet;

use xrpo_reward::{Outcome, Reference, Verifier};
use xrpo_train::task::arithmetic::{self, ArithmeticConfig, MAX_LEVEL};
use xrpo_train::task::word_problems::{self, WordProblemConfig};
use xrpo_train::task::{AnswerExtraction, ExactAnswerVerifier, TaskError, in_eval_split, jsonl};

/// Evaluates the arithmetic prompts independently: `a op b=` or `(a+b)*c=`.
fn eval_expr(prompt: &str) -> i64 {
    let e = prompt.strip_suffix('=').unwrap();
    if let Some(rest) = e.strip_prefix('(') {
        let (sum, c) = rest.split_once(")*").unwrap();
        let (a, b) = sum.split_once('+').unwrap();
        return (a.parse::<i64>().unwrap() + b.parse::<i64>().unwrap()) * c.parse::<i64>().unwrap();
    }
    for (op, f) in [
        ('+', (|a, b| a + b) as fn(i64, i64) -> i64),
        ('-', |a, b| a - b),
        ('*', |a, b| a * b),
        // Level 8: `#` means `-`.
        ('#', |a, b| a - b),
    ] {
        if let Some((a, b)) = e.split_once(op) {
            return f(a.parse().unwrap(), b.parse().unwrap());
        }
    }
    panic!("unexpected prompt {prompt}");
}

#[test]
fn arithmetic_is_deterministic_disjoint_and_correct() {
    let cfg = ArithmeticConfig::default();
    let a = arithmetic::generate(&cfg, 11).unwrap();
    let b = arithmetic::generate(&cfg, 11).unwrap();
    assert_eq!(a, b, "same seed, same task");
    let c = arithmetic::generate(&cfg, 12).unwrap();
    assert_ne!(a.train, c.train, "another seed draws other problems");
    a.check_disjoint().unwrap();
    let train: HashSet<_> = a.train.iter().map(|p| &p.prompt).collect();
    for p in &a.eval {
        assert!(!train.contains(&p.prompt));
        assert!(in_eval_split(&p.prompt, cfg.eval_share));
    }
    for p in a.train.iter().chain(&a.eval) {
        assert_eq!(p.answer, eval_expr(&p.prompt).to_string(), "{}", p.prompt);
        assert_eq!(p.solution.as_deref(), Some(p.answer.as_str()));
        // Stays inside the tiny model's alphabet.
        assert!(
            p.prompt.chars().all(|c| "0123456789+-*=()#".contains(c)),
            "{}",
            p.prompt
        );
    }
    // Every level present in both splits; small levels capped by their size.
    for level in 0..=MAX_LEVEL {
        let n = a.train.iter().filter(|p| p.level == Some(level)).count();
        let m = a.eval.iter().filter(|p| p.level == Some(level)).count();
        assert!(n > 0 && m > 0, "level {level}: {n} train, {m} eval");
    }
    // Level 0 has only 100 distinct problems.
    let l0 = a
        .train
        .iter()
        .chain(&a.eval)
        .filter(|p| p.level == Some(0))
        .count();
    assert!(l0 <= 100);
}

#[test]
fn warmup_uses_easy_levels_only() {
    let cfg = ArithmeticConfig::default();
    let set = arithmetic::generate(&cfg, 3).unwrap();
    let warm = arithmetic::warmup_problems(&set, &cfg);
    assert!(!warm.is_empty());
    assert!(
        warm.iter()
            .all(|p| p.level.unwrap() <= cfg.warmup_max_level)
    );
    assert!(
        set.train
            .iter()
            .any(|p| p.level.unwrap() > cfg.warmup_max_level)
    );
}

#[test]
fn arithmetic_settings_are_checked() {
    let err = arithmetic::generate(
        &ArithmeticConfig {
            levels: vec![9],
            ..Default::default()
        },
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("levels"), "{err}");
    let err = arithmetic::generate(
        &ArithmeticConfig {
            eval_share: 1.0,
            ..Default::default()
        },
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("eval_share"), "{err}");
}

#[test]
fn word_problems_answers_follow_their_story() {
    let cfg = WordProblemConfig::default();
    let set = word_problems::generate(&cfg, 5).unwrap();
    assert_eq!(set.train.len(), cfg.train);
    assert_eq!(set.eval.len(), cfg.eval);
    set.check_disjoint().unwrap();
    assert_eq!(set, word_problems::generate(&cfg, 5).unwrap());
    for p in set.train.iter().take(60) {
        let nums: Vec<i64> = p
            .prompt
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        let expected = match p.kind.as_deref().unwrap() {
            "buy_give" => nums[0] + nums[1] - nums[2],
            "boxes" => nums[0] * nums[1],
            "lost_found" => nums[0] - nums[1] + nums[2],
            k => panic!("kind {k}"),
        };
        assert_eq!(p.answer, expected.to_string(), "{}", p.prompt);
    }
}

#[test]
fn jsonl_loads_math_and_code_rows() {
    let text = r#"{"prompt": "What is 2+3?", "answer": "5"}

{"id": "p7", "prompt": "Half of 8?", "answer": 4, "kind": "math", "source": "mine"}
{"prompt": "Write add.", "kind": "code", "tests": {"tests": "def check(f): assert f(1,2)==3", "entry_point": "add"}}
"#;
    let rows = jsonl::parse(text, "data.jsonl").unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].id, "data.jsonl:1");
    assert_eq!(rows[1].id, "p7");
    assert_eq!(rows[1].answer, "4");
    assert!(matches!(rows[2].reference, Reference::Code(_)));
}

#[test]
fn malformed_jsonl_names_the_line_and_field() {
    let cases = [
        (
            "{\"prompt\": \"a\", \"answer\": \"1\"}\n{oops\n",
            2,
            "invalid JSON",
        ),
        ("{\"answer\": \"1\"}\n", 1, "prompt"),
        ("\n\n{\"prompt\": \"x\"}\n", 3, "answer"),
        ("{\"prompt\": \"x\", \"kind\": \"code\"}\n", 1, "tests"),
        ("{\"prompt\": \"x\", \"answer\": [1]}\n", 1, "answer"),
    ];
    for (text, line, needle) in cases {
        match jsonl::parse(text, "f.jsonl") {
            Err(TaskError::BadLine {
                line: l, message, ..
            }) => {
                assert_eq!(l, line, "{text:?}: {message}");
                assert!(message.contains(needle), "{text:?}: {message}");
            }
            other => panic!("{text:?}: expected a line error, got {other:?}"),
        }
    }
    let err = jsonl::parse("{oops", "f.jsonl").unwrap_err().to_string();
    assert!(err.starts_with("f.jsonl:1:"), "{err}");
}

#[test]
fn jsonl_task_split_is_disjoint() {
    let dir = std::env::temp_dir().join(format!("xrpo-task-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let train = dir.join("train.jsonl");
    let eval = dir.join("eval.jsonl");
    let mut lines = String::new();
    for i in 0..200 {
        lines.push_str(&format!(
            "{{\"prompt\": \"{i}+1=\", \"answer\": \"{}\"}}\n",
            i + 1
        ));
    }
    std::fs::write(&train, &lines).unwrap();
    let set = jsonl::load_task(&train, None, 0.25).unwrap();
    assert_eq!(set.train.len() + set.eval.len(), 200);
    assert!(!set.eval.is_empty() && set.eval.len() < 100);
    set.check_disjoint().unwrap();
    // With an explicit eval file, repeated prompts are dropped from training.
    std::fs::write(&eval, "{\"prompt\": \"3+1=\", \"answer\": \"4\"}\n").unwrap();
    let set = jsonl::load_task(&train, Some(&eval), 0.25).unwrap();
    assert_eq!(set.train.len(), 199);
    assert_eq!(set.eval.len(), 1);
    let missing = jsonl::load(&dir.join("nope.jsonl")).unwrap_err();
    assert!(missing.to_string().contains("nope.jsonl"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn exact_verifier_outcomes() {
    let gold = Reference::Math {
        answer: "19".into(),
    };
    let first = ExactAnswerVerifier::default();
    let v = first.verify("19\n3+4=7", &gold).unwrap();
    assert_eq!((v.outcome, v.reward), (Outcome::Correct, 1.0));
    assert_eq!(v.extracted.as_deref(), Some("19"));
    assert_eq!(first.verify("190", &gold).unwrap().outcome, Outcome::Wrong);
    assert_eq!(first.verify("", &gold).unwrap().outcome, Outcome::Wrong);
    let last = ExactAnswerVerifier {
        extraction: AnswerExtraction::LastInteger,
    };
    assert!(
        last.verify("So 7 + 12 = 19 apples.", &gold)
            .unwrap()
            .correct()
    );
    assert!(!last.verify("It is 18", &gold).unwrap().correct());
    let neg = Reference::Math {
        answer: "-3".into(),
    };
    assert!(last.verify("x = -3", &neg).unwrap().correct());
    let bad_gold = Reference::Math {
        answer: "n/a".into(),
    };
    assert_eq!(
        last.verify("3", &bad_gold).unwrap().outcome,
        Outcome::Unverifiable
    );
}
