//! The batched KV-cache sampler: determinism, batch independence, agreement with the
//! full forward, stop conditions.

use candle_core::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use xrpo_train::model::{ModelConfig, Policy};
use xrpo_train::sampler::{Completion, FinishReason, SamplingConfig, StopCondition, generate};

fn policy() -> Policy {
    Policy::new_random(ModelConfig::tiny(), 21, &Device::Cpu).unwrap()
}

fn prompts() -> Vec<Vec<u32>> {
    vec![
        vec![1, 2, 3, 4, 5, 6, 7],
        vec![9],
        vec![10, 20, 30],
        vec![63, 0, 5, 5, 5, 5, 5, 5, 5, 12, 40],
    ]
}

fn cfg(max_new_tokens: usize, temperature: f64) -> SamplingConfig {
    SamplingConfig {
        max_new_tokens,
        temperature,
        top_p: 1.0,
        top_k: 0,
    }
}

fn run(
    p: &Policy,
    prompts: &[Vec<u32>],
    c: &SamplingConfig,
    stop: &StopCondition,
    seed: u64,
) -> Vec<Completion> {
    generate(p, prompts, c, stop, None, &mut StdRng::seed_from_u64(seed)).unwrap()
}

#[test]
fn same_seed_same_tokens() {
    let p = policy();
    let c = SamplingConfig {
        top_p: 0.9,
        top_k: 20,
        ..cfg(24, 1.0)
    };
    let a = run(&p, &prompts(), &c, &StopCondition::default(), 7);
    let b = run(&p, &prompts(), &c, &StopCondition::default(), 7);
    let other = run(&p, &prompts(), &c, &StopCondition::default(), 8);
    assert_eq!(a, b);
    assert_ne!(
        a.iter().map(|c| &c.tokens).collect::<Vec<_>>(),
        other.iter().map(|c| &c.tokens).collect::<Vec<_>>()
    );
    for c in &a {
        assert_eq!(c.tokens.len(), 24);
        assert_eq!(c.finish, FinishReason::Length);
        assert!(c.logprobs.iter().all(|l| *l <= 0.0 && l.is_finite()));
    }
}

/// Left padding and per-row positions: a prompt's greedy completion is the same alone
/// as in a batch with longer and shorter prompts.
#[test]
fn batched_greedy_equals_one_at_a_time() {
    let p = policy();
    let c = cfg(20, 0.0);
    let batched = run(&p, &prompts(), &c, &StopCondition::default(), 0);
    for (i, prompt) in prompts().iter().enumerate() {
        let alone = run(
            &p,
            std::slice::from_ref(prompt),
            &c,
            &StopCondition::default(),
            0,
        );
        assert_eq!(alone[0].tokens, batched[i].tokens, "prompt {i}");
        for (a, b) in alone[0]
            .policy_logprobs
            .iter()
            .zip(&batched[i].policy_logprobs)
        {
            assert!((a - b).abs() < 1e-4, "prompt {i}: {a} vs {b}");
        }
        assert!(
            batched[i].logprobs.iter().all(|l| *l == 0.0),
            "greedy sampling log-prob is log 1"
        );
    }
}

/// The cached decode computes the same log-probs as one full forward over prompt ++
/// completion (checks the KV cache, positions and masks), and with temperature 1 and no
/// truncation the sampling distribution is the policy itself.
#[test]
fn sampled_policy_logprobs_match_full_forward() {
    let p = policy();
    let out = run(&p, &prompts(), &cfg(30, 1.0), &StopCondition::default(), 3);
    let completions: Vec<Vec<u32>> = out.iter().map(|c| c.tokens.clone()).collect();
    let full = p.token_logprobs_detached(&prompts(), &completions).unwrap();
    for (i, c) in out.iter().enumerate() {
        for (j, ((a, b), s)) in c
            .policy_logprobs
            .iter()
            .zip(&full[i])
            .zip(&c.logprobs)
            .enumerate()
        {
            assert!(
                (a - b).abs() < 1e-4,
                "seq {i} tok {j}: cached {a} vs full {b}"
            );
            assert!(
                (a - s).abs() < 1e-5,
                "seq {i} tok {j}: τ=1 sampling {s} vs policy {a}"
            );
        }
    }
}

