//! The forward pass against an independent naive f64 implementation, the two forward
//! paths against each other, and the batched log-probs against per-sequence logits.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use xrpo_train::model::{ForwardMode, ModelConfig, Policy};

fn small(tied: bool, bias: bool, theta: f64) -> ModelConfig {
    ModelConfig {
        vocab_size: 17,
        hidden_size: 24,
        intermediate_size: 40,
        num_hidden_layers: 2,
        num_attention_heads: 6,
        num_key_value_heads: 2,
        head_dim: None,
        rope_theta: theta,
        rms_norm_eps: 1e-5,
        max_position_embeddings: 64,
        tie_word_embeddings: tied,
        attention_bias: bias,
    }
}

/// A policy whose norm gains and biases are perturbed away from 1/0, so the reference
/// comparison exercises them.
fn perturbed(cfg: ModelConfig, seed: u64) -> Policy {
    let policy = Policy::new_random(cfg, seed, &Device::Cpu).unwrap();
    for (_, v) in policy.named_vars() {
        let noise = v.as_tensor().randn_like(0.0, 0.2).unwrap();
        v.set(&(v.as_tensor() + noise).unwrap()).unwrap();
    }
    policy
}

fn weights(policy: &Policy) -> HashMap<String, Vec<f64>> {
    policy
        .named_vars()
        .into_iter()
        .map(|(n, v)| {
            let t = v
                .as_tensor()
                .to_dtype(DType::F64)
                .unwrap()
                .flatten_all()
                .unwrap();
            (n, t.to_vec1::<f64>().unwrap())
        })
        .collect()
}

/// `W · x` for a row-major `[out, in]` matrix.
fn matvec(w: &[f64], x: &[f64]) -> Vec<f64> {
    w.chunks(x.len())
        .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}

fn rms(x: &[f64], g: &[f64], eps: f64) -> Vec<f64> {
    let ms = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    let r = 1.0 / (ms + eps).sqrt();
    x.iter().zip(g).map(|(v, g)| v * r * g).collect()
}

/// RoPE on one head vector at position p, "rotate half" layout written out pairwise:
/// (a, b) = (u_i, u_{i+h}) ↦ (a cos − b sin, b cos + a sin), angle p·θ^(−2i/hd).
fn rope(u: &mut [f64], p: usize, theta: f64) {
    let hd = u.len();
    let h = hd / 2;
    for i in 0..h {
        let ang = p as f64 * theta.powf(-2.0 * i as f64 / hd as f64);
        let (a, b) = (u[i], u[i + h]);
        u[i] = a * ang.cos() - b * ang.sin();
        u[i + h] = b * ang.cos() + a * ang.sin();
    }
}

/// Token-by-token reference forward of one sequence, straight from the Llama equations.
fn reference_logits(
    cfg: &ModelConfig,
    w: &HashMap<String, Vec<f64>>,
    ids: &[u32],
) -> Vec<Vec<f64>> {
    let d = cfg.hidden_size;
    let hd = cfg.head_dim();
    let (nh, nkv) = (cfg.num_attention_heads, cfg.num_key_value_heads);
    let eps = cfg.rms_norm_eps;
    let emb = &w["model.embed_tokens.weight"];
    let mut xs: Vec<Vec<f64>> = ids
        .iter()
        .map(|&t| emb[t as usize * d..(t as usize + 1) * d].to_vec())
        .collect();
    for l in 0..cfg.num_hidden_layers {
        let p = |s: &str| format!("model.layers.{l}.{s}");
        let add_bias = |mut y: Vec<f64>, name: &str| {
            if let Some(b) = w.get(&p(name)) {
                y.iter_mut().zip(b).for_each(|(y, b)| *y += b);
            }
            y
        };
        let mut qs = Vec::new();
        let mut ks = Vec::new();
        let mut vs = Vec::new();
        for (pos, x) in xs.iter().enumerate() {
            let xn = rms(x, &w[&p("input_layernorm.weight")], eps);
            let mut q = add_bias(
                matvec(&w[&p("self_attn.q_proj.weight")], &xn),
                "self_attn.q_proj.bias",
            );
            let mut k = add_bias(
                matvec(&w[&p("self_attn.k_proj.weight")], &xn),
                "self_attn.k_proj.bias",
            );
            let v = add_bias(
                matvec(&w[&p("self_attn.v_proj.weight")], &xn),
                "self_attn.v_proj.bias",
            );
            q.chunks_mut(hd).for_each(|u| rope(u, pos, cfg.rope_theta));
            k.chunks_mut(hd).for_each(|u| rope(u, pos, cfg.rope_theta));
            qs.push(q);
            ks.push(k);
            vs.push(v);
        }
        for t in 0..xs.len() {
            let mut out = vec![0.0; nh * hd];
            for h in 0..nh {
                let kvh = h / (nh / nkv);
                let q = &qs[t][h * hd..(h + 1) * hd];
                let s: Vec<f64> = (0..=t)
                    .map(|j| {
                        q.iter()
                            .zip(&ks[j][kvh * hd..(kvh + 1) * hd])
                            .map(|(a, b)| a * b)
                            .sum::<f64>()
                            / (hd as f64).sqrt()
                    })
                    .collect();
                let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = s.iter().map(|v| (v - m).exp()).sum();
                for (j, sj) in s.iter().enumerate() {
                    let pj = (sj - m).exp() / z;
                    for i in 0..hd {
                        out[h * hd + i] += pj * vs[j][kvh * hd + i];
                    }
                }
            }
            let o = matvec(&w[&p("self_attn.o_proj.weight")], &out);
            xs[t].iter_mut().zip(&o).for_each(|(x, o)| *x += o);
            let xn = rms(&xs[t], &w[&p("post_attention_layernorm.weight")], eps);
            let gate = matvec(&w[&p("mlp.gate_proj.weight")], &xn);
            let up = matvec(&w[&p("mlp.up_proj.weight")], &xn);
            let act: Vec<f64> = gate
                .iter()
                .zip(&up)
                .map(|(g, u)| g / (1.0 + (-g).exp()) * u)
                .collect();
            let down = matvec(&w[&p("mlp.down_proj.weight")], &act);
            xs[t].iter_mut().zip(&down).for_each(|(x, o)| *x += o);
        }
    }
    let head = w.get("lm_head.weight").unwrap_or(emb);
    xs.iter()
        .map(|x| matvec(head, &rms(x, &w["model.norm.weight"], eps)))
        .collect()
}

