//! Shapes one small batch with every estimator and prints the advantages side by side,
//! then the metrics a trainer would log. Run: `cargo run --release -p xrpo-advantage
//! --example shape_batch`.

use xrpo_advantage::{
    AdvantageShaper, Batch, DrGrpo, Group, Grpo, NoveltySharpening, Rloo, StdScale, Xrpo,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Three prompts. Group 0: two correct answers, one of them unlikely (s = -1.4).
    // Group 1: all correct (no signal). Group 2: one reward could not be verified.
    let groups = [
        Group::new(vec![Some(1.0), Some(0.0), Some(1.0), Some(0.0)])?
            .with_seq_logprob(vec![-0.3, -0.6, -1.4, -0.5])?,
        Group::new(vec![Some(1.0), Some(1.0), Some(1.0)])?
            .with_seq_logprob(vec![-0.4, -0.2, -0.9])?,
        Group::new(vec![Some(0.0), None, Some(1.0), Some(0.0)])?
            .with_seq_logprob(vec![-0.7, -0.5, -1.1, -0.6])?,
    ];
    let batch = Batch::from_groups(&groups)?;

    let shapers: [(&str, Box<dyn AdvantageShaper>); 6] = [
        ("grpo", Box::new(Grpo::default())),
        ("grpo/batch", Box::new(Grpo::new(StdScale::Batch, 1e-4)?)),
        ("dr_grpo", Box::new(DrGrpo)),
        ("rloo", Box::new(Rloo)),
        ("xrpo", Box::new(Xrpo::paper())),
        (
            "rloo+sharp",
            Box::new(NoveltySharpening::new(Rloo, 2.5, 0.5)?),
        ),
    ];
    let results = shapers
        .iter()
        .map(|(_, s)| s.shape(&batch))
        .collect::<Result<Vec<_>, _>>()?;

    print!("{:>5} {:>6} {:>7}", "group", "reward", "s(y)");
    for (name, _) in &shapers {
        print!(" {name:>10}");
    }
    println!();
    let seq_logprob = batch.seq_logprob().ok_or("batch has seq_logprob")?;
    for g in 0..batch.num_groups() {
        for i in batch.group_range(g) {
            let reward = batch.rewards()[i].map_or("—".to_owned(), |r| format!("{r}"));
            print!("{g:>5} {reward:>6} {:>7.2}", seq_logprob[i]);
            for res in &results {
                print!(" {:>10.4}", res.advantages[i]);
            }
            println!();
        }
    }
    println!("\nmetrics (xrpo):");
    for (key, value) in results[4].stats.metrics() {
        println!("  {key:<36} {value:.4}");
    }
    Ok(())
}
