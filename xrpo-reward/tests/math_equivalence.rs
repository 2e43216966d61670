//! Normalisation and equivalence, one table per topic of the issue. Each row is
//! `(gold, response, expected)`; expectations are worked out by hand (comments show the
//! arithmetic where it is not obvious), independent of the code under test.

use xrpo_reward::math::{MathConfig, MathVerifier, Target, equivalent};
use xrpo_reward::{Outcome, Reason, Reference, Verifier};

/// Runs every row with the default configuration and reports all failures at once.
fn check(rows: &[(&str, &str, bool)]) {
    check_with(&MathConfig::default(), rows);
}

fn check_with(cfg: &MathConfig, rows: &[(&str, &str, bool)]) {
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(gold, pred, want)| {
            let got = equivalent(gold, pred, cfg);
            (got != Some(*want))
                .then(|| format!("gold {gold:?} vs {pred:?}: want {want}, got {got:?}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn signs_thousands_and_decimal_commas() {
    check(&[
        ("-5", "The answer is -5.", true),
        ("-5", "The answer is 5.", false),
        ("7425000", "The answer is 7,425,000.", true),
        ("1000", "The answer is 1 000", true),
        ("1000.99", "The answer is 1000,99", true),
        ("$14916$", "$\\boxed{14{,}916}$", true),
        ("$11111111100$", "$\\boxed{11,\\!111,\\!111,\\!100}$", true),
        ("$32349$", "$\\boxed{32, 349}$", false),
        ("0.4", "The answer is .4", true),
    ]);
}

#[test]
fn decimals_fractions_and_mixed_numbers() {
    check(&[
        ("$\\frac{1}{2}$", "\\boxed{0.5}", true),
        ("$\\frac{1}{2}$", "\\boxed{\\dfrac{1}{2}}", true),
        ("$\\frac{1}{2}$", "\\boxed{\\tfrac12}", true),
        ("$\\frac{1}{2}$", "\\boxed{1/2}", true),
        ("$\\frac{1}{2}$", "\\boxed{2/4}", true),
        ("$\\frac{1}{3}$", "\\boxed{0.333}", false),
        ("$\\frac{1}{3}$", "\\boxed{0.3333333}", true), // rounds to 0.333333 at 6 places
        ("$2\\frac{1}{2}$", "\\boxed{2.5}", true),      // mixed number 2 + 1/2
        ("$2\\frac{1}{2}$", "\\boxed{1}", false),       // not 2 · 1/2
        ("$-1\\frac{1}{4}$", "\\boxed{-\\frac{5}{4}}", true),
        ("$\\frac{7}{4}$", "\\boxed{1.75}", true),
    ]);
}

#[test]
fn percentages_and_scientific_notation() {
    check(&[
        ("$28\\%$", "\\boxed{28\\%}", true),
        ("$28\\%$", "The answer is 28 percent", true),
        ("$28\\%$", "\\boxed{0.28}", true), // 28% = 0.28
        ("$28\\%$", "\\boxed{29}", false),
        ("$1500$", "\\boxed{1.5 \\times 10^{3}}", true),
        ("$1500$", "The answer is 1.5e3", true),
        ("$0.00015$", "\\boxed{1.5 \\cdot 10^{-4}}", true),
        ("$1500$", "\\boxed{1.5 \\times 10^{4}}", false),
    ]);
}

#[test]
fn roots_pi_and_constants() {
    check(&[
        ("$\\sqrt{117}$", "\\boxed{3\\sqrt{13}}", true), // 9·13 = 117
        ("$\\sqrt{8}$", "\\boxed{2\\sqrt2}", true),
        ("$\\sqrt[3]{27}$", "\\boxed{3}", true),
        ("$\\sqrt[3]{16}$", "\\boxed{2\\sqrt[3]{2}}", true), // 16 = 8·2
        ("$\\sqrt{2}$", "\\boxed{1.414214}", true),
        ("$\\sqrt{2}$", "\\boxed{1.41}", false),
        ("$2\\pi$", "\\boxed{\\pi \\cdot 2}", true),
        ("$\\frac{9}{4}\\pi$", "\\boxed{\\frac94\\pi}", true),
        ("$\\pi$", "\\boxed{\\frac{22}{7}}", false),
        ("$e^2$", "\\boxed{\\exp(2)}", true),
    ]);
}

#[test]
fn algebraic_expressions() {
    check(&[
        (
            "$\\frac{x+2}{7}$",
            "\\boxed{\\frac{x}{7}+\\frac{2}{7}}",
            true,
        ),
        ("$(x+1)^2$", "\\boxed{x^2+2x+1}", true),
        ("$(x+1)^2$", "\\boxed{x^2+x+1}", false),
        ("$\\tan^2(y)+1$", "\\boxed{\\sec^2(y)}", true),
        (
            "$2\\sin b \\cos a$",
            "\\boxed{\\sin(a+b) - \\sin(a-b)}",
            true,
        ),
        ("$x+2n+1$", "\\boxed{x+1}", false),
        ("$|x|$", "\\boxed{x}", false), // differ for x < 0
        ("$\\sqrt{x^2}$", "\\boxed{|x|}", true),
        ("$\\sqrt{x}\\sqrt{x}$", "\\boxed{x}", true), // equal where both are real
        ("$\\ln(x)$", "\\boxed{\\ln(-x)}", false),
        ("$\\frac{\\pi r}{h+r}$", "\\boxed{\\pi r/(r+h)}", true),
    ]);
}

#[test]
fn assignments_relations_and_equations() {
    check(&[
        ("$5$", "\\boxed{x = 5}", true),
        ("$x = 5$", "\\boxed{5}", true),
        ("$x = 5$", "\\boxed{y = 5}", false),
        ("$x \\le 2$", "\\boxed{2 \\ge x}", true),
        ("$x < 1$", "\\boxed{-x > -1}", true),
        ("$x < 1$", "\\boxed{x > -1}", false),
        (
            "$2x+4y-3=0$",
            "\\boxed{y=-\\frac{1}{2}x+\\frac{3}{4}}",
            true,
        ), // multiply by 4
        ("$x < 3$", "\\boxed{2x < 6}", true),
        ("$x < 3$", "\\boxed{-2x < -6}", false), // that is x > 3
        ("$-2 \\le x \\le 7$", "\\boxed{x \\in [-2, 7]}", true),
        ("$x > 5$", "\\boxed{(5, \\infty)}", true),
        // Relations that are not a plain interval compare as the sets they describe.
        ("$1 \\le |z| \\le 2$", "\\boxed{[-2,-1] \\cup [1,2]}", true),
        ("$1 \\le |z| \\le 2$", "\\boxed{[1,2]}", false),
        ("$x^2 < 4$", "\\boxed{(-2, 2)}", true),
        (
            "$x^2 \\ge 1$",
            "\\boxed{(-\\infty,-1] \\cup [1,\\infty)}",
            true,
        ),
        (
            "$x^2 \\ge 1$",
            "\\boxed{(-\\infty,-1) \\cup [1,\\infty)}",
            false,
        ),
    ]);
}

#[test]
fn tuples_sets_and_intervals() {
    check(&[
        ("$(1, 2)$", "\\boxed{(1,2)}", true),
        ("$(1, 2)$", "\\boxed{(2,1)}", false),
        ("$\\{1, 2\\}$", "\\boxed{\\{2,1\\}}", true),
        ("$1, 2, 3$", "\\boxed{3, 1, 2}", true),
        ("$1, 2, 3$", "\\boxed{1, 2}", false),
        ("$[0, 1)$", "\\boxed{[0,1)}", true),
        ("$[0, 1)$", "\\boxed{[0,1]}", false),
        ("$[0, 1)$", "\\boxed{(0,1)}", false),
        ("$(0, \\frac12]$", "\\boxed{(0, 0.5]}", true),
        (
            "$(-\\infty, 2) \\cup (3, \\infty)$",
            "\\boxed{(3, \\infty) \\cup (-\\infty, 2)}",
            true,
        ),
        ("$1 \\pm \\sqrt{5}$", "\\boxed{1+\\sqrt5, 1-\\sqrt5}", true),
        ("$\\pm 2$", "\\boxed{2}", false),
        (
            "$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$",
            "\\boxed{\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}}",
            true,
        ),
        (
            "$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$",
            "\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 5 \\end{pmatrix}}",
            false,
        ),
    ]);
}

#[test]
fn units_words_degrees_and_latex_noise() {
    check(&[
        ("$15$", "\\boxed{15\\text{ cm}^2}", true),
        (
            "$125$",
            "The distance is $\\boxed{125\\textnormal{ miles}}.$",
            true,
        ),
        ("$90^\\circ$", "\\boxed{90}", true),
        ("$90$", "\\boxed{90^{\\circ}}", true),
        ("$\\text{Evelyn}$", "\\boxed{\\text{Evelyn}}", true),
        ("$\\text{odd}$", "\\boxed{odd}", true),
        ("$\\text{odd}$", "\\boxed{even}", false),
        (
            "$\\frac{1}{3}$",
            "\\boxed{\\left( \\frac{1}{3} \\right)}",
            true,
        ),
        ("$\\frac{1}{3}$", "$\\frac{1}{3}$.", true),
        ("$3$", "\\boxed{\\, 3 \\;}", true),
        ("$\\text{C}$", "\\boxed{\\text{(C)}}", true),
    ]);
}

#[test]
fn multiple_choice_letters() {
    let cfg = MathConfig {
        targets: vec![Target::Choice],
        ..MathConfig::default()
    };
    check_with(
        &cfg,
        &[
            ("A", "The answer is A.", true),
            ("B", "Final answer is B", true),
            ("A", "A. Because B is not valid", true),
            ("C", "The answer is A.", false),
        ],
    );
}

#[test]
fn tolerance_and_precision_are_configurable() {
    let loose = MathConfig {
        precision: 2,
        ..MathConfig::default()
    };
    check_with(
        &loose,
        &[
            ("$\\frac{1}{3}$", "\\boxed{0.33}", true),
            ("$\\frac{1}{3}$", "\\boxed{0.34}", false),
        ],
    );
    check(&[("$\\frac{1}{3}$", "\\boxed{0.33}", false)]);
    let wide = MathConfig {
        rel_tol: 1e-2,
        ..MathConfig::default()
    };
    // π vs 22/7: relative gap 4.0e-4, inside 1e-2, outside the default 1e-6.
    check_with(&wide, &[("$\\pi$", "\\boxed{\\frac{22}{7}}", true)]);
}

#[test]
fn strict_variables() {
    let loose = MathConfig {
        strict: false,
        ..MathConfig::default()
    };
    check(&[("$f(x)$", "$f(y)$", false)]);
    check_with(
        &loose,
        &[("$f(x)$", "$f(y)$", true), ("$x^2+1$", "$t^2+1$", true)],
    );
}

#[test]
fn trainer_style_responses() {
    let v = MathVerifier::default();
    let gold = Reference::Math {
        answer: "42".into(),
    };
    for response in [
        "… so The answer is 42.",
        "#### 42",
        "\\boxed{42}",
        "Thus $\\boxed{42}$.",
        "The final answer is $42$. I hope it is correct.",
    ] {
        let verdict = v.verify(response, &gold).unwrap();
        assert!(verdict.correct(), "{response:?}: {verdict:?}");
        assert_eq!(verdict.reward, 1.0);
        assert_eq!(verdict.extracted.as_deref(), Some("42"));
    }
    // The LAST final answer counts.
    let verdict = v
        .verify("\\boxed{41} wait, no: \\boxed{42}", &gold)
        .unwrap();
    assert!(verdict.correct());
    let verdict = v
        .verify("\\boxed{40} and then we get \\boxed{42}", &gold)
        .unwrap();
    assert!(verdict.correct(), "a correction is not a list: {verdict:?}");
    let verdict = v
        .verify("\\boxed{42} wait, no: \\boxed{41}", &gold)
        .unwrap();
    assert!(!verdict.correct());
    assert_eq!(
        (verdict.outcome, verdict.reason),
        (Outcome::Wrong, Reason::WrongAnswer)
    );
}

#[test]
fn three_outcomes_stay_apart() {
    let v = MathVerifier::default();
    let wrong = v
        .verify("\\boxed{3}", &Reference::Math { answer: "4".into() })
        .unwrap();
    assert_eq!(
        (wrong.outcome, wrong.reason, wrong.reward),
        (Outcome::Wrong, Reason::WrongAnswer, 0.0)
    );
    let none = v
        .verify("I do not know", &Reference::Math { answer: "4".into() })
        .unwrap();
    assert_eq!(
        (none.outcome, none.reason),
        (Outcome::Wrong, Reason::NoAnswer)
    );
    let gold = v
        .verify(
            "\\boxed{3}",
            &Reference::Math {
                answer: "no math in here".into(),
            },
        )
        .unwrap();
    assert_eq!(
        (gold.outcome, gold.reason),
        (Outcome::Unverifiable, Reason::UnparseableGold)
    );
    let code = xrpo_reward::code::CodeTests::Stdio { stdio: vec![] };
    assert!(
        v.verify("x", &Reference::Code(code)).is_err(),
        "a code reference is an infrastructure error here"
    );
}

#[test]
fn config_is_validated_and_strict_about_keys() {
    assert!(
        MathVerifier::new(MathConfig {
            targets: vec![],
            ..MathConfig::default()
        })
        .is_err()
    );
    assert!(
        MathVerifier::new(MathConfig {
            rel_tol: -1.0,
            ..MathConfig::default()
        })
        .is_err()
    );
    assert!(
        MathVerifier::new(MathConfig {
            max_depth: 0,
            ..MathConfig::default()
        })
        .is_err()
    );
    let parsed: MathConfig =
        serde_json::from_str(r#"{"precision": 3, "targets": ["latex"]}"#).unwrap();
    assert_eq!(parsed.precision, 3);
    assert_eq!(parsed.targets, vec![Target::Latex]);
    assert!(serde_json::from_str::<MathConfig>(r#"{"precison": 3}"#).is_err());
    let round: MathConfig =
        serde_json::from_str(&serde_json::to_string(&MathConfig::default()).unwrap()).unwrap();
    assert_eq!(round, MathConfig::default());
}
