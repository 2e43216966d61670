//! Behaviour of the bank through the public API: retrieval quality, the target exclusion,
//! the leakage guard, capacity, truncation, checkpoint round trips and the dense path.

use std::sync::Arc;

use xrpo_seed::{
    EmbedError, Embedder, Embedding, EmbeddingKind, ExemplarBank, ExemplarSeeder, NullSeeder,
    PromptId, Provenance, RecordOutcome, Refusal, SeedConfig, SeedError, SolutionCap, TokenCounter,
};

#[path = "../benches/synthetic.rs"]
mod synthetic;

fn id(s: &str) -> PromptId {
    PromptId::from(s)
}

fn train(step: u64) -> Provenance {
    Provenance::Training { step }
}

fn lexical() -> ExemplarBank {
    ExemplarBank::lexical(SeedConfig::default()).unwrap()
}

#[test]
fn retrieval_finds_the_obviously_similar_prompt_among_distractors() {
    let mut bank = lexical();
    // 300 distractors from families other than the target's (family 13: probability).
    let mut rng = synthetic::SplitMix64(7);
    for i in 0..300 {
        let family = [0, 2, 4, 5, 7, 8, 11, 16, 18][i % 9];
        let p = synthetic::prompt_of_family(&mut rng, family);
        bank.record(&PromptId::from(i as u64), &p, "…", train(0))
            .unwrap();
    }
    let twin = "A bag has 4 red and 6 blue marbles. If one is drawn at random, what is the probability it is red?";
    bank.record(&id("twin"), twin, "4/10 = 2/5", train(1))
        .unwrap();
    let target = "A jar has 3 red and 9 blue marbles. One marble is drawn at random; what is the probability that it is red?";
    let hits = bank.retrieve(&id("target"), target).unwrap();
    assert_eq!(hits[0].id, id("twin"), "{hits:?}");
    assert!(hits[0].similarity > 0.5, "{hits:?}");
    assert!(hits.len() <= 2);
}

#[test]
fn unrelated_prompts_stay_zero_shot() {
    let mut bank = lexical();
    bank.record(
        &id("a"),
        "Compute the derivative of sin(x) cos(x).",
        "cos 2x",
        train(0),
    )
    .unwrap();
    bank.record(&id("b"), "Integrate e^x from 0 to 1.", "e - 1", train(0))
        .unwrap();
    let out = bank
        .seed(
            &id("t"),
            "Which Shakespeare play features Ophelia, Hamlet's beloved?",
        )
        .unwrap();
    assert_eq!(out, None);
    assert_eq!(bank.stats().seed_calls, 1);
    assert_eq!(bank.stats().seeded, 0);
}

#[test]
fn the_target_entry_is_never_returned_by_id_or_by_text() {
    let mut bank = lexical();
    let p = "Tom has 3 apples and buys 4 more. How many apples does Tom have?";
    bank.record(&id("self"), p, "7", train(0)).unwrap();
    // Same normalised text under another id (a duplicate row in the dataset).
    bank.record(
        &id("dup"),
        "  tom has 3 APPLES and buys 4 more.   How many apples does Tom have?",
        "7",
        train(0),
    )
    .unwrap();
    bank.record(
        &id("other"),
        "Tom has 5 apples and buys 2 more. How many apples does Tom have?",
        "7",
        train(0),
    )
    .unwrap();
    let hits = bank.retrieve(&id("self"), p).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.id.0.as_str()).collect::<Vec<_>>(),
        ["other"]
    );
    // By text alone: an unknown id with the same text excludes both copies.
    let hits = bank.retrieve(&id("new"), p).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, id("other"));
}

