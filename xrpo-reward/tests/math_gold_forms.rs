//! Gold-form invariance (issue 13): a gold is ONE answer, whatever its wrapping. For every
//! answer `g` the grammar below produces, `verify("… \boxed{g}", g)`,
//! `verify("The answer is $g$.", g)` and the same with the gold written `$g$`, `\boxed{g}`
//! or `\(g\)` all agree and are correct; a perturbed `g'` (a changed number, sign, bracket,
//! order of a tuple) is wrong in every form.

use proptest::prelude::*;
use xrpo_reward::math::MathVerifier;
use xrpo_reward::{Outcome, Reference, Verifier};

/// `(answer, a perturbed answer that is mathematically different)`.
fn answer_pair() -> impl Strategy<Value = (String, String)> {
    let int = -50i64..50;
    let pos = 1i64..20;
    prop_oneof![
        int.clone()
            .prop_map(|n| (n.to_string(), (n + 1).to_string())),
        int.clone()
            .prop_filter("non-zero", |n| *n != 0)
            .prop_map(|n| (n.to_string(), (-n).to_string())),
        (int.clone(), 1u32..99)
            .prop_map(|(n, d)| (format!("{n}.{d:02}"), format!("{}.{d:02}", n + 1))),
        (int.clone(), 2i64..12).prop_map(|(a, b)| (
            format!("\\frac{{{a}}}{{{b}}}"),
            format!("\\frac{{{}}}{{{b}}}", a + 1)
        )),
        (
            pos.clone(),
            prop::sample::select(vec![2i64, 3, 5, 6, 7, 10])
        )
            .prop_map(|(k, m)| (
                format!("{k}\\sqrt{{{m}}}"),
                format!("{}\\sqrt{{{m}}}", k + 1)
            )),
        pos.clone()
            .prop_map(|k| (format!("{k}\\pi"), format!("{}\\pi", k + 1))),
        (int.clone(), int.clone())
            .prop_filter("distinct", |(a, b)| a != b)
            .prop_map(|(a, b)| (format!("({a}, {b})"), format!("({b}, {a})"))),
        (int.clone(), int.clone(), int.clone())
            .prop_map(|(a, b, c)| (format!("({a}, {b}, {c})"), format!("({a}, {b}, {})", c + 1))),
        (int.clone(), pos.clone())
            .prop_map(|(a, w)| (format!("[{a}, {})", a + w), format!("({a}, {})", a + w))),
        (int.clone(), pos.clone()).prop_map(|(a, w)| (
            format!("(-\\infty, {a}] \\cup [{}, \\infty)", a + w),
            format!("(-\\infty, {a}) \\cup [{}, \\infty)", a + w)
        )),
        (0i64..20, 30i64..50).prop_map(|(a, b)| (
            format!("\\{{{a}, {b}\\}}"),
            format!("\\{{{a}, {}\\}}", b + 1)
        )),
        (1i64..9, int.clone())
            .prop_map(|(a, b)| (format!("y = {a}x + {b}"), format!("y = {a}x + {}", b + 1))),
        int.clone()
            .prop_map(|a| (format!("x \\le {a}"), format!("x < {a}"))),
        (int.clone(), pos.clone()).prop_map(|(a, w)| (
            format!("{a} < x < {}", a + w),
            format!("{a} \\le x < {}", a + w)
        )),
        (int.clone(), int.clone(), int.clone(), int.clone())
            .prop_filter("b != c", |(_, b, c, _)| b != c)
            .prop_map(|(a, b, c, d)| (
                format!("\\begin{{pmatrix}} {a} & {b} \\\\ {c} & {d} \\end{{pmatrix}}"),
                format!("\\begin{{pmatrix}} {a} & {c} \\\\ {b} & {d} \\end{{pmatrix}}")
            )),
        (1i64..9, 1i64..9).prop_map(|(a, b)| (format!("{a}x^2 + {b}x"), format!("{a}x^2 - {b}x"))),
        prop::sample::select(vec![
            ('A', 'B'),
            ('B', 'C'),
            ('C', 'D'),
            ('D', 'E'),
            ('E', 'A')
        ])
        .prop_map(|(a, b)| (a.to_string(), b.to_string())),
        prop::sample::select(vec![
            ("\\text{Evelyn}", "\\text{Angela}"),
            ("\\text{odd}", "\\text{even}"),
            ("\\text{Tuesday}", "\\text{Friday}"),
        ])
        .prop_map(|(a, b)| (a.to_string(), b.to_string())),
    ]
}

fn outcome(v: &MathVerifier, response: &str, gold: &str) -> Outcome {
    v.verify(
        response,
        &Reference::Math {
            answer: gold.to_string(),
        },
    )
    .expect("math verification never fails as infrastructure")
    .outcome
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_gold_form_agrees((g, wrong) in answer_pair()) {
        let v = MathVerifier::default();
        let golds = [g.clone(), format!("${g}$"), format!("\\boxed{{{g}}}"), format!("\\({g}\\)")];
        let right = [
            format!("We work it out step by step, so \\boxed{{{g}}}."),
            format!("The answer is ${g}$."),
        ];
        let bad = [
            format!("We work it out step by step, so \\boxed{{{wrong}}}."),
            format!("The answer is ${wrong}$."),
        ];
        for gold in &golds {
            for r in &right {
                prop_assert_eq!(outcome(&v, r, gold), Outcome::Correct, "gold {:?} response {:?}", gold, r);
            }
            for r in &bad {
                prop_assert_eq!(outcome(&v, r, gold), Outcome::Wrong, "gold {:?} response {:?}", gold, r);
            }
        }
    }
}
