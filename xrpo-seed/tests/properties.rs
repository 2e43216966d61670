//! Property tests of retrieval against an independent brute-force TF-IDF cosine, written
//! here from the formula (smoothed idf = ln((1+N)/(1+df)) + 1, cosine in f64), so the
//! pruned inverted index is checked against what it claims to compute.

use std::collections::HashMap;

use proptest::prelude::*;
use xrpo_seed::{
    ExemplarBank, ExemplarSeeder, LexicalEmbedder, PromptId, Provenance, Retrieved, SeedConfig,
};

#[path = "../benches/synthetic.rs"]
mod synthetic;

/// Tolerance between the index's f32 scores and the f64 reference.
const TOL: f64 = 1e-4;

fn norm_text(t: &str) -> String {
    t.split_whitespace()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A stored prompt: id, text, raw term frequencies.
type Doc = (PromptId, String, Vec<(u32, f32)>);

/// Reference similarities of `query` to every stored exemplar except the target's own.
fn reference(bank: &ExemplarBank, qid: &PromptId, query: &str) -> Vec<(PromptId, f64)> {
    let emb = LexicalEmbedder::new(bank.config().lexical.clone()).unwrap();
    let docs: Vec<Doc> = bank
        .exemplars()
        .map(|e| {
            (
                e.id.clone(),
                e.prompt.clone(),
                emb.features(&e.prompt).iter().collect(),
            )
        })
        .collect();
    let n = docs.len() as f64;
    let mut df: HashMap<u32, f64> = HashMap::new();
    for (_, _, d) in &docs {
        for &(f, _) in d {
            *df.entry(f).or_default() += 1.0;
        }
    }
    let weigh = |v: &[(u32, f32)]| -> HashMap<u32, f64> {
        let w: Vec<(u32, f64)> = v
            .iter()
            .map(|&(f, tf)| {
                (
                    f,
                    f64::from(tf)
                        * (((1.0 + n) / (1.0 + df.get(&f).copied().unwrap_or(0.0))).ln() + 1.0),
                )
            })
            .collect();
        let norm = w.iter().map(|x| x.1 * x.1).sum::<f64>().sqrt();
        w.into_iter().map(|(f, x)| (f, x / norm)).collect()
    };
    let q = weigh(&emb.features(query).iter().collect::<Vec<_>>());
    let qn = norm_text(query);
    docs.iter()
        .filter(|(id, text, _)| id != qid && norm_text(text) != qn)
        .map(|(id, _, d)| {
            let dw = weigh(d);
            let s = q
                .iter()
                .map(|(f, x)| x * dw.get(f).copied().unwrap_or(0.0))
                .sum::<f64>();
            (id.clone(), s)
        })
        .collect()
}

/// Checks the contract of `retrieve` against the reference; returns a description on failure.
fn check(bank: &mut ExemplarBank, qid: &PromptId, query: &str) -> Result<(), String> {
    let k = bank.config().k;
    let thr = f64::from(bank.config().similarity_threshold);
    let got: Vec<Retrieved> = bank.retrieve(qid, query).map_err(|e| e.to_string())?;
    let refs: HashMap<PromptId, f64> = reference(bank, qid, query).into_iter().collect();
    if got.len() > k {
        return Err(format!("more than k = {k}: {got:?}"));
    }
    for w in got.windows(2) {
        if w[0].similarity < w[1].similarity {
            return Err(format!("not sorted: {got:?}"));
        }
    }
    for (i, g) in got.iter().enumerate() {
        if got[..i].iter().any(|x| x.id == g.id) {
            return Err(format!("duplicate {}: {got:?}", g.id));
        }
        if &g.id == qid {
            return Err(format!("returned the target itself: {got:?}"));
        }
        let Some(&r) = refs.get(&g.id) else {
            return Err(format!(
                "{} is not an eligible entry (target text or unknown)",
                g.id
            ));
        };
        if (f64::from(g.similarity) - r).abs() > TOL {
            return Err(format!("{}: score {} vs reference {r}", g.id, g.similarity));
        }
        if f64::from(g.similarity) < thr {
            return Err(format!("{} under threshold {thr}", g.id));
        }
    }
    // Nothing left out scores clearly better than the worst returned, or clearly above the
    // threshold while fewer than k were returned.
    let cut = if got.len() == k {
        f64::from(got[k - 1].similarity)
    } else {
        thr
    };
    for (id, &r) in &refs {
        if !got.iter().any(|g| &g.id == id) && r > cut + TOL {
            return Err(format!(
                "missed {id} with reference {r} > cut {cut}: {got:?}"
            ));
        }
    }
    Ok(())
}

const WORDS: &[&str] = &[
    "apple",
    "apples",
    "train",
    "red",
    "blue",
    "x",
    "x^2",
    "sum",
    "of",
    "the",
    "find",
    "how",
    "many",
    "\\frac{1}{2}",
    "12",
    "7",
    "prime",
    "area",
];

#[derive(Debug, Clone)]
enum Op {
    Record { text: usize, sol_len: usize },
    Curated { text: usize },
    Block { text: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..30usize, 1..20usize).prop_map(|(text, sol_len)| Op::Record { text, sol_len }),
        1 => (0..30usize).prop_map(|text| Op::Curated { text }),
        1 => (0..30usize).prop_map(|text| Op::Block { text }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn retrieval_matches_brute_force_after_any_history(
        texts in prop::collection::vec(prop::collection::vec(0..WORDS.len(), 1..10), 30),
        ops in prop::collection::vec(op(), 1..60),
        queries in prop::collection::vec((0..30usize, any::<bool>()), 1..6),
        k in 1..4usize,
        threshold in 0.0f32..0.6,
        capacity in 2..25usize,
    ) {
        let texts: Vec<String> = texts
            .iter()
            .map(|t| t.iter().map(|&w| WORDS[w]).collect::<Vec<_>>().join(" "))
            .collect();
        let config = SeedConfig { k, similarity_threshold: threshold, capacity, evict_curated: true, ..SeedConfig::default() };
        let mut bank = ExemplarBank::lexical(config).unwrap();
        for op in &ops {
            match *op {
                Op::Record { text, sol_len } => {
                    bank.record(&PromptId::from(text as u64), &texts[text], &"s".repeat(sol_len), Provenance::Training { step: 0 }).unwrap();
                }
                Op::Curated { text } => {
                    bank.add_curated(text as u64, &texts[text], "c", None).unwrap();
                }
                Op::Block { text } => {
                    bank.block_ids([text as u64]);
                }
            }
            prop_assert!(bank.len() <= capacity);
        }
        for &(q, known_id) in &queries {
            // Either the id of a stored text (exclusion by id) or a fresh id (by text).
            let qid = if known_id { PromptId::from(q as u64) } else { PromptId::from("fresh") };
            if let Err(e) = check(&mut bank, &qid, &texts[q]) {
                prop_assert!(false, "{}", e);
            }
        }
    }
}

#[test]
fn pruned_search_matches_brute_force_on_a_large_redundant_bank() {
    // Thousands of near-duplicate templated prompts exercise every pruning phase.
    let mut bank = ExemplarBank::lexical(SeedConfig::default()).unwrap();
    for (i, p) in synthetic::prompts(21, 3000).iter().enumerate() {
        bank.record(
            &PromptId::from(i as u64),
            p,
            "s",
            Provenance::Training { step: 0 },
        )
        .unwrap();
    }
    for k in [1, 2, 5] {
        let mut bank = ExemplarBank::lexical_from_state(xrpo_seed::BankState {
            config: SeedConfig {
                k,
                ..SeedConfig::default()
            },
            ..bank.state()
        })
        .unwrap();
        for (i, q) in synthetic::prompts(22, 25).iter().enumerate() {
            check(&mut bank, &PromptId(format!("q{i}")), q)
                .unwrap_or_else(|e| panic!("k={k} query {i}: {e}"));
        }
        // Queries that are stored prompts themselves (the target must be excluded).
        for i in (0..3000).step_by(300) {
            let e = bank.get(&PromptId::from(i as u64)).unwrap().clone();
            check(&mut bank, &e.id, &e.prompt)
                .unwrap_or_else(|err| panic!("k={k} stored {i}: {err}"));
        }
    }
}
