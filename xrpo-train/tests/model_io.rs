//! Construction from named tensors, safetensors round trips, snapshots, seeding.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use xrpo_train::model::{ModelConfig, ModelError, Policy};

fn ids() -> Tensor {
    Tensor::from_vec(vec![1u32, 5, 9, 13, 2, 40, 63, 0], (2, 4), &Device::Cpu).unwrap()
}

fn logits(p: &Policy) -> Vec<f32> {
    p.logits(&ids())
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn tensors(p: &Policy) -> HashMap<String, Tensor> {
    p.named_vars()
        .into_iter()
        .map(|(n, v)| (n, v.as_tensor().copy().unwrap()))
        .collect()
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let a = Policy::new_random(ModelConfig::tiny(), 1, &Device::Cpu).unwrap();
    let b = Policy::new_random(ModelConfig::tiny(), 1, &Device::Cpu).unwrap();
    let c = Policy::new_random(ModelConfig::tiny(), 2, &Device::Cpu).unwrap();
    assert_eq!(logits(&a), logits(&b));
    assert_ne!(logits(&a), logits(&c));
    // Tied: no lm_head; 1 + 4·9 + 1 variables.
    let names: Vec<String> = a.named_vars().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 38);
    assert_eq!(names[0], "model.embed_tokens.weight");
    assert_eq!(names[37], "model.norm.weight");
    assert!(names.contains(&"model.layers.3.mlp.down_proj.weight".to_string()));
    let total: usize = a.named_vars().iter().map(|(_, v)| v.elem_count()).sum();
    assert_eq!(total, a.num_params());
}

#[test]
fn from_tensors_round_trips_and_names_what_is_wrong() {
    let a = Policy::new_random(ModelConfig::tiny(), 3, &Device::Cpu).unwrap();
    let b = Policy::from_tensors(ModelConfig::tiny(), tensors(&a), &Device::Cpu).unwrap();
    assert_eq!(logits(&a), logits(&b));

    let mut t = tensors(&a);
    t.remove("model.layers.2.self_attn.k_proj.weight");
    match Policy::from_tensors(ModelConfig::tiny(), t, &Device::Cpu) {
        Err(ModelError::MissingTensor { name }) => {
            assert_eq!(name, "model.layers.2.self_attn.k_proj.weight")
        }
        other => panic!("expected MissingTensor, got {other:?}"),
    }
    let mut t = tensors(&a);
    t.insert(
        "lm_head.weight".into(),
        Tensor::zeros((64, 128), candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    match Policy::from_tensors(ModelConfig::tiny(), t, &Device::Cpu) {
        Err(ModelError::UnexpectedTensor { name }) => assert_eq!(name, "lm_head.weight"),
        other => panic!("expected UnexpectedTensor, got {other:?}"),
    }
    let mut t = tensors(&a);
    t.insert(
        "model.norm.weight".into(),
        Tensor::zeros(127, candle_core::DType::F32, &Device::Cpu).unwrap(),
    );
    match Policy::from_tensors(ModelConfig::tiny(), t, &Device::Cpu) {
        Err(ModelError::ShapeMismatch {
            name,
            expected,
            actual,
        }) => {
            assert_eq!(
                (name.as_str(), expected, actual),
                ("model.norm.weight", vec![128], vec![127])
            );
        }
        other => panic!("expected ShapeMismatch, got {other:?}"),
    }
}

#[test]
fn safetensors_round_trip_into_existing_vars() {
    let dir = std::env::temp_dir().join(format!("xrpo-model-io-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policy.safetensors");
    let a = Policy::new_random(ModelConfig::tiny(), 4, &Device::Cpu).unwrap();
    a.save_safetensors(&path).unwrap();
    let b = Policy::new_random(ModelConfig::tiny(), 5, &Device::Cpu).unwrap();
    let held = b.named_vars();
    assert_ne!(logits(&a), logits(&b));
    b.load_safetensors(&path).unwrap();
    assert_eq!(logits(&a), logits(&b));
    // The vars an optimizer holds are the ones that were overwritten.
    let w: Vec<f32> = held[1]
        .1
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let want: Vec<f32> = a.named_vars()[1]
        .1
        .as_tensor()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(w, want);

    let mut other = ModelConfig::tiny();
    other.intermediate_size = 100;
    let c = Policy::new_random(other, 0, &Device::Cpu).unwrap();
    let e = c.load_safetensors(&path).unwrap_err().to_string();
    assert!(
        e.contains("model.layers.0.mlp.gate_proj.weight") && e.contains("[100, 128]"),
        "{e}"
    );
    let e = a
        .load_safetensors(&dir.join("absent.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.safetensors"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn snapshot_is_frozen() {
    let a = Policy::new_random(ModelConfig::tiny(), 6, &Device::Cpu).unwrap();
    let snap = a.snapshot().unwrap();
    let before = logits(&snap);
    assert_eq!(before, logits(&a));
    for (_, v) in a.named_vars() {
        v.set(&(v.as_tensor() * 1.5).unwrap()).unwrap();
    }
    assert_ne!(logits(&a), before);
    assert_eq!(logits(&snap), before);
}
