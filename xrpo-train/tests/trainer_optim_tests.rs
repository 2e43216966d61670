//! AdamW, gradient clipping and the schedule against hand-computed numbers.

use candle_core::{Device, Tensor, Var};
use xrpo_train::optim::{AdamW, AdamWConfig, LrSchedule, OptimError, clip_grad_norm};

/// Loss Σ c_i θ_i has gradient c; returns the grad store.
fn linear_grads(w: &Var, c: &[f32]) -> candle_core::backprop::GradStore {
    let c = Tensor::new(c, &Device::Cpu).unwrap();
    (w.as_tensor() * c)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap()
}

/// Reference AdamW for one scalar parameter with constant gradient, plain f64.
fn reference_adamw(theta0: f64, grads: &[f64], lrs: &[f64], cfg: &AdamWConfig) -> f64 {
    let (mut theta, mut m, mut v) = (theta0, 0.0, 0.0);
    for (t, (g, lr)) in grads.iter().zip(lrs).enumerate() {
        let t = (t + 1) as i32;
        theta -= lr * cfg.weight_decay * theta;
        m = cfg.beta1 * m + (1.0 - cfg.beta1) * g;
        v = cfg.beta2 * v + (1.0 - cfg.beta2) * g * g;
        let mh = m / (1.0 - cfg.beta1.powi(t));
        let vh = v / (1.0 - cfg.beta2.powi(t));
        theta -= lr * mh / (vh.sqrt() + cfg.eps);
    }
    theta
}

#[test]
fn first_adamw_step_moves_by_lr_times_sign() {
    // Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g|+ε) ≈ lr·sign(g).
    let w = Var::new(&[1.0f32, -2.0, 0.5], &Device::Cpu).unwrap();
    let mut opt = AdamW::new(vec![("w".into(), w.clone())], AdamWConfig::default()).unwrap();
    let grads = linear_grads(&w, &[3.0, -0.5, 0.0]);
    opt.step(&grads, 0.1).unwrap();
    let got = w.as_tensor().to_vec1::<f32>().unwrap();
    let expected = [1.0 - 0.1, -2.0 + 0.1, 0.5];
    for (g, e) in got.iter().zip(expected) {
        assert!((g - e).abs() < 1e-6, "{got:?}");
    }
}

#[test]
fn adamw_matches_reference_over_several_steps_with_decay() {
    let cfg = AdamWConfig {
        weight_decay: 0.1,
        ..Default::default()
    };
    let w = Var::new(&[2.0f32, -1.0], &Device::Cpu).unwrap();
    let mut opt = AdamW::new(vec![("w".into(), w.clone())], cfg).unwrap();
    let g0 = [0.3, -1.5, 2.0, 0.1];
    let g1 = [-0.2, 0.4, 0.4, -3.0];
    let lrs = [0.05, 0.04, 0.03, 0.02];
    for s in 0..4 {
        let grads = linear_grads(&w, &[g0[s] as f32, g1[s] as f32]);
        opt.step(&grads, lrs[s]).unwrap();
    }
    let got = w.as_tensor().to_vec1::<f32>().unwrap();
    let e0 = reference_adamw(2.0, &g0, &lrs, &cfg);
    let e1 = reference_adamw(-1.0, &g1, &lrs, &cfg);
    assert!((got[0] as f64 - e0).abs() < 1e-5, "{} vs {e0}", got[0]);
    assert!((got[1] as f64 - e1).abs() < 1e-5, "{} vs {e1}", got[1]);
    assert_eq!(opt.steps_taken(), 4);
}

