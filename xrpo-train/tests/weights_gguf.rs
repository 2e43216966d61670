//! GGUF reading on small synthetic files the test writes itself: names, config
//! metadata, the q/k row un-permutation and the byte-level BPE tokenizer.
//!
//! The file is built the way llama.cpp's converter builds one from a Hugging Face
//! checkpoint (rows of q/k reordered for interleaved RoPE, tensors renamed), with f32
//! tensors so that reading it back must reproduce the Hugging Face tensors exactly.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use xrpo_train::tokenizer::TextTokenizer;
use xrpo_train::weights::{LoadError, ModelSource, load, read_gguf};

const VOCAB: usize = 12;
const HIDDEN: usize = 16;
const HEADS: usize = 2;
const KV_HEADS: usize = 1;
const HEAD_DIM: usize = HIDDEN / HEADS;
const FF: usize = 24;
const LAYERS: usize = 2;

/// Byte-level vocabulary: three control tokens, then pieces (`Ġ` is the byte-level
/// spelling of a space).
const TOKENS: [&str; VOCAB] = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "a",
    "b",
    "c",
    "Ġ",
    "ab",
    "Ġa",
    "abc",
    "Ċ",
    "d",
];
const MERGES: [&str; 3] = ["a b", "Ġ a", "ab c"];

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrpo-weights-gguf-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn random(shape: &[usize], rng: &mut StdRng) -> Tensor {
    let normal = Normal::new(0f32, 0.5).unwrap();
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| normal.sample(rng)).collect();
    Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
}

/// llama.cpp's converter reorder, written as row indices: within each head of width
/// `hd`, GGUF row `2i + j` holds Hugging Face row `j·hd/2 + i` (j ∈ {0, 1}).
fn llama_cpp_permute(t: &Tensor, heads: usize) -> Tensor {
    let rows = t.dims()[0];
    let hd = rows / heads;
    let mut order = Vec::with_capacity(rows);
    for h in 0..heads {
        for i in 0..hd / 2 {
            for j in 0..2 {
                order.push((h * hd + j * hd / 2 + i) as u32);
            }
        }
    }
    let idx = Tensor::new(order.as_slice(), &Device::Cpu).unwrap();
    t.index_select(&idx, 0).unwrap()
}

/// Hugging Face tensors of a tiny Llama, and a GGUF file holding them.
fn write_model(dir: &Path, tied: bool, seed: u64) -> (PathBuf, HashMap<String, Tensor>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut hf = HashMap::new();
    let mut gguf: Vec<(String, Tensor)> = Vec::new();
    let mut both = |hf_name: String, gguf_name: String, t: Tensor, gguf_t: Tensor| {
        hf.insert(hf_name, t);
        gguf.push((gguf_name, gguf_t));
    };
    let embed = random(&[VOCAB, HIDDEN], &mut rng);
    both(
        "model.embed_tokens.weight".into(),
        "token_embd.weight".into(),
        embed.clone(),
        embed,
    );
    for l in 0..LAYERS {
        let p = format!("model.layers.{l}");
        let g = format!("blk.{l}");
        let plain: [(&str, &str, Vec<usize>); 7] = [
            (
                "self_attn.v_proj.weight",
                "attn_v.weight",
                vec![KV_HEADS * HEAD_DIM, HIDDEN],
            ),
            (
                "self_attn.o_proj.weight",
                "attn_output.weight",
                vec![HIDDEN, HIDDEN],
            ),
            ("mlp.gate_proj.weight", "ffn_gate.weight", vec![FF, HIDDEN]),
            ("mlp.up_proj.weight", "ffn_up.weight", vec![FF, HIDDEN]),
            ("mlp.down_proj.weight", "ffn_down.weight", vec![HIDDEN, FF]),
            ("input_layernorm.weight", "attn_norm.weight", vec![HIDDEN]),
            (
                "post_attention_layernorm.weight",
                "ffn_norm.weight",
                vec![HIDDEN],
            ),
        ];
        for (h, gn, shape) in plain {
            let t = random(&shape, &mut rng);
            both(format!("{p}.{h}"), format!("{g}.{gn}"), t.clone(), t);
        }
        let q = random(&[HEADS * HEAD_DIM, HIDDEN], &mut rng);
        let k = random(&[KV_HEADS * HEAD_DIM, HIDDEN], &mut rng);
        let (qp, kp) = (
            llama_cpp_permute(&q, HEADS),
            llama_cpp_permute(&k, KV_HEADS),
        );
        both(
            format!("{p}.self_attn.q_proj.weight"),
            format!("{g}.attn_q.weight"),
            q,
            qp,
        );
        both(
            format!("{p}.self_attn.k_proj.weight"),
            format!("{g}.attn_k.weight"),
            k,
            kp,
        );
    }
    let norm = random(&[HIDDEN], &mut rng);
    both(
        "model.norm.weight".into(),
        "output_norm.weight".into(),
        norm.clone(),
        norm,
    );
    if !tied {
        let head = random(&[VOCAB, HIDDEN], &mut rng);
        both(
            "lm_head.weight".into(),
            "output.weight".into(),
            head.clone(),
            head,
        );
    }

    let s = |x: &str| Value::String(x.to_string());
    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", s("llama")),
        ("general.name", s("synthetic")),
        ("llama.block_count", Value::U32(LAYERS as u32)),
        ("llama.context_length", Value::U32(64)),
        ("llama.embedding_length", Value::U32(HIDDEN as u32)),
        ("llama.feed_forward_length", Value::U32(FF as u32)),
        ("llama.attention.head_count", Value::U32(HEADS as u32)),
        ("llama.attention.head_count_kv", Value::U32(KV_HEADS as u32)),
        ("llama.rope.freq_base", Value::F32(50_000.0)),
        ("llama.rope.dimension_count", Value::U32(HEAD_DIM as u32)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        ("tokenizer.ggml.model", s("gpt2")),
        ("tokenizer.ggml.pre", s("smollm")),
        (
            "tokenizer.ggml.tokens",
            Value::Array(TOKENS.iter().map(|t| s(t)).collect()),
        ),
        (
            "tokenizer.ggml.token_type",
            Value::Array(
                (0..VOCAB)
                    .map(|i| Value::I32(if i < 3 { 3 } else { 1 }))
                    .collect(),
            ),
        ),
        (
            "tokenizer.ggml.merges",
            Value::Array(MERGES.iter().map(|m| s(m)).collect()),
        ),
        ("tokenizer.ggml.bos_token_id", Value::U32(1)),
        ("tokenizer.ggml.eos_token_id", Value::U32(2)),
        ("tokenizer.ggml.add_bos_token", Value::Bool(false)),
        (
            "tokenizer.chat_template",
            s("{{ '<|im_start|>' + message['role'] + '\\n' }}"),
        ),
    ];
    let qtensors: Vec<(String, QTensor)> = gguf
        .into_iter()
        .map(|(n, t)| (n, QTensor::quantize(&t, GgmlDType::F32).unwrap()))
        .collect();
    let path = dir.join(if tied { "tied.gguf" } else { "untied.gguf" });
    let mut file = std::fs::File::create(&path).unwrap();
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let ts: Vec<(&str, &QTensor)> = qtensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    gguf_file::write(&mut file, &md, &ts).unwrap();
    (path, hf)
}

