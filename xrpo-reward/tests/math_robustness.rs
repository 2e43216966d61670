//! Hostile inputs: no panic, and every verification finishes well under 50 ms (a
//! correctness cap on the work per response, not a speed figure; speed is in the benches).

use std::time::{Duration, Instant};

use proptest::prelude::*;
use xrpo_reward::math::MathVerifier;
use xrpo_reward::{Outcome, Reason, Reference, Verifier};

const CAP: Duration = Duration::from_millis(50);

/// Verifies and returns the verdict with the fastest of five timings (so a busy CI
/// machine does not fail the cap by scheduling noise).
fn timed(response: &str, gold: &str) -> (xrpo_reward::Verdict, Duration) {
    let v = MathVerifier::default();
    let reference = Reference::Math {
        answer: gold.to_string(),
    };
    let mut best = Duration::MAX;
    let mut verdict = None;
    for _ in 0..5 {
        let t = Instant::now();
        let out = v
            .verify(response, &reference)
            .expect("math verification never fails as infrastructure");
        best = best.min(t.elapsed());
        verdict = Some(out);
        if best < CAP {
            break;
        }
    }
    (verdict.expect("ran at least once"), best)
}

fn check(response: &str, gold: &str) -> xrpo_reward::Verdict {
    let (verdict, took) = timed(response, gold);
    eprintln!("{took:?} for a {}-byte response", response.len());
    assert!(
        took < CAP,
        "took {took:?} on a {}-byte response",
        response.len()
    );
    verdict
}

#[test]
fn deep_nesting_is_capped() {
    let braces = format!("\\boxed{{{}1{}}}", "{".repeat(100_000), "}".repeat(100_000));
    check(&braces, "1");
    let parens = format!("$${}1{}$$", "(".repeat(50_000), ")".repeat(50_000));
    check(&parens, "1");
    let fracs = format!(
        "\\boxed{{{}1{}}}",
        "\\frac{1}{".repeat(5_000),
        "}".repeat(5_000)
    );
    check(&fracs, "1");
    let texts = format!(
        "\\boxed{{{}x{}}}",
        "\\text{".repeat(5_000),
        "}".repeat(5_000)
    );
    check(&texts, "1");
    let unclosed = "\\boxed{".repeat(20_000);
    check(&unclosed, "1");
}

#[test]
fn huge_numbers_and_towers_are_capped() {
    let million = "9".repeat(1_000_000);
    let v = check(&format!("\\boxed{{{million}}}"), "9");
    assert!(!v.correct());
    let v = check(&million, "9");
    assert!(!v.correct());
    let v = check("\\boxed{10^{10^{10}}}", "1");
    assert!(!v.correct());
    assert_eq!(
        v.reason,
        Reason::TooLarge,
        "a tower is cut off by the exponent cap"
    );
    let v = check("\\boxed{10^{10^{10}}}", "10^{10^{10}}");
    assert!(v.correct(), "the same tower still matches as text");
    check("\\boxed{9^{9^{9^{9^{9}}}}}", "2");
    check("\\boxed{1000!}", "2");
    check("\\boxed{(((2^{100})^{100})^{100})}", "2");
    check("\\boxed{2^{-100000}}", "0");
}

#[test]
fn many_candidates_and_big_sets_are_capped() {
    let dollars = "$".repeat(200_000);
    check(&dollars, "1");
    let boxes = vec!["\\boxed{1}"; 20_000].join(" and ");
    check(&boxes, "1");
    let numbers = (0..50_000)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    check(&numbers, "49999");
    let set = (0..600)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let rev = (0..600)
        .rev()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    check(
        &format!("\\boxed{{\\{{{set}\\}}}}"),
        &format!("$\\{{{rev}\\}}$"),
    );
    let pm = "1\\pm ".repeat(2_000);
    check(&format!("\\boxed{{{pm}1}}"), "1");
    let matrix = "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}".repeat(200);
    check(&format!("\\boxed{{{matrix}}}"), "1");
    let vars = ('a'..='z').cycle().take(3_000).collect::<String>();
    check(&format!("\\boxed{{{vars}}}"), "x");
}

#[test]
fn long_responses_keep_their_tail() {
    let filler = "lorem ipsum 7 $x$ ".repeat(100_000);
    let v = check(
        &format!("{filler} so the final answer is \\boxed{{42}}"),
        "42",
    );
    assert!(v.correct());
}

