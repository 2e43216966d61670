//! Gradient reachability and a finite-difference check of the differentiable path.

use candle_core::{DType, Device, Tensor};
use xrpo_train::model::{ModelConfig, Policy};

/// A small config exercising every optional part: q/k/v bias, untied head, GQA.
fn small(tied: bool, bias: bool) -> ModelConfig {
    ModelConfig {
        vocab_size: 13,
        hidden_size: 16,
        intermediate_size: 24,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: None,
        rope_theta: 10_000.0,
        rms_norm_eps: 1e-6,
        max_position_embeddings: 32,
        tie_word_embeddings: tied,
        attention_bias: bias,
    }
}

fn batch() -> (Vec<Vec<u32>>, Vec<Vec<u32>>) {
    (
        vec![vec![1, 2, 3], vec![4], vec![5, 6, 7, 8, 9]],
        vec![vec![10, 11, 12, 0], vec![3, 3], vec![2, 1, 7]],
    )
}

/// Σ_ij c_ij · logprob_ij with fixed, unequal weights c (so no gradient cancels by
/// symmetry).
fn loss(policy: &Policy) -> Tensor {
    let (p, c) = batch();
    let out = policy.token_logprobs(&p, &c).unwrap();
    let (b, l) = out.logprobs.dims2().unwrap();
    let w: Vec<f64> = (0..b * l).map(|i| 0.3 + 0.17 * i as f64).collect();
    let w = Tensor::from_vec(w, (b, l), &Device::Cpu)
        .unwrap()
        .to_dtype(out.logprobs.dtype())
        .unwrap();
    (out.logprobs * w).unwrap().sum_all().unwrap()
}

#[test]
fn every_trainable_var_gets_a_nonzero_gradient() {
    for (tied, bias) in [(true, false), (false, true)] {
        let policy = Policy::new_random(small(tied, bias), 7, &Device::Cpu).unwrap();
        // Biases start at zero and RMSNorm gains at one; perturb them so no gradient is
        // zero merely by initialisation symmetry.
        for (_, v) in policy.named_vars() {
            let noise = v.as_tensor().randn_like(0.0, 0.1).unwrap();
            v.set(&(v.as_tensor() + noise).unwrap()).unwrap();
        }
        let grads = loss(&policy).backward().unwrap();
        let vars = policy.named_vars();
        let expected = if bias { 2 + 2 * 12 + 1 } else { 1 + 2 * 9 + 1 };
        assert_eq!(vars.len(), expected);
        for (name, var) in vars {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("no gradient for {name} (tied={tied})"));
            let norm = g
                .sqr()
                .unwrap()
                .sum_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(norm > 0.0 && norm.is_finite(), "{name}: |grad|² = {norm}");
        }
    }
}

/// Central differences in f64 against the autograd gradient, on a few coordinates of
/// every variable.
#[test]
fn gradient_matches_finite_differences_in_f64() {
    let policy =
        Policy::new_random_with_dtype(small(false, true), 3, DType::F64, &Device::Cpu).unwrap();
    for (_, v) in policy.named_vars() {
        let noise = v.as_tensor().randn_like(0.0, 0.1).unwrap();
        v.set(&(v.as_tensor() + noise).unwrap()).unwrap();
    }
    let grads = loss(&policy).backward().unwrap();
    let eps = 1e-5;
    let mut checked = 0;
    for (name, var) in policy.named_vars() {
        let shape = var.dims().to_vec();
        let base: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        let g: Vec<f64> = grads
            .get(var.as_tensor())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        // Three coordinates spread over the tensor.
        for k in [0, base.len() / 2, base.len() - 1] {
            let eval = |delta: f64| {
                let mut w = base.clone();
                w[k] += delta;
                var.set(&Tensor::from_vec(w, shape.clone(), &Device::Cpu).unwrap())
                    .unwrap();
                loss(&policy).to_scalar::<f64>().unwrap()
            };
            let fd = (eval(eps) - eval(-eps)) / (2.0 * eps);
            var.set(&Tensor::from_vec(base.clone(), shape.clone(), &Device::Cpu).unwrap())
                .unwrap();
            let tol = 1e-6 + 1e-5 * fd.abs().max(g[k].abs());
            assert!(
                (fd - g[k]).abs() <= tol,
                "{name}[{k}]: finite difference {fd} vs autograd {}",
                g[k]
            );
            checked += 1;
        }
    }
    // 2 layers × 12 tensors + embedding + final norm + untied head = 27 variables.
    assert_eq!(checked, 3 * 27);
}