#[test]
fn eos_stops_each_sequence_and_is_kept() {
    let p = policy();
    let c = cfg(16, 0.0);
    let free = run(&p, &prompts(), &c, &StopCondition::default(), 0);
    // Make the 4th greedy token of sequence 0 the EOS id.
    let eos = free[0].tokens[3];
    let stop = StopCondition {
        eos_ids: vec![eos],
        stop_strings: vec![],
    };
    let out = run(&p, &prompts(), &c, &stop, 0);
    for (f, o) in free.iter().zip(&out) {
        match f.tokens.iter().position(|t| *t == eos) {
            Some(k) => {
                assert_eq!(o.tokens, f.tokens[..=k].to_vec());
                assert_eq!(o.finish, FinishReason::Eos);
            }
            None => {
                assert_eq!(o.tokens, f.tokens);
                assert_eq!(o.finish, FinishReason::Length);
            }
        }
    }
    assert!(out[0].tokens.len() <= 4);
}

#[test]
fn stop_strings_truncate_after_the_completing_token() {
    // An early needle, and a late one in a completion longer than the decoded window.
    for (max_new, offset) in [(16, 4), (48, 40)] {
        check_stop_string(max_new, offset);
    }
}

fn check_stop_string(max_new: usize, offset: usize) {
    let p = policy();
    let c = cfg(max_new, 0.0);
    let decode = |t: &[u32]| -> String {
        t.iter()
            .map(|&x| char::from(b'0' + (x % 40) as u8))
            .collect()
    };
    let free = run(&p, &prompts(), &c, &StopCondition::default(), 0);
    let text = decode(&free[2].tokens);
    let needle: String = text.chars().skip(offset).take(3).collect();
    let stop = StopCondition {
        eos_ids: vec![],
        stop_strings: vec![needle.clone()],
    };
    let out = generate(
        &p,
        &prompts(),
        &c,
        &stop,
        Some(&decode),
        &mut StdRng::seed_from_u64(0),
    )
    .unwrap();
    for (f, o) in free.iter().zip(&out) {
        // Shortest prefix whose decoded text contains the needle, computed independently.
        let want = (1..=f.tokens.len()).find(|&n| decode(&f.tokens[..n]).contains(&needle));
        match want {
            Some(n) => {
                assert_eq!(o.tokens, f.tokens[..n].to_vec());
                assert_eq!(o.finish, FinishReason::StopString);
            }
            None => assert_eq!(
                (o.tokens.clone(), o.finish),
                (f.tokens.clone(), FinishReason::Length)
            ),
        }
    }
    assert!(out[2].tokens.len() <= offset + 3);
}

#[test]
fn context_limit_and_bad_settings() {
    let mut cfg_small = ModelConfig::tiny();
    cfg_small.max_position_embeddings = 12;
    let p = Policy::new_random(cfg_small, 1, &Device::Cpu).unwrap();
    let out = run(
        &p,
        &[vec![1; 10], vec![2; 3], vec![3; 12]],
        &cfg(50, 1.0),
        &StopCondition::default(),
        0,
    );
    // Every sequence stops at the 12-token context: 10 + 2, 3 + 9, 12 + 0.
    assert_eq!(out[0].tokens.len(), 2);
    assert_eq!(out[1].tokens.len(), 9);
    assert_eq!(out[2].tokens.len(), 0);
    assert!(out.iter().all(|c| c.finish == FinishReason::Length));

    let p = policy();
    let mut rng = StdRng::seed_from_u64(0);
    let stop = StopCondition {
        eos_ids: vec![],
        stop_strings: vec!["x".into()],
    };
    let e = generate(&p, &prompts(), &cfg(4, 1.0), &stop, None, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("decode"), "{e}");
    let bad = SamplingConfig {
        top_p: 0.0,
        ..cfg(4, 1.0)
    };
    let e = generate(
        &p,
        &prompts(),
        &bad,
        &StopCondition::default(),
        None,
        &mut rng,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("top_p"), "{e}");
    let e = generate(
        &p,
        &[vec![]],
        &cfg(4, 1.0),
        &StopCondition::default(),
        None,
        &mut rng,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("empty prompt"), "{e}");
    assert!(
        generate(
            &p,
            &[],
            &cfg(4, 1.0),
            &StopCondition::default(),
            None,
            &mut rng
        )
        .unwrap()
        .is_empty()
    );
}
