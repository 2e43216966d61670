//! Hugging Face checkpoint directories: small random Qwen2 and Llama checkpoints the test
//! writes itself (config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
//! generation_config.json), loaded with `weights::load` and compared with
//! candle-transformers' `qwen2::ModelForCausalLM` and `llama::Llama` on the same
//! tensors. Both references return last-position logits, so every position is checked
//! by running the reference on each prefix; logits agree within 1e-4.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::{llama, qwen2};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};
use serde_json::json;
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::pre_tokenizers::whitespace::WhitespaceSplit;
use tokenizers::{AddedToken, Tokenizer};
use xrpo_train::model::ModelConfig;
use xrpo_train::tokenizer::TextTokenizer;
use xrpo_train::weights::{LoadError, ModelSource, load, read_hf_dir};

/// Logits must agree this closely with the reference (f32 throughout; measured ≈ 1e-6).
const TOL: f32 = 1e-4;

const WORDS: [&str; 10] = [
    "<unk>",
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "hello",
    "world",
    "one",
    "two",
    "plus",
    "is",
];

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrpo-weights-hf-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn random(shape: &[usize], std: f32, mean: f32, rng: &mut StdRng) -> Tensor {
    let normal = Normal::new(mean, std).unwrap();
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| normal.sample(rng)).collect();
    Tensor::from_vec(data, shape, &Device::Cpu).unwrap()
}

/// Random Hugging Face tensors for `c` (norm gains around 1, biases when configured).
fn random_tensors(c: &ModelConfig, seed: u64) -> HashMap<String, Tensor> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (d, hd, ff) = (c.hidden_size, c.head_dim(), c.intermediate_size);
    let (q, kv) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
    let mut t = HashMap::new();
    t.insert(
        "model.embed_tokens.weight".to_string(),
        random(&[c.vocab_size, d], 1.0, 0.0, &mut rng),
    );
    for l in 0..c.num_hidden_layers {
        let p = format!("model.layers.{l}");
        let mut add = |n: &str, shape: &[usize], std: f32, mean: f32| {
            t.insert(format!("{p}.{n}"), random(shape, std, mean, &mut rng));
        };
        add("input_layernorm.weight", &[d], 0.1, 1.0);
        add("self_attn.q_proj.weight", &[q, d], 0.2, 0.0);
        add("self_attn.k_proj.weight", &[kv, d], 0.2, 0.0);
        add("self_attn.v_proj.weight", &[kv, d], 0.2, 0.0);
        if c.attention_bias {
            add("self_attn.q_proj.bias", &[q], 0.2, 0.0);
            add("self_attn.k_proj.bias", &[kv], 0.2, 0.0);
            add("self_attn.v_proj.bias", &[kv], 0.2, 0.0);
        }
        add("self_attn.o_proj.weight", &[d, q], 0.2, 0.0);
        add("post_attention_layernorm.weight", &[d], 0.1, 1.0);
        add("mlp.gate_proj.weight", &[ff, d], 0.2, 0.0);
        add("mlp.up_proj.weight", &[ff, d], 0.2, 0.0);
        add("mlp.down_proj.weight", &[d, ff], 0.2, 0.0);
    }
    t.insert(
        "model.norm.weight".to_string(),
        random(&[d], 0.1, 1.0, &mut rng),
    );
    if !c.tie_word_embeddings {
        t.insert(
            "lm_head.weight".to_string(),
            random(&[c.vocab_size, d], 0.2, 0.0, &mut rng),
        );
    }
    t
}

fn write_json(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// A word-level tokenizer.json: words split on whitespace, three special tokens.
fn write_tokenizer(dir: &Path) {
    let vocab: HashMap<String, u32> = WORDS
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), i as u32))
        .collect();
    let model = WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token("<unk>".into())
        .build()
        .unwrap();
    let mut tok = Tokenizer::new(model);
    tok.with_pre_tokenizer(Some(WhitespaceSplit));
    tok.add_special_tokens(&[
        AddedToken::from("<|im_start|>", true),
        AddedToken::from("<|im_end|>", true),
        AddedToken::from("<|endoftext|>", true),
    ]);
    tok.save(dir.join("tokenizer.json"), false).unwrap();
}

