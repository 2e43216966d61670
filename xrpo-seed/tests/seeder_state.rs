//! `ExemplarSeeder::state` / `restore`: a seeder restored from its state behaves as the
//! original, and a state never restores into a seeder of another kind or embedding.

use std::sync::Arc;

use xrpo_seed::{
    EmbedError, Embedder, Embedding, EmbeddingKind, ExemplarBank, ExemplarSeeder, NullSeeder,
    PromptId, Provenance, SeedConfig, SeedError, SeederState,
};

/// A dense embedder: letter counts of a, b, c (deterministic, enough for similarity).
struct Letters;

impl Embedder for Letters {
    fn kind(&self) -> EmbeddingKind {
        EmbeddingKind::Dense { dim: 3 }
    }
    fn embed(&self, text: &str) -> Result<Embedding, EmbedError> {
        let count = |c| text.chars().filter(|&x| x == c).count() as f32 + 0.1;
        Ok(Embedding::Dense(vec![count('a'), count('b'), count('c')]))
    }
}

fn config() -> SeedConfig {
    SeedConfig {
        similarity_threshold: 0.0,
        ..SeedConfig::default()
    }
}

fn fill(seeder: &mut dyn ExemplarSeeder) -> Result<(), SeedError> {
    for (i, (p, s)) in [("aab?", "x"), ("bbc?", "y"), ("cca?", "z"), ("aaa?", "w")]
        .into_iter()
        .enumerate()
    {
        seeder.record(
            &PromptId::from(i as u64),
            p,
            s,
            Provenance::Training { step: 1 },
        )?;
    }
    Ok(())
}

/// Through the trait object, a dense bank's state restores into a fresh bank with the
/// same embedder, and the restored bank seeds exactly as the original.
#[test]
fn a_dense_bank_restores_as_itself() -> Result<(), SeedError> {
    let mut original: Box<dyn ExemplarSeeder> =
        Box::new(ExemplarBank::new(config(), Arc::new(Letters))?);
    fill(original.as_mut())?;
    let state = original.state();
    assert!(matches!(
        &state,
        SeederState::Bank {
            embedding: EmbeddingKind::Dense { dim: 3 },
            ..
        }
    ));
    // Through JSON, as a checkpoint stores it.
    let json = serde_json::to_string(&state).expect("a state serialises");
    let state: SeederState = serde_json::from_str(&json).expect("and reads back");
    let mut restored: Box<dyn ExemplarSeeder> =
        Box::new(ExemplarBank::new(config(), Arc::new(Letters))?);
    restored.restore(&state)?;
    assert_eq!(restored.exemplar_count(), 4);
    for q in ["aac?", "bcc?", "abc?"] {
        let a = original.seed(&PromptId::from("new"), q)?;
        let b = restored.seed(&PromptId::from("new"), q)?;
        assert_eq!(a, b, "{q}");
        assert!(a.is_some(), "{q}: threshold 0 always seeds");
    }
    Ok(())
}

/// A dense bank's state does not restore into a lexical bank (nor the reverse), and no
/// bank state restores into the null seeder: each is a typed error naming both sides.
#[test]
fn a_state_never_restores_into_another_kind() -> Result<(), SeedError> {
    let mut dense = ExemplarBank::new(config(), Arc::new(Letters))?;
    fill(&mut dense)?;
    let dense_state = ExemplarSeeder::state(&dense);
    let mut lexical = ExemplarBank::lexical(config())?;
    let err = lexical
        .restore(&dense_state)
        .expect_err("dense into lexical");
    match &err {
        SeedError::IncompatibleState { expected, found } => {
            assert!(expected.contains("sparse"), "{expected}");
            assert!(found.contains("dense, 3"), "{found}");
        }
        other => panic!("wrong error {other:?}"),
    }
    assert_eq!(
        lexical.len(),
        0,
        "a refused restore leaves the bank as it was"
    );
    let lexical_state = ExemplarSeeder::state(&lexical);
    assert!(matches!(
        dense.restore(&lexical_state),
        Err(SeedError::IncompatibleState { .. })
    ));
    assert!(matches!(
        NullSeeder.restore(&dense_state),
        Err(SeedError::IncompatibleState { .. })
    ));
    assert!(matches!(
        dense.restore(&SeederState::Empty),
        Err(SeedError::IncompatibleState { .. })
    ));
    // The null seeder's state is empty and restores into itself.
    assert_eq!(NullSeeder.state(), SeederState::Empty);
    NullSeeder.restore(&SeederState::Empty)?;
    Ok(())
}

/// The inherent `ExemplarBank::state` / `lexical_from_state` pair (used by the Python
/// binding) still round-trips.
#[test]
fn the_inherent_bank_state_still_round_trips() -> Result<(), SeedError> {
    let mut bank = ExemplarBank::lexical(config())?;
    fill(&mut bank)?;
    let back = ExemplarBank::lexical_from_state(bank.state())?;
    assert_eq!(back.state(), bank.state());
    Ok(())
}
