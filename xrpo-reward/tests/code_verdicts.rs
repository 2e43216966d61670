//! Verdicts of the code verifier: one data-driven `check` per test style, at the strongest
//! isolation level available here.

use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier, Isolation, Limits, StdioCase};
use xrpo_reward::{Outcome, Reason, Reference, Verdict, Verifier};

fn verifier_with(config: CodeConfig) -> CodeVerifier {
    let config = CodeConfig {
        min_isolation: Isolation::Rlimits,
        workers: 2,
        ..config
    };
    CodeVerifier::new(config).expect("some isolation level is available")
}

fn verifier() -> CodeVerifier {
    verifier_with(CodeConfig {
        limits: Limits {
            timeout_ms: 10_000,
            ..Limits::default()
        },
        ..CodeConfig::default()
    })
}

fn stdio(cases: &[(&str, &str)]) -> Reference {
    Reference::Code(CodeTests::Stdio {
        stdio: cases
            .iter()
            .map(|(i, o)| StdioCase {
                input: (*i).into(),
                output: (*o).into(),
            })
            .collect(),
    })
}

fn asserts(prefix: &str, tests: &str, entry_point: &str) -> Reference {
    Reference::Code(CodeTests::Assert {
        prefix: prefix.into(),
        tests: tests.into(),
        entry_point: entry_point.into(),
    })
}

fn check(
    v: &CodeVerifier,
    response: &str,
    reference: &Reference,
    reason: Reason,
    reward: f32,
) -> Verdict {
    let verdict = v
        .verify(response, reference)
        .expect("no infrastructure failure");
    assert_eq!(verdict.reason, reason, "{response:?}: {verdict:?}");
    assert_eq!(verdict.reward, reward, "{response:?}: {verdict:?}");
    let want = match reason {
        Reason::Passed => Outcome::Correct,
        Reason::UnparseableGold => Outcome::Unverifiable,
        _ => Outcome::Wrong,
    };
    assert_eq!(verdict.outcome, want, "{response:?}: {verdict:?}");
    verdict
}

const ADD: &str = "a, b = map(int, input().split())\nprint(a + b)\n";

#[test]
fn stdio_verdicts() {
    let v = verifier();
    let add = stdio(&[("2 3\n", "5\n"), ("10 -4", "6"), ("0 0", "0")]);
    check(&v, ADD, &add, Reason::Passed, 1.0);
    check(
        &v,
        &format!("Sure!\n```python\n{ADD}```\nDone."),
        &add,
        Reason::Passed,
        1.0,
    );
    check(&v, "print(5)", &add, Reason::WrongAnswer, 0.0);
    check(&v, "print(1/0)", &add, Reason::RuntimeError, 0.0);
    check(&v, "def f(:\n    pass", &add, Reason::SyntaxError, 0.0);
    check(&v, "  x = 1\n", &add, Reason::SyntaxError, 0.0);
    check(&v, "   \n", &add, Reason::NoAnswer, 0.0);
    check(&v, "x = ' ' * (10 ** 10)", &add, Reason::MemoryLimit, 0.0);
    // Numeric tokens compare by value; extra spaces and blank edges do not matter.
    let mean = stdio(&[("1 2", "1.5000"), ("3 3", "3")]);
    check(
        &v,
        "a, b = map(int, input().split())\nprint(' ', (a + b) / 2, ' ')",
        &mean,
        Reason::Passed,
        1.0,
    );
    // The verdict keeps the extracted code.
    let verdict = check(
        &v,
        "```py\nprint(0)\n```",
        &stdio(&[("", "0")]),
        Reason::Passed,
        1.0,
    );
    assert_eq!(verdict.extracted.as_deref(), Some("print(0)\n"));
}

#[test]
fn partial_credit_counts_cases_and_reports_the_first_failure() {
    let cases = stdio(&[("1", "1"), ("2", "4"), ("3", "9"), ("4", "16")]);
    // Right for inputs 1 and 3 only: 2 of 4 cases, first failure at case 1.
    let code = "x = int(input())\nprint({1: 1, 2: 5, 3: 9, 4: 0}[x])";
    let all_or_nothing = verifier();
    let v = check(&all_or_nothing, code, &cases, Reason::WrongAnswer, 0.0);
    assert!(v.detail.contains("case 1 of 4"), "{}", v.detail);
    let partial = verifier_with(CodeConfig {
        partial_credit: true,
        ..CodeConfig::default()
    });
    let v = check(&partial, code, &cases, Reason::WrongAnswer, 0.5);
    assert!(v.detail.contains("case 1 of 4"), "{}", v.detail);
    check(
        &partial,
        "x = int(input())\nprint(x * x)",
        &cases,
        Reason::Passed,
        1.0,
    );
}