/// Our logits for `ids` at every position, `[t, V]`.
fn our_logits(model: &xrpo_train::weights::LoadedModel, ids: &[u32]) -> Vec<Vec<f32>> {
    let input = Tensor::new(ids, &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    model
        .policy
        .logits(&input)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec2()
        .unwrap()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

const SEQUENCES: [&[u32]; 3] = [
    &[4],
    &[1, 4, 5, 2, 6, 8, 7, 9],
    &[3, 3, 9, 8, 5, 4, 6, 7, 1, 2, 6, 5],
];

fn qwen2_config() -> ModelConfig {
    ModelConfig {
        vocab_size: 24,
        hidden_size: 32,
        intermediate_size: 48,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: None,
        rope_theta: 1_000_000.0,
        rms_norm_eps: 1e-6,
        max_position_embeddings: 128,
        tie_word_embeddings: true,
        attention_bias: true,
    }
}

fn write_qwen2(dir: &Path) -> (ModelConfig, HashMap<String, Tensor>) {
    let c = qwen2_config();
    let tensors = random_tensors(&c, 1);
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
    write_json(
        &dir.join("config.json"),
        &json!({
            "architectures": ["Qwen2ForCausalLM"],
            "model_type": "qwen2",
            "vocab_size": c.vocab_size,
            "hidden_size": c.hidden_size,
            "intermediate_size": c.intermediate_size,
            "num_hidden_layers": c.num_hidden_layers,
            "num_attention_heads": c.num_attention_heads,
            "num_key_value_heads": c.num_key_value_heads,
            "max_position_embeddings": c.max_position_embeddings,
            "sliding_window": 128,
            "max_window_layers": 2,
            "use_sliding_window": false,
            "tie_word_embeddings": true,
            "rope_theta": c.rope_theta,
            "rms_norm_eps": c.rms_norm_eps,
            "hidden_act": "silu",
            "bos_token_id": 3,
            "eos_token_id": 3,
            "torch_dtype": "float32",
        }),
    );
    write_tokenizer(dir);
    write_json(
        &dir.join("tokenizer_config.json"),
        &json!({
            "bos_token": null,
            "eos_token": "<|im_end|>",
            "chat_template": "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}",
        }),
    );
    write_json(
        &dir.join("generation_config.json"),
        &json!({"eos_token_id": [2, 3]}),
    );
    (c, tensors)
}

#[test]
fn qwen2_logits_match_candle_transformers() {
    let dir = temp_dir("qwen2");
    let (config, tensors) = write_qwen2(&dir);
    let ours = load(&ModelSource::HfDir(dir.clone()), &Device::Cpu, 0).unwrap();
    assert_eq!(ours.policy.config(), &config);

    let ref_cfg: qwen2::Config =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    let mut reference = qwen2::ModelForCausalLM::new(&ref_cfg, vb).unwrap();
    for ids in SEQUENCES {
        let all = our_logits(&ours, ids);
        for t in 1..=ids.len() {
            reference.clear_kv_cache();
            let input = Tensor::new(&ids[..t], &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let theirs: Vec<f32> = reference
                .forward(&input, 0)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let d = max_abs_diff(&all[t - 1], &theirs);
            assert!(
                d < TOL,
                "sequence {ids:?}, position {}: max diff {d}",
                t - 1
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn llama_logits_match_candle_transformers() {
    let dir = temp_dir("llama");
    let c = ModelConfig {
        vocab_size: 20,
        hidden_size: 48,
        intermediate_size: 64,
        num_hidden_layers: 3,
        num_attention_heads: 6,
        num_key_value_heads: 2,
        head_dim: None,
        rope_theta: 10_000.0,
        rms_norm_eps: 1e-5,
        max_position_embeddings: 64,
        tie_word_embeddings: false,
        attention_bias: false,
    };
    let mut tensors = random_tensors(&c, 2);
    // Real Llama checkpoints may carry rotary caches; they are ignored.
    tensors.insert(
        "model.layers.0.self_attn.rotary_emb.inv_freq".into(),
        Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap(),
    );
    candle_core::safetensors::save(&tensors, dir.join("model.safetensors")).unwrap();
    tensors.remove("model.layers.0.self_attn.rotary_emb.inv_freq");
    let config_json = json!({
        "architectures": ["LlamaForCausalLM"],
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads,
        "num_key_value_heads": c.num_key_value_heads,
        "max_position_embeddings": c.max_position_embeddings,
        "rope_theta": c.rope_theta,
        "rms_norm_eps": c.rms_norm_eps,
        "tie_word_embeddings": false,
        "attention_bias": false,
        "mlp_bias": false,
        "hidden_act": "silu",
        "rope_scaling": null,
        "bos_token_id": 1,
        "eos_token_id": 2,
    });
    write_json(&dir.join("config.json"), &config_json);
    write_tokenizer(&dir);
    // No tokenizer_config.json and no generation_config.json: EOS from config.json.
    let ours = load(&ModelSource::HfDir(dir.clone()), &Device::Cpu, 0).unwrap();
    assert_eq!(ours.policy.config(), &c);
    assert_eq!(ours.tokenizer.eos_ids(), &[2]);
    assert!(!ours.tokenizer.is_chat());

    let ref_cfg: llama::LlamaConfig = serde_json::from_value(config_json).unwrap();
    let ref_cfg = ref_cfg.into_config(false);
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    let reference = llama::Llama::load(vb, &ref_cfg).unwrap();
    for ids in SEQUENCES {
        let ids: Vec<u32> = ids.iter().map(|&i| i % c.vocab_size as u32).collect();
        let all = our_logits(&ours, &ids);
        for t in 1..=ids.len() {
            let mut cache = llama::Cache::new(false, DType::F32, &ref_cfg, &Device::Cpu).unwrap();
            let input = Tensor::new(&ids[..t], &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let theirs: Vec<f32> = reference
                .forward(&input, 0, &mut cache)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let d = max_abs_diff(&all[t - 1], &theirs);
            assert!(
                d < TOL,
                "sequence {ids:?}, position {}: max diff {d}",
                t - 1
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tokenizer_special_tokens_and_chat_template_come_from_the_directory() {
    let dir = temp_dir("tokenizer");
    write_qwen2(&dir);
    let parts = read_hf_dir(&dir).unwrap();
    let tok = &parts.tokenizer;
    assert_eq!(tok.vocab_size(), WORDS.len());
    assert_eq!(tok.encode("hello world").unwrap(), vec![4, 5]);
    assert_eq!(
        tok.encode("one plus two<|im_end|>").unwrap(),
        vec![6, 8, 7, 2]
    );
    // EOS: generation_config [2, 3], config.json 3, tokenizer_config "<|im_end|>" (2).
    assert_eq!(tok.eos_ids(), &[2, 3]);
    assert_eq!(tok.bos_id(), None);
    assert_eq!(
        tok.apply_chat_template("hello"),
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
    );
    assert!(parts.description.contains("Qwen2ForCausalLM"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tiny_checkpoint_without_tokenizer_json_uses_the_char_tokenizer() {
    let dir = temp_dir("tiny");
    let tiny = load(&ModelSource::Tiny, &Device::Cpu, 5).unwrap();
    tiny.policy
        .save_safetensors(&dir.join("model.safetensors"))
        .unwrap();
    let mut cfg = serde_json::to_value(ModelConfig::tiny()).unwrap();
    cfg["architectures"] = json!(["LlamaForCausalLM"]);
    write_json(&dir.join("config.json"), &cfg);
    let back = load(&ModelSource::HfDir(dir.clone()), &Device::Cpu, 0).unwrap();
    let ids = [2u32, 14, 3, 19, 40];
    let a = our_logits(&tiny, &ids);
    let b = our_logits(&back, &ids);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(back.tokenizer.encode("1+2").unwrap(), vec![3, 14, 4]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn clear_errors_for_bad_checkpoints() {
    let dir = temp_dir("errors");
    write_qwen2(&dir);
    let config_path = dir.join("config.json");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();

    let mut v = original.clone();
    v["architectures"] = json!(["GPT2LMHeadModel"]);
    write_json(&config_path, &v);
    let err = read_hf_dir(&dir).unwrap_err();
    assert!(matches!(err, LoadError::Unsupported { .. }), "{err}");
    assert!(err.to_string().contains("GPT2LMHeadModel"), "{err}");

    let mut v = original.clone();
    v["rope_scaling"] = json!({"type": "yarn", "factor": 4.0});
    write_json(&config_path, &v);
    let err = read_hf_dir(&dir).unwrap_err();
    assert!(err.to_string().contains("rope_scaling"), "{err}");

    let mut v = original.clone();
    v["hidden_size"] = json!(64);
    write_json(&config_path, &v);
    let err = read_hf_dir(&dir).unwrap_err();
    assert!(matches!(err, LoadError::ShapeMismatch { .. }), "{err}");

    let mut v = original.clone();
    v["num_hidden_layers"] = json!(3);
    write_json(&config_path, &v);
    let err = read_hf_dir(&dir).unwrap_err();
    assert!(
        matches!(&err, LoadError::MissingTensor { name, .. } if name.starts_with("model.layers.2.")),
        "{err}"
    );

    std::fs::write(&config_path, "{ not json").unwrap();
    let err = read_hf_dir(&dir).unwrap_err();
    assert!(matches!(err, LoadError::Config { .. }), "{err}");
    assert!(err.to_string().contains("config.json"), "{err}");

    let err = load(
        &ModelSource::HfDir(dir.join("does-not-exist")),
        &Device::Cpu,
        0,
    )
    .unwrap_err();
    assert!(err.to_string().contains("does-not-exist"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
