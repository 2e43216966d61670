//! The training loop on the tiny model: resume reproduces an uninterrupted run, configs
//! reject unknown keys and bad values by name, every algorithm runs a step.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use xrpo_train::trainer::{Algorithm, TrainConfig, TrainError, Trainer};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xrpo-trainer-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A small, fast run: 4 prompts × 4 rollouts, a few warm-up updates, no eval.
fn small_config(algorithm: Algorithm, steps: u64) -> TrainConfig {
    let mut c = TrainConfig {
        algorithm,
        steps,
        prompts_per_step: 4,
        n_fixed: 4,
        ..TrainConfig::default()
    };
    c.alloc.config.n_base = Some(2);
    c.warmup.steps = 6;
    c.warmup.batch = 16;
    c.task.arithmetic.train_per_level = 24;
    c.task.arithmetic.eval_per_level = 4;
    c.eval.before = false;
    c.eval.after = false;
    c
}

/// metrics.jsonl lines without the wall-clock timings.
fn metrics_without_time(dir: &Path) -> Vec<BTreeMap<String, serde_json::Value>> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut m: BTreeMap<String, serde_json::Value> = serde_json::from_str(l).unwrap();
            m.retain(|k, _| !k.starts_with("time/"));
            m
        })
        .collect()
}