#[test]
fn assert_verdicts() {
    let v = verifier();
    let prefix = "def add(a, b):\n    \"\"\"Adds.\"\"\"\n";
    let tests = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n";
    let r = asserts(prefix, tests, "add");
    check(&v, "    return a + b\n", &r, Reason::Passed, 1.0);
    check(&v, "    return a - b\n", &r, Reason::WrongAnswer, 0.0);
    check(&v, "    return a / 0\n", &r, Reason::RuntimeError, 0.0);
    check(&v, "    return a +\n", &r, Reason::SyntaxError, 0.0);
    // A full definition in a fenced block replaces the prompt's stub.
    check(
        &v,
        "```python\ndef add(a, b):\n    return b + a\n```",
        &r,
        Reason::Passed,
        1.0,
    );
    // An entry point that is not an identifier is the reference's fault.
    check(
        &v,
        "    return a + b\n",
        &asserts(prefix, tests, "add); import os; (x"),
        Reason::UnparseableGold,
        0.0,
    );
    check(&v, "", &r, Reason::NoAnswer, 0.0);
    // A program that exits with status 0 before `check` runs must not collect the reward.
    check(
        &v,
        "    return 0\nimport sys\nsys.exit(0)\n",
        &r,
        Reason::WrongAnswer,
        0.0,
    );
    check(
        &v,
        "    return 0\nimport os\nos._exit(0)\n",
        &r,
        Reason::WrongAnswer,
        0.0,
    );
    // Printing to stdout is fine.
    check(
        &v,
        "    print('debug', a, b)\n    return a + b\n",
        &r,
        Reason::Passed,
        1.0,
    );
}

#[test]
fn limits_are_reported() {
    let v = verifier_with(CodeConfig {
        limits: Limits {
            timeout_ms: 20_000,
            cpu_time_s: 1,
            file_size_bytes: 1 << 20,
            open_files: 32,
            ..Limits::default()
        },
        ..CodeConfig::default()
    });
    let one = stdio(&[("", "done")]);
    let cpu = check(&v, "while True:\n    pass", &one, Reason::Timeout, 0.0);
    assert!(cpu.detail.contains("CPU-time limit"), "{}", cpu.detail);
    // In an assert-style run the candidate's process is the one that spins.
    let spin = asserts("", "def check(f):\n    assert f() == 1\n", "f");
    let cpu = check(
        &v,
        "def f():\n    while True:\n        pass\n",
        &spin,
        Reason::Timeout,
        0.0,
    );
    assert!(cpu.detail.contains("CPU-time limit"), "{}", cpu.detail);
    let big_file = "open('f', 'wb').write(b'x' * (2 << 20))\nprint('done')";
    let fsz = check(&v, big_file, &one, Reason::RuntimeError, 0.0);
    assert!(fsz.detail.contains("File too large"), "{}", fsz.detail);
    let many_files = "fs = [open('f%d' % i, 'w') for i in range(100)]\nprint('done')";
    let nofile = check(&v, many_files, &one, Reason::RuntimeError, 0.0);
    assert!(
        nofile.detail.contains("Too many open files"),
        "{}",
        nofile.detail
    );
}

#[test]
fn stdin_is_fed_in_full_and_may_be_ignored() {
    let v = verifier();
    let big: String = (0..200_000).map(|i| format!("{i}\n")).collect();
    let sum: u64 = (0..200_000u64).sum();
    let reference = stdio(&[(big.as_str(), &sum.to_string())]);
    check(
        &v,
        "import sys\nprint(sum(int(l) for l in sys.stdin))",
        &reference,
        Reason::Passed,
        1.0,
    );
    // A program that never reads its 1.3 MB of input must not wedge the verifier.
    let ignore = stdio(&[(big.as_str(), "hi")]);
    check(&v, "print('hi')", &ignore, Reason::Passed, 1.0);
}

#[test]
fn batch_keeps_input_order() {
    let v = verifier();
    let refs: Vec<Reference> = (0..12).map(|i| stdio(&[("", &i.to_string())])).collect();
    let codes: Vec<String> = (0..12)
        .map(|i| format!("print({})", if i % 3 == 0 { i + 1 } else { i }))
        .collect();
    let items: Vec<(&str, &Reference)> = codes.iter().map(String::as_str).zip(&refs).collect();
    let out = v.verify_batch(&items);
    assert_eq!(out.len(), 12);
    for (i, r) in out.iter().enumerate() {
        let verdict = r.as_ref().expect("no infrastructure failure");
        assert_eq!(verdict.correct(), i % 3 != 0, "item {i}: {verdict:?}");
    }
    assert!(v.verify_batch(&[]).is_empty());
}

#[test]
fn json_shapes_of_code_tests() {
    let a: CodeTests = serde_json::from_str(
        r#"{"prefix": "p", "tests": "def check(c): pass", "entry_point": "f"}"#,
    )
    .unwrap();
    assert!(matches!(a, CodeTests::Assert { ref prefix, .. } if prefix == "p"));
    let no_prefix: CodeTests =
        serde_json::from_str(r#"{"tests": "t", "entry_point": "f"}"#).unwrap();
    assert!(matches!(no_prefix, CodeTests::Assert { ref prefix, .. } if prefix.is_empty()));
    let s: CodeTests =
        serde_json::from_str(r#"{"stdio": [{"input": "1", "output": "2"}]}"#).unwrap();
    assert_eq!(
        s,
        CodeTests::Stdio {
            stdio: vec![StdioCase {
                input: "1".into(),
                output: "2".into()
            }]
        }
    );
    let r: Reference = serde_json::from_str(r#"{"kind": "code", "stdio": []}"#).unwrap();
    assert!(matches!(r, Reference::Code(CodeTests::Stdio { .. })));
}

#[test]
fn empty_case_list_is_unverifiable() {
    let v = verifier();
    check(&v, "print(1)", &stdio(&[]), Reason::UnparseableGold, 0.0);
}