fn assert_same(a: &Tensor, b: &Tensor, name: &str) {
    assert_eq!(a.dims(), b.dims(), "{name}");
    let a: Vec<f32> = a.flatten_all().unwrap().to_vec1().unwrap();
    let b: Vec<f32> = b.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(a, b, "{name}");
}

#[test]
fn reads_back_hugging_face_tensors_and_config() {
    let dir = temp_dir("roundtrip");
    for tied in [true, false] {
        let (path, hf) = write_model(&dir, tied, 3);
        let parts = read_gguf(&path).unwrap();
        let c = &parts.config;
        assert_eq!(c.vocab_size, VOCAB);
        assert_eq!(c.hidden_size, HIDDEN);
        assert_eq!(c.intermediate_size, FF);
        assert_eq!(c.num_hidden_layers, LAYERS);
        assert_eq!(
            (c.num_attention_heads, c.num_key_value_heads),
            (HEADS, KV_HEADS)
        );
        assert_eq!(c.head_dim, None);
        assert_eq!(c.rope_theta, 50_000.0);
        // Stored as f32 1e-5; read as the decimal 1e-5, not 9.99999974738e-6.
        assert_eq!(c.rms_norm_eps, 1e-5);
        assert_eq!(c.max_position_embeddings, 64);
        assert_eq!(c.tie_word_embeddings, tied);
        assert!(!c.attention_bias);
        assert_eq!(parts.tensors.len(), hf.len());
        for (name, t) in &hf {
            assert_same(&parts.tensors[name], t, name);
        }
        // The policy accepts exactly these tensors.
        let loaded = load(&ModelSource::Gguf(path.clone()), &Device::Cpu, 0).unwrap();
        assert_eq!(loaded.policy.config(), c);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tokenizer_from_metadata_applies_merges_in_rank_order() {
    let dir = temp_dir("tokenizer");
    let (path, _) = write_model(&dir, true, 4);
    let tok = read_gguf(&path).unwrap().tokenizer;
    // "abc ab": pieces "abc", " ab" (GPT-2 split). "abc": a+b → ab (rank 0), ab+c →
    // abc (rank 2) = [9]. "Ġab": both Ġ+a (rank 1) and a+b (rank 0) apply; the lower
    // rank wins, leaving Ġ, ab with no merge between them = [6, 7].
    assert_eq!(tok.encode("abc ab").unwrap(), vec![9, 6, 7]);
    // "Ġac": only Ġ+a applies = [8, 5].
    assert_eq!(tok.encode(" ac").unwrap(), vec![8, 5]);
    // Ċ is the byte-level spelling of the newline byte.
    assert_eq!(tok.encode("d\n").unwrap(), vec![11, 10]);
    // Control tokens are matched whole and skipped when decoding.
    assert_eq!(tok.encode("<|im_end|>a").unwrap(), vec![2, 3]);
    assert_eq!(tok.decode(&[1, 9, 6, 7, 2, 8, 5]).unwrap(), "abc ab ac");
    assert_eq!(tok.eos_ids(), &[2, 0]);
    assert_eq!(tok.bos_id(), None);
    assert!(tok.is_chat());
    assert_eq!(
        tok.apply_chat_template("ab"),
        "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn rejects_other_architectures_and_missing_files() {
    let dir = temp_dir("errors");
    let path = dir.join("qwen.gguf");
    let arch = Value::String("qwen2".into());
    let mut file = std::fs::File::create(&path).unwrap();
    gguf_file::write(&mut file, &[("general.architecture", &arch)], &[]).unwrap();
    drop(file);
    let err = read_gguf(&path).unwrap_err();
    assert!(matches!(err, LoadError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("qwen2"), "{err}");

    let missing = dir.join("nope.gguf");
    let err = read_gguf(&missing).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err}");
    assert!(err.to_string().contains("nope.gguf"), "{err}");

    let garbage = dir.join("garbage.gguf");
    std::fs::write(&garbage, b"not a gguf file at all").unwrap();
    let err = read_gguf(&garbage).unwrap_err();
    assert!(matches!(err, LoadError::Gguf { .. }), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