#[test]
fn leakage_guard_refuses_reports_and_purges() {
    let mut bank = lexical();
    bank.record(&id("train-1"), "What is 12 times 12?", "144", train(0))
        .unwrap();
    bank.record(&id("eval-7"), "What is 13 times 13?", "169", train(0))
        .unwrap();
    // Blocking after the fact purges the stored entries.
    assert_eq!(bank.block_ids(["eval-7"]), 1);
    assert_eq!(bank.block_texts(["what is 12   TIMES 12?"]), 1);
    assert!(bank.is_empty());

    let out = bank
        .record(&id("eval-7"), "What is 13 times 13?", "169", train(2))
        .unwrap();
    assert_eq!(out, RecordOutcome::Refused(Refusal::BlockedId));
    let out = bank
        .record(&id("other-id"), "What is 12 times 12?", "144", train(2))
        .unwrap();
    assert_eq!(out, RecordOutcome::Refused(Refusal::BlockedText));
    let out = bank
        .record(&id("eval-7"), "What is 13 times 13?", "169", train(3))
        .unwrap();
    assert_eq!(out, RecordOutcome::Refused(Refusal::BlockedId));
    assert!(bank.is_empty());

    let report = bank.leakage_report();
    assert_eq!(report.refused_records, 3);
    assert_eq!(report.purged_entries, 2);
    assert_eq!(
        report.refused_prompts,
        vec![(id("eval-7"), 2), (id("other-id"), 1)]
    );
}