#[test]
fn resume_reproduces_the_uninterrupted_run() {
    let steps = 4;
    // Uninterrupted.
    let a = tmp("straight");
    let mut t = Trainer::new(small_config(Algorithm::Xrpo, steps), &a).unwrap();
    t.warmup(&mut |_, _| {}).unwrap();
    t.run_steps(steps, &mut |_| {}).unwrap();
    drop(t);
    // Interrupted after 2 steps ("killed": the trainer is dropped), then resumed.
    let b = tmp("resumed");
    let mut t = Trainer::new(small_config(Algorithm::Xrpo, steps), &b).unwrap();
    t.warmup(&mut |_, _| {}).unwrap();
    t.run_steps(2, &mut |_| {}).unwrap();
    drop(t);
    // A half-written line after the checkpoint must not survive the resume.
    let mut extra = std::fs::read_to_string(b.join("metrics.jsonl")).unwrap();
    extra.push_str("{\"step\":3,\"reward\":0.5}\n");
    std::fs::write(b.join("metrics.jsonl"), extra).unwrap();
    let mut t = Trainer::resume(&b, None).unwrap();
    assert_eq!(t.steps_done(), 2);
    t.run_steps(steps, &mut |_| {}).unwrap();
    let straight = metrics_without_time(&a);
    let resumed = metrics_without_time(&b);
    assert_eq!(straight.len(), steps as usize);
    assert_eq!(straight, resumed);
    // Something actually happened: rollouts were generated and allocated.
    assert!(
        straight
            .iter()
            .all(|m| m["alloc/rollouts"] == serde_json::json!(16.0))
    );
    for d in [a, b] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn every_algorithm_runs_a_step_at_equal_budget() {
    for algorithm in Algorithm::ALL {
        let dir = tmp(algorithm.name());
        let mut c = small_config(algorithm, 1);
        c.warmup.steps = 0;
        let mut t = Trainer::new(c, &dir).unwrap();
        t.run_steps(1, &mut |_| {}).unwrap();
        let m = &metrics_without_time(&dir)[0];
        // B = n_fixed · |Q| = 16 rollouts for every algorithm.
        assert_eq!(
            m["alloc/rollouts"],
            serde_json::json!(16.0),
            "{algorithm:?}"
        );
        assert!(m["loss"].as_f64().unwrap().is_finite(), "{algorithm:?}");
        // The presets' allocators drop no group.
        assert_eq!(m["alloc/dropped_groups"], serde_json::json!(0.0));
        assert!(dir.join("checkpoints/latest").is_file());
        std::fs::remove_dir_all(&dir).ok();
    }
}

/// The micro-batched update is the whole-batch update: same loss and gradient norm on the
/// same step (the unit test in `trainer::update` compares every gradient tensor).
#[test]
fn micro_batched_update_matches_the_whole_batch() {
    let run = |micro: usize| {
        let dir = tmp(&format!("micro{micro}"));
        let mut c = small_config(Algorithm::Grpo, 1);
        c.warmup.steps = 0;
        c.micro_batch = micro;
        let mut t = Trainer::new(c, &dir).unwrap();
        t.run_steps(1, &mut |_| {}).unwrap();
        let m = metrics_without_time(&dir).remove(0);
        std::fs::remove_dir_all(&dir).ok();
        m
    };
    let (whole, micro) = (run(0), run(3));
    for key in ["loss", "grad_norm", "reward", "num_tokens"] {
        let (a, b) = (whole[key].as_f64().unwrap(), micro[key].as_f64().unwrap());
        assert!(
            (a - b).abs() <= 1e-4 * a.abs().max(1e-3),
            "{key}: {a} whole vs {b} micro"
        );
    }
    // And the plain-context option for seeded rollouts is a recognised setting.
    let mut c = TrainConfig::default();
    c.apply_overrides(&[
        "seeded_update_context=\"plain\"".into(),
        "micro_batch=4".into(),
    ])
    .unwrap();
    assert_eq!(
        c.seeded_update_context,
        xrpo_train::trainer::SeededUpdateContext::Plain
    );
    assert!(
        c.apply_overrides(&["seeded_update_context=\"prompt\"".into()])
            .is_err()
    );
}

#[test]
fn config_errors_name_the_key() {
    let mut c = TrainConfig::default();
    let err = c.apply_overrides(&["optim.lrr=1".into()]).unwrap_err();
    assert!(
        matches!(&err, TrainError::Config { key, .. } if key == "optim.lrr"),
        "{err}"
    );
    let err = c
        .apply_overrides(&["algorithm=\"ppo\"".into()])
        .unwrap_err();
    assert!(err.to_string().contains("algorithm"), "{err}");
    c.apply_overrides(&["optim.lr=-1".into()]).unwrap();
    let err = c.validate().unwrap_err();
    assert!(err.to_string().contains("optim.lr"), "{err}");
    let mut c = TrainConfig::default();
    c.apply_overrides(&[
        "algorithm=gspo".into(),
        "loss.kl.beta=0.01".into(),
        "seed_bank.k=3".into(),
    ])
    .unwrap();
    assert_eq!(c.algorithm, Algorithm::Gspo);
    assert_eq!(c.loss.kl.beta, 0.01);
    assert_eq!(c.seed_bank.k, 3);
    c.validate().unwrap();
    // Unknown keys in a file are errors too.
    let dir = tmp("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.toml");
    std::fs::write(&file, "steps = 3\n[optim]\nlearning_rate = 1e-3\n").unwrap();
    let err = TrainConfig::from_file(&file).unwrap_err();
    assert!(err.to_string().contains("learning_rate"), "{err}");
    std::fs::write(
        &file,
        "steps = 3\nalgorithm = \"xrpo_no_seed\"\n[optim]\nlr = 1e-3\n",
    )
    .unwrap();
    let c = TrainConfig::from_file(&file).unwrap();
    assert_eq!((c.steps, c.algorithm), (3, Algorithm::XrpoNoSeed));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn default_config_roundtrips_through_json_and_toml() {
    let c = TrainConfig::default();
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), c);
    let toml_text = toml::to_string(&c).unwrap();
    assert_eq!(toml::from_str::<TrainConfig>(&toml_text).unwrap(), c);
    c.validate().unwrap();
    TrainConfig::smollm2().validate().unwrap();
}

