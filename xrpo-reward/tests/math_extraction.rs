//! Answer extraction: which part of a response is the final answer.

use xrpo_reward::math::{Extractor, MathConfig, Target, extract_answers};

/// The text of the answer extracted from `response` with `cfg`.
fn extracted(cfg: &MathConfig, response: &str) -> Option<String> {
    Extractor::new(cfg)
        .extract(response)
        .parsed
        .map(|(text, _)| text)
}

fn check(cfg: &MathConfig, rows: &[(&str, Option<&str>)]) {
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(response, want)| {
            let got = extracted(cfg, response);
            (got.as_deref() != *want).then(|| format!("{response:?}: want {want:?}, got {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn anchors_and_the_last_answer() {
    let cfg = MathConfig::default();
    check(
        &cfg,
        &[
            ("so \\boxed{\\frac{1}{2}}.", Some("\\frac{1}{2}")),
            ("so \\fbox{7}.", Some("7")),
            (
                "nested \\boxed{\\frac{a}{\\sqrt{b}}} ok",
                Some("\\frac{a}{\\sqrt{b}}"),
            ),
            ("\\boxed{1}, \\boxed{2}", Some("1,2")), // "," joins a list
            ("first \\boxed{1}, later \\boxed{2}", Some("2")), // a correction
            (
                "first \\boxed{1}. Then, on reflection, \\boxed{2}",
                Some("2"),
            ),
            ("Answer: 17", Some("17")),
            (
                "The final answer is $\\frac{3}{4}$. I hope it is correct.",
                Some("\\frac{3}{4}"),
            ),
            ("The final answer is 12. I hope it is correct.", Some("12")),
            ("so 3 + 4 = 7\n#### 7", Some("7")),
            ("we have $x = 2$ and $y = 3$", Some("x = 2,y = 3")),
            ("we have $x = 2$ and then $y = 3$", Some("y = 3")),
            ("the value is \\[ 9 \\]", Some("9")),
            ("the value is \\( 9 \\)", Some("9")),
            ("there are 3 cats and 12 dogs", Some("12")),
            ("price $5 then 7", Some("7")),
            ("nothing to see", None),
        ],
    );
}

#[test]
fn boxed_priority_is_configurable() {
    let text = "The final answer is $3$. I hope it is correct. Earlier: \\boxed{4}";
    let boxed_first = MathConfig {
        boxed_priority: 0,
        ..MathConfig::default()
    };
    let anchors_first = MathConfig {
        boxed_priority: 60,
        ..MathConfig::default()
    };
    assert_eq!(extracted(&boxed_first, text).as_deref(), Some("4"));
    assert_eq!(extracted(&anchors_first, text).as_deref(), Some("3"));
}

#[test]
fn targets_select_the_extractors() {
    let latex_only = MathConfig {
        targets: vec![Target::Latex],
        ..MathConfig::default()
    };
    assert_eq!(extracted(&latex_only, "the answer is 5"), None);
    let expr_only = MathConfig {
        targets: vec![Target::Expr],
        ..MathConfig::default()
    };
    assert_eq!(
        extracted(&expr_only, "the answer is 5 and \\boxed{6}").as_deref(),
        Some("5"),
        "plain-text extraction does not read LaTeX boxes"
    );
    let no_anchorless = MathConfig {
        try_extract_without_anchor: false,
        ..MathConfig::default()
    };
    assert_eq!(extracted(&no_anchorless, "there are 12 dogs"), None);
    assert_eq!(
        extracted(&no_anchorless, "Answer: 12 dogs").as_deref(),
        Some("12")
    );
}

#[test]
fn candidates_are_ordered_by_priority_then_from_the_right() {
    let cands = extract_answers(
        "$1$ then $2$ and Answer: $3$ and \\boxed{4}",
        &MathConfig::default(),
    );
    let order: Vec<&str> = cands.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        order.first(),
        Some(&"4"),
        "boxed first at the default priority"
    );
    let prio: Vec<u32> = cands.iter().map(|c| c.priority).collect();
    assert!(
        prio.windows(2).all(|w| w[0] <= w[1]),
        "priorities ascend: {prio:?}"
    );
}

#[test]
fn long_responses_are_searched_whole() {
    // Issue 14: a `\boxed{}` more than 16 KB before the end was cut off and a later
    // number scored instead. The whole response is searched now.
    let text = format!("\\boxed{{1}} {} the count is 2", "filler ".repeat(10_000));
    assert!(text.len() > 64_000);
    assert_eq!(
        extracted(&MathConfig::default(), &text).as_deref(),
        Some("1")
    );
    // Past `max_response_chars` nothing is extracted (judged too large), never a tail.
    let cfg = MathConfig {
        max_response_chars: 100,
        ..MathConfig::default()
    };
    assert_eq!(extracted(&cfg, &text), None);
    let verdict = xrpo_reward::math::MathVerifier::new(cfg)
        .unwrap()
        .judge("2", &text);
    assert_eq!(
        (verdict.outcome, verdict.reason),
        (xrpo_reward::Outcome::Wrong, xrpo_reward::Reason::TooLarge)
    );
}

#[test]
fn answer_lines_models_write() {
    let cfg = MathConfig::default();
    check(
        &cfg,
        &[
            ("Answer: 2x + 3", Some("2x + 3")),
            ("Final Answer: **73**", Some("73")),
            ("The answer is +7.", Some("+7")),
            ("Answer: \u{2212}43", Some("-43")),
            ("Earlier $n = 16$.\n#### 43", Some("43")),
            ("The answer is 42 apples.", Some("42")),
            ("The answer is \\$40.", Some("40")),
            ("Answer: sqrt(2)", Some("sqrt(2)")),
            ("The answer is 1 000.", Some("1000")),
        ],
    );
}

#[test]
fn escaped_backslashes_are_undone() {
    let cfg = MathConfig::default();
    check(
        &cfg,
        &[("so \\\\boxed{\\\\frac{1}{2}}", Some("\\frac{1}{2}"))],
    );
}