#[test]
fn factorials_binomials_and_expansions_are_capped() {
    // Factorials and binomials of huge arguments: cut off by the caps, never computed.
    for r in [
        "\\boxed{(10^{100})!}",
        "\\boxed{1000000!}",
        "\\boxed{((5!)!)!}",
        "\\boxed{\\binom{10^{9}}{5000}}",
        "\\boxed{\\binom{100000}{50000}}",
        "\\boxed{(2^{10000})!}",
    ] {
        let v = check(r, "2");
        assert!(!v.correct(), "{r}");
    }
    let v = check("\\boxed{170!}", "171!");
    assert!(!v.correct());
    // Polynomial expansions that would have millions of terms stop at the work cap and
    // fall back to sample points; the verdict still comes, fast.
    let big = "(a+b+c+d+g+h)^{64}";
    let v = check(&format!("\\boxed{{{big}}}"), &format!("${big} + 1$"));
    assert!(!v.correct());
    let factors: String = (0..24).map(|k| format!("(a_{k}+b_{k})")).collect();
    let v = check(&format!("\\boxed{{{factors}}}"), &format!("${factors}$"));
    assert!(v.correct(), "the same product matches itself");
    let nested = "((((x+1)^{64})^{64})^{64})^{64}";
    check(&format!("\\boxed{{{nested}}}"), "x");
    let deep = format!("{}x{}", "(1+".repeat(40), ")^{2}".repeat(40));
    check(&format!("\\boxed{{{deep}}}"), "x");
}

#[test]
fn anchor_soups_are_capped() {
    // Megabytes of anchor words, option letters and answer lines: the work is bounded by
    // the rightmost anchors, not the number of them.
    check(&"The answer is (B). ".repeat(50_000), "B");
    check(&"Answer: x + 1\n".repeat(30_000), "x + 1");
    check(&"#### 7 ".repeat(100_000), "7");
    check(&"final answer is ".repeat(60_000), "1");
    check(&"answer answer answer 1 ".repeat(40_000), "1");
    check(&"**".repeat(300_000), "1");
    check(&"\u{2212}".repeat(200_000), "1");
    check(&"(A) 1 (B) 2 ".repeat(50_000), "B");
    check(&format!("{}\\boxed{{7}}", "$1$ ".repeat(200_000)), "7");
}

fn latexish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "\\frac{",
        "{",
        "}",
        "\\boxed{",
        "$",
        "$$",
        "^",
        "_",
        "10",
        "7",
        "0.5",
        ",",
        "\\sqrt",
        "(",
        ")",
        "[",
        "]",
        "=",
        "\\left(",
        "\\right)",
        "\\pm",
        "x",
        " ",
        "\\text{",
        "and",
        "\\{",
        "\\}",
        "\\cup",
        "|",
        "-",
        "%",
        "\\\\",
        "&",
        "\\begin{pmatrix}",
        "\\end{pmatrix}",
        "!",
        "\\infty",
        "\\le",
        ":",
        ";",
        "e",
        "\\pi",
        "Answer:",
        "#### ",
        "The final answer is ",
        "\\sum_{k=1}^{n}",
        "'",
        "\\mathrm{",
        "\\dfrac",
    ]);
    prop::collection::vec(atoms, 0..120).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn arbitrary_text_never_panics(response in any::<String>(), gold in any::<String>()) {
        let (verdict, took) = timed(&response, &gold);
        prop_assert!(took < CAP, "took {took:?}");
        prop_assert!(verdict.reward == 0.0 || verdict.reward == 1.0);
        if verdict.outcome == Outcome::Unverifiable {
            prop_assert_eq!(verdict.reward, 0.0);
        }
    }

    #[test]
    fn latex_soup_never_panics(response in latexish(), gold in latexish()) {
        let (verdict, took) = timed(&response, &gold);
        prop_assert!(took < CAP, "took {took:?}");
        prop_assert_eq!(verdict.correct(), verdict.reward == 1.0);
    }

    /// A boxed answer always matches itself (reflexivity through extraction).
    #[test]
    fn boxed_answer_matches_itself(body in latexish()) {
        let body = body.replace(['{', '}', '$'], "");
        let (verdict, _) = timed(&format!("\\boxed{{{body}}}"), &format!("\\boxed{{{body}}}"));
        if verdict.outcome != Outcome::Unverifiable && verdict.reason != Reason::NoAnswer && verdict.reason != Reason::TooLarge {
            prop_assert!(verdict.correct(), "{body:?}: {verdict:?}");
        }
    }

    /// Integers: equal iff equal, whatever the spelling.
    #[test]
    fn integers_compare_exactly(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000) {
        let (verdict, _) = timed(&format!("The answer is {b}."), &format!("${a}$"));
        prop_assert_eq!(verdict.correct(), a == b);
    }
}

#[test]
fn empty_golds_are_unverifiable_not_wrong() {
    for gold in ["", "   ", "$$", "\\boxed{}", "$ $", "."] {
        let verdict = check("The answer is 1.", gold);
        assert_eq!(
            verdict.outcome,
            Outcome::Unverifiable,
            "gold {gold:?}: {verdict:?}"
        );
    }
}