#[test]
fn shortest_solution_wins_and_curated_entries_are_pinned() {
    let mut bank = lexical();
    let p = "What is 2 + 2?";
    assert!(matches!(
        bank.record(&id("a"), p, "It is four: 2 + 2 = 4.", train(0))
            .unwrap(),
        RecordOutcome::Inserted { .. }
    ));
    assert_eq!(
        bank.record(&id("a"), p, "2 + 2 = 4", train(1)).unwrap(),
        RecordOutcome::Replaced
    );
    assert_eq!(
        bank.record(&id("a"), p, "The sum 2 + 2 is 4.", train(2))
            .unwrap(),
        RecordOutcome::KeptExisting
    );
    let e = bank.get(&id("a")).unwrap();
    assert_eq!(e.solution, "2 + 2 = 4");
    assert_eq!(e.provenance, train(1));
    // A curated solution replaces a training one, and is then kept against shorter training ones.
    assert_eq!(
        bank.add_curated("a", p, "2 + 2 = 4, since 2 + 1 = 3.", None)
            .unwrap(),
        RecordOutcome::Replaced
    );
    assert_eq!(
        bank.record(&id("a"), p, "4", train(3)).unwrap(),
        RecordOutcome::KeptExisting
    );
    // One id, one text.
    let err = bank
        .record(&id("a"), "What is 3 + 3?", "6", train(3))
        .unwrap_err();
    assert!(matches!(err, SeedError::PromptIdConflict { .. }), "{err}");
    let err = bank.record(&id("b"), "x", "  ", train(3)).unwrap_err();
    assert!(
        matches!(
            err,
            SeedError::EmptyText {
                field: "solution",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn capacity_evicts_the_oldest_training_entry_never_a_pinned_one() {
    let config = SeedConfig {
        capacity: 3,
        ..SeedConfig::default()
    };
    let mut bank = ExemplarBank::lexical(config).unwrap();
    bank.add_curated(
        "c",
        "Curated problem about triangles.",
        "…",
        Some("handbook".into()),
    )
    .unwrap();
    bank.record(
        &id("t1"),
        "First training problem.",
        "long solution",
        train(0),
    )
    .unwrap();
    bank.record(&id("t2"), "Second training problem.", "…", train(0))
        .unwrap();
    // Updating t1 with a shorter solution makes it the most recent.
    assert_eq!(
        bank.record(&id("t1"), "First training problem.", "short", train(1))
            .unwrap(),
        RecordOutcome::Replaced
    );
    let out = bank
        .record(&id("t3"), "Third training problem.", "…", train(2))
        .unwrap();
    assert_eq!(
        out,
        RecordOutcome::Inserted {
            evicted: Some(id("t2"))
        }
    );
    let out = bank
        .record(&id("t4"), "Fourth training problem.", "…", train(2))
        .unwrap();
    assert_eq!(
        out,
        RecordOutcome::Inserted {
            evicted: Some(id("t1"))
        }
    );
    assert_eq!(bank.len(), 3);
    assert!(bank.get(&id("c")).is_some());
    assert_eq!(bank.stats().evicted, 2);

    // A bank full of pinned entries refuses training records and more curated ones.
    let mut bank = ExemplarBank::lexical(SeedConfig {
        capacity: 1,
        ..SeedConfig::default()
    })
    .unwrap();
    bank.add_curated("c", "Curated.", "…", None).unwrap();
    assert_eq!(
        bank.record(&id("t"), "Training.", "…", train(0)).unwrap(),
        RecordOutcome::Refused(Refusal::FullOfPinned)
    );
    assert!(matches!(
        bank.add_curated("c2", "Other.", "…", None),
        Err(SeedError::CuratedOverCapacity { capacity: 1 })
    ));
}

#[test]
fn seeded_prompt_renders_truncated_exemplars_most_similar_first() {
    let config = SeedConfig {
        solution_cap: SolutionCap::Chars(10),
        ..SeedConfig::default()
    };
    let mut bank = ExemplarBank::lexical(config).unwrap();
    bank.record(
        &id("a"),
        "Tom has 3 apples and buys 4 more. How many apples?",
        "3 + 4 = 7 apples in total.",
        train(4),
    )
    .unwrap();
    bank.record(&id("b"), "Tom has 3 pears. How many pears?", "3", train(5))
        .unwrap();
    let s = bank
        .seed(
            &id("t"),
            "Ann has 5 apples and buys 2 more. How many apples?",
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        s.text,
        "Problem: Tom has 3 apples and buys 4 more. How many apples?\nSolution: 3 + 4 = 7 …\n\n\
         Problem: Tom has 3 pears. How many pears?\nSolution: 3\n\n\
         Problem: Ann has 5 apples and buys 2 more. How many apples?\nSolution:"
    );
    assert_eq!(s.exemplars.len(), 2);
    assert!(s.exemplars[0].similarity >= s.exemplars[1].similarity);
    assert!(s.exemplars[0].truncated && !s.exemplars[1].truncated);
    assert_eq!(s.exemplars[0].provenance, train(4));
    assert_eq!(s.messages.len(), 5);
    assert_eq!(s.messages[1].content, "3 + 4 = 7 …");
}

struct WordCounter;
impl TokenCounter for WordCounter {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }
}

#[test]
fn token_cap_needs_a_counter_and_then_truncates_by_tokens() {
    let config = SeedConfig {
        solution_cap: SolutionCap::Tokens(3),
        ..SeedConfig::default()
    };
    let mut bank = ExemplarBank::lexical(config.clone()).unwrap();
    bank.record(
        &id("a"),
        "Tom has 3 apples and buys 4 more.",
        "one two three four five",
        train(0),
    )
    .unwrap();
    let target = "Ann has 3 apples and buys 4 more.";
    assert!(matches!(
        bank.seed(&id("t"), target),
        Err(SeedError::MissingTokenCounter)
    ));
    let mut bank = ExemplarBank::lexical(config)
        .unwrap()
        .with_token_counter(Arc::new(WordCounter));
    bank.record(
        &id("a"),
        "Tom has 3 apples and buys 4 more.",
        "one two three four five",
        train(0),
    )
    .unwrap();
    let s = bank.seed(&id("t"), target).unwrap().unwrap();
    assert!(s.text.contains("Solution: one two three …\n"), "{}", s.text);
}

#[test]
fn state_round_trip_resumes_bit_identically() {
    let mut bank = ExemplarBank::lexical(SeedConfig {
        capacity: 150,
        ..SeedConfig::default()
    })
    .unwrap();
    bank.block_ids(["eval-0"]);
    bank.block_texts(["What is 6 times 7?"]);
    let prompts = synthetic::prompts(11, 200);
    for (i, p) in prompts.iter().enumerate() {
        bank.record(
            &PromptId::from(i as u64),
            p,
            &format!("solution {i}"),
            train(i as u64 / 10),
        )
        .unwrap();
    }
    bank.add_curated(
        "cur",
        "A curated probability question about dice.",
        "1/6",
        None,
    )
    .unwrap();
    bank.record(&id("eval-0"), "x", "y", train(0)).unwrap();

    let json = serde_json::to_string(&bank.state()).unwrap();
    let mut restored =
        ExemplarBank::lexical_from_state(serde_json::from_str(&json).unwrap()).unwrap();
    assert_eq!(restored.state(), bank.state());
    assert_eq!(restored.leakage_report(), bank.leakage_report());

    for (i, q) in synthetic::prompts(12, 40).iter().enumerate() {
        let qid = PromptId(format!("q{i}"));
        let a = bank.seed(&qid, q).unwrap();
        let b = restored.seed(&qid, q).unwrap();
        assert_eq!(a, b, "query {i}");
        if let Some(a) = a {
            for e in &a.exemplars {
                assert!(e.similarity.to_bits() > 0);
            }
        }
    }
    // Later behaviour (eviction order, refusals) continues identically.
    for (i, p) in synthetic::prompts(13, 30).iter().enumerate() {
        let pid = PromptId(format!("late{i}"));
        assert_eq!(
            bank.record(&pid, p, "s", train(99)).unwrap(),
            restored.record(&pid, p, "s", train(99)).unwrap()
        );
    }
    assert_eq!(restored.state(), bank.state());

    let mut bad = bank.state();
    bad.version = 99;
    assert!(matches!(
        ExemplarBank::lexical_from_state(bad),
        Err(SeedError::StateVersion { found: 99, .. })
    ));
    let mut dup = bank.state();
    let first = dup.entries[0].clone();
    dup.entries.push(first);
    assert!(matches!(
        ExemplarBank::lexical_from_state(dup),
        Err(SeedError::DuplicateStateEntry { .. })
    ));
}

/// A toy dense embedder: letter frequencies (26 dims), standing in for a neural model.
struct Letters;
impl Embedder for Letters {
    fn kind(&self) -> EmbeddingKind {
        EmbeddingKind::Dense { dim: 26 }
    }
    fn embed(&self, text: &str) -> Result<Embedding, EmbedError> {
        let mut v = vec![0.0f32; 26];
        for c in text.chars().filter(|c| c.is_ascii_alphabetic()) {
            v[(c.to_ascii_lowercase() as u8 - b'a') as usize] += 1.0;
        }
        Ok(Embedding::Dense(v))
    }
}

/// A broken embedder that declares 4 dims and returns 3.
struct Liar;
impl Embedder for Liar {
    fn kind(&self) -> EmbeddingKind {
        EmbeddingKind::Dense { dim: 4 }
    }
    fn embed(&self, _: &str) -> Result<Embedding, EmbedError> {
        Ok(Embedding::Dense(vec![1.0, 2.0, 3.0]))
    }
}

#[test]
fn a_dense_embedder_plugs_in_through_the_trait() {
    let config = SeedConfig {
        similarity_threshold: 0.5,
        ..SeedConfig::default()
    };
    let mut bank = ExemplarBank::new(config.clone(), Arc::new(Letters)).unwrap();
    bank.record(&id("a"), "aaaa bbbb", "x", train(0)).unwrap();
    bank.record(&id("z"), "zzzz yyyy", "x", train(0)).unwrap();
    bank.record(&id("ab"), "ab ab ab ab abc", "x", train(0))
        .unwrap();
    let hits = bank.retrieve(&id("q"), "abab").unwrap();
    // cos(a2b2, a4b4) = 1; cos(a2b2, a5b5c1) = 10/(√2·√51) ≈ 0.990; z/y is orthogonal.
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].id, id("a"));
    assert!((hits[0].similarity - 1.0).abs() < 1e-6);
    assert!((hits[1].similarity - 10.0 / (2f32.sqrt() * 51f32.sqrt())).abs() < 1e-5);

    let mut bank = ExemplarBank::new(config, Arc::new(Liar)).unwrap();
    let err = bank.record(&id("a"), "text", "x", train(0)).unwrap_err();
    assert!(matches!(err, SeedError::InvalidEmbedding { .. }), "{err}");
    assert!(err.to_string().contains("dense length 3"), "{err}");
}

#[test]
fn seeders_work_as_trait_objects() {
    let mut seeders: Vec<Box<dyn ExemplarSeeder>> = vec![Box::new(lexical()), Box::new(NullSeeder)];
    for s in &mut seeders {
        s.record(&id("a"), "Tom has 3 apples and buys 4 more.", "7", train(0))
            .unwrap();
    }
    let seeded: Vec<bool> = seeders
        .iter_mut()
        .map(|s| {
            s.seed(&id("b"), "Ann has 3 apples and buys 5 more.")
                .unwrap()
                .is_some()
        })
        .collect();
    assert_eq!(seeded, [true, false]);
}