/// The seeded warm-up format: every rendered example is the compact template
/// (`"p1s1\np2s2\ntarget"`, checked here line by line, independently of the template code)
/// with K = 2 exemplars that are *other* warm-up problems with their gold solutions, never
/// the target itself; the result encodes with the tiny model's char tokenizer and fits
/// its context.
#[test]
fn seeded_warmup_examples_hold_two_other_solved_prompts() {
    use xrpo_train::task::TaskUse;
    use xrpo_train::task::arithmetic;
    use xrpo_train::trainer::{build_task, seeded_warmup_prompts};
    let config = TrainConfig::default();
    assert_eq!(config.seed_bank.k, 2);
    let task = build_task(&config.task, config.seed, TaskUse::Train).unwrap();
    let pool: Vec<_> = arithmetic::warmup_problems(&task, &config.task.arithmetic)
        .into_iter()
        .cloned()
        .collect();
    let gold: std::collections::HashMap<&str, &str> = pool
        .iter()
        .map(|p| (p.prompt.as_str(), p.solution.as_deref().unwrap()))
        .collect();
    let seeded = seeded_warmup_prompts(&pool, &task.eval, &config.seed_bank).unwrap();
    assert_eq!(seeded.len(), pool.len());
    let dir = tmp("seeded-fit");
    let t = Trainer::new(small_config(Algorithm::Xrpo, 1), &dir).unwrap();
    let max_ctx = t.policy().config().max_position_embeddings;
    let mut rendered = 0;
    for (p, s) in pool.iter().zip(&seeded) {
        let Some(s) = s else { continue };
        rendered += 1;
        assert_eq!(s.exemplars.len(), 2, "{}", s.text);
        let lines: Vec<&str> = s.text.split('\n').collect();
        assert_eq!(lines.len(), 3, "{:?}", s.text);
        assert_eq!(lines[2], p.prompt);
        for line in &lines[..2] {
            // "12+7=19": the prompt is everything up to and including '='.
            let eq = line.find('=').unwrap() + 1;
            let (q, a) = line.split_at(eq);
            assert_ne!(
                q, p.prompt,
                "target shown as its own exemplar: {:?}",
                s.text
            );
            assert_eq!(
                gold.get(q),
                Some(&a),
                "exemplar {line:?} is not a gold pair"
            );
            assert!(
                task.eval.iter().all(|e| e.prompt != q),
                "eval prompt {q} shown"
            );
        }
        assert!(s.exemplars.iter().all(|e| e.id.0 != p.id));
        let ids = t.encode_prompt(&s.text).unwrap();
        assert!(ids.len() + config.sampling.max_new_tokens <= max_ctx);
    }
    // Retrieval at threshold 0.1 finds exemplars for nearly every arithmetic prompt.
    assert!(
        rendered * 10 >= pool.len() * 9,
        "{rendered} of {}",
        pool.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn warmup_fewshot_share_is_validated_by_name() {
    for bad in [-0.1, 1.5, f64::NAN] {
        let mut c = TrainConfig::default();
        c.warmup.fewshot_share = bad;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("warmup.fewshot_share"), "{err}");
    }
    let mut c = TrainConfig::default();
    c.apply_overrides(&["warmup.fewshot_share=0".into()])
        .unwrap();
    c.validate().unwrap();
    assert_eq!(TrainConfig::default().warmup.fewshot_share, 0.6);
}

/// μ inner epochs exist: with `num_iterations` = 1 every update is on-policy (ratio 1, no
/// token clipped: `clip_ratio/*` exactly 0, one update per step); with μ = 4 the later
/// passes see π_θ ≠ π_old and the clip binds on some step (`clip_ratio/region_mean` > 0),
/// and `steps_per_generation` multiplies the updates.
#[test]
fn inner_epochs_make_the_clip_bind() {
    let run = |mu: usize, spg: usize| {
        let dir = tmp(&format!("mu{mu}-spg{spg}"));
        let mut c = small_config(Algorithm::Grpo, 3);
        // Enough warm-up for groups with both outcomes (non-zero advantages), and a
        // learning rate that moves the tiny policy within one step.
        c.warmup.steps = 150;
        c.optim.lr = 1e-2;
        c.num_iterations = mu;
        c.steps_per_generation = spg;
        let mut t = Trainer::new(c, &dir).unwrap();
        t.warmup(&mut |_, _| {}).unwrap();
        t.run_steps(3, &mut |_| {}).unwrap();
        let m = metrics_without_time(&dir);
        std::fs::remove_dir_all(&dir).ok();
        m
    };
    let value = |m: &BTreeMap<String, serde_json::Value>, k: &str| m[k].as_f64().unwrap();
    let on_policy = run(1, 1);
    for m in &on_policy {
        assert_eq!(value(m, "updates"), 1.0);
        for k in [
            "clip_ratio/low_mean",
            "clip_ratio/high_mean",
            "clip_ratio/region_mean",
        ] {
            assert_eq!(value(m, k), 0.0, "{k} with μ = 1");
        }
    }
    let informative = on_policy
        .iter()
        .filter(|m| value(m, "frac_reward_zero_std") < 1.0)
        .count();
    assert!(
        informative > 0,
        "the warm-up left no group with a learning signal"
    );
    let inner = run(4, 1);
    assert!(inner.iter().all(|m| value(m, "updates") == 4.0));
    let clipped = inner
        .iter()
        .map(|m| value(m, "clip_ratio/region_mean"))
        .fold(0.0, f64::max);
    assert!(clipped > 0.0, "μ = 4 never clipped: {inner:?}");
    let split = run(2, 2);
    assert!(split.iter().all(|m| value(m, "updates") == 4.0));
}

/// A run killed before its first checkpoint resumes from the start in its own directory
/// (the refusal to start a fresh run there says to `--resume`, which must then work).
#[test]
fn a_run_without_a_checkpoint_resumes_from_the_start() {
    let dir = tmp("no-ckpt");
    let mut c = small_config(Algorithm::Grpo, 3);
    c.warmup.steps = 0;
    let mut t = Trainer::new(c, &dir).unwrap();
    t.train_step().unwrap();
    drop(t); // killed: metrics.jsonl has a line, no checkpoint was written
    assert!(dir.join("metrics.jsonl").is_file());
    assert!(!dir.join("checkpoints/latest").exists());
    let mut t = Trainer::resume(&dir, None).unwrap();
    assert_eq!(t.steps_done(), 0);
    assert_eq!(
        std::fs::read_to_string(dir.join("metrics.jsonl")).unwrap(),
        "",
        "lines of the lost steps are dropped"
    );
    t.run_steps(3, &mut |_| {}).unwrap();
    assert_eq!(metrics_without_time(&dir).len(), 3);
    std::fs::remove_dir_all(&dir).ok();
}

/// `xrpo eval --task FILE.jsonl` uses the file as train and eval file: evaluation must
/// take every row as an eval row instead of failing on an empty train split.
#[test]
fn a_jsonl_file_evaluates_as_its_own_eval_split() {
    let dir = tmp("eval-jsonl");
    let mut c = small_config(Algorithm::Grpo, 1);
    c.warmup.steps = 0;
    let mut t = Trainer::new(c, &dir).unwrap();
    t.run_steps(1, &mut |_| {}).unwrap();
    drop(t);
    let file = dir.join("probe.jsonl");
    std::fs::write(
        &file,
        "{\"prompt\":\"1+2=\",\"answer\":\"3\"}\n{\"prompt\":\"4+4=\",\"answer\":\"8\"}\n\
         {\"prompt\":\"2*3=\",\"answer\":\"6\"}\n",
    )
    .unwrap();
    let path = serde_json::Value::String(file.display().to_string());
    let overrides = [
        "task.kind=\"jsonl\"".to_string(),
        format!("task.train_file={path}"),
        format!("task.eval_file={path}"),
    ];
    let t = Trainer::open_checkpoint(&dir, &overrides).unwrap();
    assert_eq!(t.task().eval.len(), 3);
    assert!(t.task().train.is_empty());
    let report = t.evaluate().unwrap();
    assert_eq!(report.summary.prompts, 3);
    // A typo'd path is an error that creates nothing.
    let typo = dir.join("no-such-run");
    assert!(Trainer::open_checkpoint(&typo, &[]).is_err());
    assert!(!typo.exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// The `advantage` table is xrpo-advantage's `AdvantageConfig` (RLOO and the std scale
/// reachable from a run config); old keys still read, or fail naming the new key.
#[test]
fn advantage_table_and_old_keys() {
    let dir = tmp("adv-cfg");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("run.toml");
    // Old top-level λ/κ (as in config.json of older runs) fold into the preset.
    std::fs::write(&file, "lambda_novelty = 1.0\nkappa_clip = 0.25\n").unwrap();
    let c = TrainConfig::from_file(&file).unwrap();
    let a = c.advantage_config().unwrap();
    assert_eq!(
        (a.novelty.lambda_novelty, a.novelty.kappa_clip),
        (1.0, 0.25)
    );
    assert!(a.novelty.enabled);
    // RLOO with batch std from a file.
    std::fs::write(
        &file,
        "algorithm = \"grpo\"\n[advantage]\nestimator = \"rloo\"\nscale = \"batch\"\n",
    )
    .unwrap();
    let c = TrainConfig::from_file(&file).unwrap();
    let a = c.advantage_config().unwrap();
    assert_eq!(a.estimator, xrpo_advantage::Estimator::Rloo);
    assert_eq!(a.scale, xrpo_advantage::StdScale::Batch);
    // An old key next to the table names the new one.
    std::fs::write(
        &file,
        "lambda_novelty = 1.0\n[advantage]\nestimator = \"grpo\"\n",
    )
    .unwrap();
    let err = TrainConfig::from_file(&file)
        .unwrap()
        .validate()
        .unwrap_err();
    assert!(
        err.to_string().contains("advantage.novelty.lambda_novelty"),
        "{err}"
    );
    // `alloc.n_fixed` is read as `n_fixed`, and a conflict names both.
    std::fs::write(&file, "[alloc]\nn_fixed = 6\n").unwrap();
    assert_eq!(TrainConfig::from_file(&file).unwrap().n_fixed, 6);
    std::fs::write(&file, "n_fixed = 4\n[alloc]\nn_fixed = 6\n").unwrap();
    let err = TrainConfig::from_file(&file).unwrap_err().to_string();
    assert!(
        err.contains("alloc.n_fixed") && err.contains("n_fixed"),
        "{err}"
    );
    // Overrides: one field of the table keeps the preset's others; presets differ.
    let mut c = TrainConfig {
        algorithm: Algorithm::DrGrpo,
        ..TrainConfig::default()
    };
    c.apply_overrides(&["advantage.novelty.kappa_clip=0.1".into()])
        .unwrap();
    let a = c.advantage_config().unwrap();
    assert_eq!(a.estimator, xrpo_advantage::Estimator::DrGrpo);
    assert!(!a.novelty.enabled);
    assert_eq!(a.novelty.kappa_clip, 0.1);
    let mut c = TrainConfig::default();
    c.apply_overrides(&["lambda_novelty=0.5".into(), "alloc.n_fixed=6".into()])
        .unwrap();
    assert_eq!(c.advantage_config().unwrap().novelty.lambda_novelty, 0.5);
    assert_eq!(c.n_fixed, 6);
    // The resolved config stores `n_fixed` once.
    let json = serde_json::to_value(&c).unwrap();
    assert!(json["alloc"].get("n_fixed").is_none());
    std::fs::remove_dir_all(&dir).ok();
}

/// `alloc.kind` left unset follows the algorithm's preset (XRPO ships the even spread);
/// a set kind replaces it (GRPO + `dapo_filter` is DAPO's dynamic sampling, XRPO +
/// `xrpo` the paper's allocator), `null` returns to the preset, and a misspelled kind
/// fails naming the key.
#[test]
fn alloc_kind_selects_the_allocator_family_member() {
    use xrpo_alloc::AllocKind;
    let resolved = |algorithm: Algorithm, overrides: &[&str]| {
        let mut c = small_config(algorithm, 1);
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        c.apply_overrides(&overrides).expect("valid overrides");
        c.validate().expect("valid config");
        let alloc = c.alloc_config();
        let built = alloc.build().expect("builds");
        (alloc.kind, built.name().to_string())
    };
    assert_eq!(resolved(Algorithm::Grpo, &[]).0, AllocKind::Fixed);
    for a in [
        Algorithm::Xrpo,
        Algorithm::XrpoNoAlloc,
        Algorithm::XrpoNoSeed,
        Algorithm::XrpoNoSharpen,
    ] {
        assert_eq!(resolved(a, &[]).0, AllocKind::UniformPhased, "{a:?}");
    }
    assert_eq!(
        resolved(Algorithm::Xrpo, &["alloc.kind=\"xrpo\""]),
        (AllocKind::Xrpo, "xrpo".to_string())
    );
    assert_eq!(
        resolved(Algorithm::XrpoNoSeed, &["alloc.kind=xrpo"]).0,
        AllocKind::Xrpo
    );
    assert_eq!(
        resolved(Algorithm::Xrpo, &["alloc.kind=xrpo", "alloc.kind=null"]).0,
        AllocKind::UniformPhased
    );
    for (kind, name) in [
        ("dapo_filter", AllocKind::DapoFilter),
        ("knapsack", AllocKind::Knapsack),
        ("reinforce_ada", AllocKind::ReinforceAda),
    ] {
        let (k, built) = resolved(Algorithm::Grpo, &[&format!("alloc.kind=\"{kind}\"")]);
        assert_eq!(k, name);
        assert_eq!(built, kind);
    }
    let mut c = small_config(Algorithm::Grpo, 1);
    let err = c
        .apply_overrides(&["alloc.kind=\"dapo\"".to_string()])
        .expect_err("unknown kind");
    assert!(err.to_string().contains("alloc.kind"), "{err}");
}

/// `alloc.kind` is written only when set, and a config written before it was optional
/// (which carries `kind = "xrpo"` for every algorithm, then meaning "the preset's") is read
/// as it ran: the paper's allocator for xrpo/xrpo_no_seed/xrpo_no_sharpen, the preset's for
/// grpo and xrpo_no_alloc.
#[test]
fn alloc_kind_round_trips_and_old_configs_keep_their_allocator() {
    use xrpo_alloc::AllocKind;
    let dir = tmp("alloc_kind_files");
    std::fs::create_dir_all(&dir).unwrap();
    let read = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        TrainConfig::from_file(&path).expect("reads")
    };
    let mut c = small_config(Algorithm::Xrpo, 1);
    let json = serde_json::to_value(&c).unwrap();
    assert!(json["alloc"].get("kind").is_none(), "{json}");
    let back = read("unset.json", &json.to_string());
    assert_eq!(back, c);
    assert_eq!(back.alloc_config().kind, AllocKind::UniformPhased);
    c.alloc.kind = Some(AllocKind::Xrpo);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["alloc"]["kind"], serde_json::json!("xrpo"));
    let back = read("set.json", &json.to_string());
    assert_eq!(back, c);
    assert_eq!(back.alloc_config().kind, AllocKind::Xrpo);
    for (algorithm, kind) in [
        ("grpo", AllocKind::Fixed),
        ("gspo", AllocKind::Fixed),
        ("dr_grpo", AllocKind::Fixed),
        ("xrpo_no_alloc", AllocKind::UniformPhased),
        ("xrpo", AllocKind::Xrpo),
        ("xrpo_no_seed", AllocKind::Xrpo),
        ("xrpo_no_sharpen", AllocKind::Xrpo),
    ] {
        let old = read(
            &format!("old-{algorithm}.toml"),
            &format!("algorithm = \"{algorithm}\"\n[alloc]\nkind = \"xrpo\"\nphases = 3\n"),
        );
        assert_eq!(old.alloc_config().kind, kind, "{algorithm}");
    }
    let err = TrainConfig::from_file(&{
        let p = dir.join("bad.toml");
        std::fs::write(&p, "[alloc]\nkind = \"xrpoo\"\n").unwrap();
        p
    })
    .expect_err("misspelled kind");
    assert!(err.to_string().contains("kind"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A DAPO arm (GRPO + `dapo_filter`) runs a training step end to end.
#[test]
fn grpo_with_dapo_filter_runs_a_step() {
    let dir = tmp("dapo");
    let mut c = small_config(Algorithm::Grpo, 1);
    c.warmup.steps = 0;
    c.alloc.kind = Some(xrpo_alloc::AllocKind::DapoFilter);
    let mut t = Trainer::new(c, &dir).expect("trainer");
    t.run_steps(1, &mut |_| {}).expect("one step");
    let m = &metrics_without_time(&dir)[0];
    // The same budget B = n_fixed · |Q| = 16 as GRPO, spent in phases.
    assert_eq!(m["alloc/rollouts"], serde_json::json!(16.0));
    assert!(m["loss"].as_f64().unwrap().is_finite());
    // The uniform groups are dropped: none of the trained groups has zero reward std,
    // and a step whose groups were all dropped makes no update (no panic, no NaN).
    let dropped = m["alloc/dropped_groups"].as_f64().unwrap();
    assert!((0.0..=4.0).contains(&dropped), "{dropped}");
    assert_eq!(m["frac_reward_zero_std"], serde_json::json!(0.0));
    let updates = m["updates"].as_f64().unwrap();
    assert_eq!(updates, if dropped == 4.0 { 0.0 } else { 1.0 });
    assert!(m["grad_norm"].as_f64().unwrap().is_finite());
    let _ = std::fs::remove_dir_all(&dir);
}