fn logits_of(policy: &Policy, ids: &[u32], mode: ForwardMode) -> Vec<Vec<f32>> {
    let t = Tensor::from_vec(ids.to_vec(), (1, ids.len()), &Device::Cpu).unwrap();
    policy
        .logits_with(&t, mode)
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec2()
        .unwrap()
}

#[test]
fn both_paths_match_a_naive_reference_forward() {
    for (tied, bias, theta) in [(true, false, 10_000.0), (false, true, 100.0)] {
        let cfg = small(tied, bias, theta);
        let policy = perturbed(cfg.clone(), 11);
        let w = weights(&policy);
        let ids = [3u32, 16, 0, 7, 7, 2, 9, 11, 5, 1];
        let want = reference_logits(&cfg, &w, &ids);
        for mode in [ForwardMode::Differentiable, ForwardMode::Inference] {
            let got = logits_of(&policy, &ids, mode);
            for (t, (g, r)) in got.iter().zip(&want).enumerate() {
                for (v, (g, r)) in g.iter().zip(r).enumerate() {
                    assert!(
                        (*g as f64 - r).abs() < 2e-4 * (1.0 + r.abs()),
                        "{mode:?} tied={tied} t={t} v={v}: {g} vs {r}"
                    );
                }
            }
        }
    }
}

#[test]
fn tiny_paths_agree_on_a_batch() {
    let policy = Policy::new_random(ModelConfig::tiny(), 5, &Device::Cpu).unwrap();
    let ids: Vec<u32> = (0..3 * 40).map(|i| (i * 7 + i / 5) % 64).collect();
    let ids = Tensor::from_vec(ids, (3, 40), &Device::Cpu).unwrap();
    let a = policy
        .logits_with(&ids, ForwardMode::Differentiable)
        .unwrap();
    let b = policy.logits_with(&ids, ForwardMode::Inference).unwrap();
    assert_eq!(a.dims(), &[3, 40, 64]);
    let diff = (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-4, "max |Δlogit| = {diff}");
}

/// Batched, right-padded log-probs equal log-softmax of each sequence's own logits.
#[test]
fn token_logprobs_match_per_sequence_log_softmax() {
    let policy = perturbed(small(false, true, 10_000.0), 2);
    let prompts = vec![
        vec![1u32, 2, 3],
        vec![4],
        vec![5, 6, 7, 8, 9, 10],
        vec![3, 3],
    ];
    let completions = vec![vec![10u32, 11, 12, 0], vec![3, 3], vec![2], vec![]];
    let out = policy.token_logprobs(&prompts, &completions).unwrap();
    assert_eq!(out.logprobs.dims(), &[4, 4]);
    let lp: Vec<Vec<f32>> = out.logprobs.to_vec2().unwrap();
    let mask: Vec<Vec<f32>> = out.mask.to_vec2().unwrap();
    let detached = policy
        .token_logprobs_detached(&prompts, &completions)
        .unwrap();
    for (i, (p, c)) in prompts.iter().zip(&completions).enumerate() {
        let ids: Vec<u32> = p.iter().chain(c).copied().collect();
        let logits = logits_of(&policy, &ids, ForwardMode::Differentiable);
        assert_eq!(detached[i].len(), c.len());
        for j in 0..4 {
            if j < c.len() {
                let row = &logits[p.len() + j - 1];
                let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
                let lse = m + row.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
                let want = row[c[j] as usize] as f64 - lse;
                assert!(
                    (lp[i][j] as f64 - want).abs() < 1e-4,
                    "row {i} tok {j}: {} vs {want}",
                    lp[i][j]
                );
                assert!(
                    (detached[i][j] as f64 - want).abs() < 1e-4,
                    "detached row {i} tok {j}"
                );
                assert_eq!(mask[i][j], 1.0);
            } else {
                assert_eq!(
                    (lp[i][j], mask[i][j]),
                    (0.0, 0.0),
                    "padding row {i} tok {j}"
                );
            }
        }
    }
}

#[test]
fn bad_inputs_are_named() {
    let policy = Policy::new_random(ModelConfig::tiny(), 0, &Device::Cpu).unwrap();
    let e = policy
        .token_logprobs(&[vec![]], &[vec![1]])
        .unwrap_err()
        .to_string();
    assert!(e.contains("empty prompt"), "{e}");
    let e = policy
        .token_logprobs(&[vec![1]], &[vec![64]])
        .unwrap_err()
        .to_string();
    assert!(e.contains("token id 64"), "{e}");
    let e = policy
        .token_logprobs(&[vec![1]], &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("1 prompts but 0 completions"), "{e}");
    let e = policy
        .token_logprobs(&[vec![1; 300]], &[vec![1; 300]])
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds max_position_embeddings"), "{e}");
    let f = Tensor::zeros((1, 3), DType::F32, &Device::Cpu).unwrap();
    assert!(policy.logits(&f).unwrap_err().to_string().contains("u32"));
}
