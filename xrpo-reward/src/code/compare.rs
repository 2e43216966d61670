//! Output comparison for stdin/stdout tests, in the manner of LiveCodeBench's `grade_stdio`.
//!
//! Both outputs are stripped of surrounding whitespace and split into lines; the line counts
//! must agree. Each pair of lines (each stripped) must then be equal as text, or else equal
//! token by token after splitting on whitespace, where two tokens match when they are the
//! same text or both parse as decimal numbers of equal value (`1.0` = `1` = `1e0`).
//!
//! Divergence from LiveCodeBench (pinned: LiveCodeBench/LiveCodeBench
//! `lcb_runner/evaluation/testing_util.py`): LiveCodeBench converts a whole line to
//! `Decimal`s and fails the line if any token is not a number; we compare token by token, so a
//! line mixing words and numbers (`Case #1: 2.50`) matches `Case #1: 2.5`. Numbers are
//! compared exactly, as `Decimal` does, never through `f64` (so `9007199254740993` differs
//! from `9007199254740992`). `inf` and `nan` are compared as text.

/// Whether `actual` (what the program printed) matches `expected` (the case's output).
pub fn outputs_match(actual: &str, expected: &str) -> bool {
    let actual_lines: Vec<&str> = actual.trim().split('\n').collect();
    let expected_lines: Vec<&str> = expected.trim().split('\n').collect();
    actual_lines.len() == expected_lines.len()
        && actual_lines
            .iter()
            .zip(&expected_lines)
            .all(|(a, e)| lines_match(a, e))
}

fn lines_match(actual: &str, expected: &str) -> bool {
    let (actual, expected) = (actual.trim(), expected.trim());
    if actual == expected {
        return true;
    }
    let actual_tokens: Vec<&str> = actual.split_whitespace().collect();
    let expected_tokens: Vec<&str> = expected.split_whitespace().collect();
    actual_tokens.len() == expected_tokens.len()
        && actual_tokens.iter().zip(&expected_tokens).all(|(a, e)| {
            a == e || matches!((decimal(a), decimal(e)), (Some(x), Some(y)) if x == y)
        })
}

/// A finite decimal number in canonical form: `(negative, significant digits, exponent)`,
/// value = ±0.digits × 10^exponent-ish; zero is `(false, "", 0)`. Two numerals have the same
/// value exactly when their canonical forms are equal.
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

/// Parses `[+-]digits[.digits][(e|E)[+-]digits]` (at least one mantissa digit) exactly.
fn decimal(token: &str) -> Option<Decimal> {
    let (negative, rest) = match token.as_bytes().first()? {
        b'-' => (true, &token[1..]),
        b'+' => (false, &token[1..]),
        _ => (false, token),
    };
    let (mantissa, exp_text) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    let exp: i64 = match exp_text {
        Some(t) => {
            let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
            // Bound the exponent's length so that the arithmetic below cannot overflow.
            if unsigned.is_empty() || unsigned.len() > 15 || !all_digits(unsigned) {
                return None;
            }
            t.parse().ok()?
        }
        None => 0,
    };
    // value = int_part.frac_part × 10^exp = 0.D × 10^(exponent) with D = digits stripped.
    let all: String = format!("{int_part}{frac_part}");
    let leading_zeros = all.bytes().take_while(|&b| b == b'0').count();
    let digits = all[leading_zeros..].trim_end_matches('0');
    if digits.is_empty() {
        return Some(Decimal {
            negative: false,
            digits: String::new(),
            exponent: 0,
        });
    }
    let exponent = exp + int_part.len() as i64 - leading_zeros as i64;
    Some(Decimal {
        negative,
        digits: digits.to_string(),
        exponent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(actual: &str, expected: &str, want: bool) {
        assert_eq!(
            outputs_match(actual, expected),
            want,
            "actual={actual:?} expected={expected:?}"
        );
    }

    #[test]
    fn line_and_token_rules() {
        check("3\n", "3", true);
        check("  1 2 3  \r\n4\r\n", "1 2 3\n4", true);
        check("1.0 2", "1 2.00", true);
        check("1e3", "1000", true);
        check("-0", "0.000", true);
        check("Case #1: 2.50", "Case #1: 2.5", true);
        check("1 2", "1 2 3", false);
        check("1\n2", "1 2", false);
        check("2.5", "2.4999999", false);
        check("9007199254740993", "9007199254740992", false);
        check("yes", "YES", false);
        check("", "", true);
        check("", "0", false);
        check("-1", "1", false);
        check("0.1e1", "1", true);
        check("1e", "1e", true);
        check("1e", "1", false);
        check(".5", "0.5", true);
        check(".", "0", false);
        check("1e999999999999999999", "1", false);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Reformatting an integer as `n.000` or `n00e-2` keeps it equal.
        #[test]
        fn integer_reformats_are_equal(n in -1_000_000_000_000i64..1_000_000_000_000, zeros in 0usize..5) {
            let plain = n.to_string();
            let padded = format!("{n}.{}", "0".repeat(zeros));
            let scaled = format!("{n}{}e-{zeros}", "0".repeat(zeros));
            prop_assert!(outputs_match(&plain, &padded));
            prop_assert!(outputs_match(&plain, &scaled));
        }

        /// Distinct integers never match, however large.
        #[test]
        fn distinct_integers_differ(a in any::<i64>(), b in any::<i64>()) {
            prop_assume!(a != b);
            prop_assert!(!outputs_match(&a.to_string(), &b.to_string()));
        }

        /// Numeric equality agrees with f64 for short decimals that f64 represents exactly.
        #[test]
        fn agrees_with_f64_on_short_decimals(a in -10_000i32..10_000, b in -10_000i32..10_000) {
            let (x, y) = (format!("{}", f64::from(a) / 4.0), format!("{}", f64::from(b) / 4.0));
            prop_assert_eq!(outputs_match(&x, &y), a == b);
        }
    }
}