#[test]
fn state_roundtrip_continues_identically() {
    let dir = std::env::temp_dir().join(format!("xrpo-optim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("opt.safetensors");
    let run = |resume_at: Option<usize>| -> Vec<f32> {
        let w = Var::new(&[0.7f32, -0.3], &Device::Cpu).unwrap();
        let mut opt = AdamW::new(vec![("w".into(), w.clone())], AdamWConfig::default()).unwrap();
        for s in 0..5 {
            if resume_at == Some(s) {
                opt.save(&path).unwrap();
                let saved_w = w.as_tensor().copy().unwrap();
                let w2 = Var::from_tensor(&saved_w).unwrap();
                let mut opt2 =
                    AdamW::new(vec![("w".into(), w2.clone())], AdamWConfig::default()).unwrap();
                opt2.load(&path).unwrap();
                assert_eq!(opt2.steps_taken(), s as u64);
                for s2 in s..5 {
                    let grads = linear_grads(&w2, &[s2 as f32 - 2.0, 1.0]);
                    opt2.step(&grads, 0.01).unwrap();
                }
                return w2.as_tensor().to_vec1::<f32>().unwrap();
            }
            let grads = linear_grads(&w, &[s as f32 - 2.0, 1.0]);
            opt.step(&grads, 0.01).unwrap();
        }
        w.as_tensor().to_vec1::<f32>().unwrap()
    };
    let straight = run(None);
    let resumed = run(Some(3));
    assert_eq!(straight, resumed);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn load_state_rejects_wrong_shapes_naming_the_parameter() {
    let a = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
    let b = Var::new(&[1.0f32, 2.0, 3.0], &Device::Cpu).unwrap();
    let opt_a = AdamW::new(vec![("p".into(), a)], AdamWConfig::default()).unwrap();
    let mut opt_b = AdamW::new(vec![("p".into(), b)], AdamWConfig::default()).unwrap();
    let err = opt_b
        .load_state(&opt_a.state_tensors().unwrap())
        .unwrap_err();
    assert!(
        matches!(err, OptimError::StateMismatch { ref name, .. } if name == "p"),
        "{err}"
    );
}

#[test]
fn duplicate_names_and_bad_betas_are_errors() {
    let a = Var::new(&[1.0f32], &Device::Cpu).unwrap();
    let err = AdamW::new(
        vec![("x".into(), a.clone()), ("x".into(), a.clone())],
        AdamWConfig::default(),
    )
    .unwrap_err();
    assert!(matches!(err, OptimError::DuplicateName(_)));
    let err = AdamW::new(
        vec![("x".into(), a)],
        AdamWConfig {
            beta2: 1.0,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("beta2"), "{err}");
}

#[test]
fn clip_grad_norm_by_hand() {
    // Gradients (3, 4) and (12): global norm √(9 + 16 + 144) = 13.
    let a = Var::new(&[0.0f32, 0.0], &Device::Cpu).unwrap();
    let b = Var::new(&[0.0f32], &Device::Cpu).unwrap();
    let loss = ((a.as_tensor() * Tensor::new(&[3.0f32, 4.0], &Device::Cpu).unwrap())
        .unwrap()
        .sum_all()
        .unwrap()
        + (b.as_tensor() * 12.0).unwrap().sum_all().unwrap())
    .unwrap();
    let mut grads = loss.backward().unwrap();
    let vars = [a.clone(), b.clone()];
    let n = clip_grad_norm(&mut grads, &vars, 6.5).unwrap();
    assert!((n.pre_clip - 13.0).abs() < 1e-9);
    let scale = 6.5 / (13.0 + 1e-6);
    assert!((n.scale - scale).abs() < 1e-12);
    let ga = grads.get(a.as_tensor()).unwrap().to_vec1::<f32>().unwrap();
    assert!((ga[0] as f64 - 3.0 * scale).abs() < 1e-6 && (ga[1] as f64 - 4.0 * scale).abs() < 1e-6);
    // Below the threshold: untouched.
    let n2 = clip_grad_norm(&mut grads, &vars, 100.0).unwrap();
    assert_eq!(n2.scale, 1.0);
    assert!((n2.pre_clip - 6.5).abs() < 1e-5);
}

#[test]
fn clip_grad_norm_rejects_non_finite() {
    let a = Var::new(&[0.0f32], &Device::Cpu).unwrap();
    let loss = (a.as_tensor() * f64::NAN).unwrap().sum_all().unwrap();
    let mut grads = loss.backward().unwrap();
    let err = clip_grad_norm(&mut grads, &[a], 1.0).unwrap_err();
    assert!(matches!(err, OptimError::NonFiniteGradNorm { .. }));
}

#[test]
fn schedule_by_hand() {
    let s = LrSchedule {
        peak_lr: 1.0,
        warmup_steps: 4,
        total_steps: 14,
        min_lr_ratio: 0.1,
    };
    // Warm-up: (s+1)/4.
    assert!((s.lr_at(0) - 0.25).abs() < 1e-12);
    assert!((s.lr_at(3) - 1.0).abs() < 1e-12);
    // Cosine over 10 steps: at s = 4 the peak, at s = 9 halfway → 0.1 + 0.9·0.5 = 0.55.
    assert!((s.lr_at(4) - 1.0).abs() < 1e-12);
    assert!((s.lr_at(9) - 0.55).abs() < 1e-12);
    // End and beyond: the floor.
    assert!((s.lr_at(14) - 0.1).abs() < 1e-12);
    assert!((s.lr_at(100) - 0.1).abs() < 1e-12);
    assert!(
        LrSchedule {
            min_lr_ratio: 1.5,
            ..s
        }
        .validate()
        .unwrap_err()
        .to_string()
        .contains("min_lr_ratio")
    );
}

#[test]
fn optimizer_state_does_not_retain_the_graph() {
    // The moments must not track ops, or every step's forward graph stays alive.
    let w = Var::new(&[1.0f32, 2.0], &Device::Cpu).unwrap();
    let mut opt = AdamW::new(vec![("w".into(), w.clone())], AdamWConfig::default()).unwrap();
    for _ in 0..3 {
        let loss = w
            .as_tensor()
            .sqr()
            .unwrap()
            .exp()
            .unwrap()
            .sum_all()
            .unwrap();
        let mut grads = loss.backward().unwrap();
        clip_grad_norm(&mut grads, &opt.vars(), 0.5).unwrap();
        opt.step(&grads, 0.1).unwrap();
    }
    for (name, t) in opt.state_tensors().unwrap() {
        assert!(!t.track_op(), "{name} keeps a graph");
    }
    assert!(w.as_tensor().is_variable());
}
