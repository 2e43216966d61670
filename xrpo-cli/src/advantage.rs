//! `xrpo advantage`: group advantages from JSON lines (one group per line), with any of
//! the `xrpo-advantage` estimators. Thin plumbing: parsing, field-named errors, output.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::{Map, Value, json};
use xrpo_advantage::{
    AdvantageConfig, AdvantageShaper, Batch, Estimator, GRPO_STD_EPSILON, Group, KAPPA_CLIP,
    LAMBDA_NOVELTY, NoveltyConfig, ShapingStats, StdScale,
};

use crate::jsonl;

const FORMAT: &str = "\
Input: JSON lines, one group (the responses to one prompt) per line:
  rewards       list of numbers; null = missing (could not be verified): excluded from
                the baseline, advantage 0
  seq_logprob   list of numbers, one per response: mean token log-prob s(y_i) under the
                sampling policy (required with --estimator xrpo or --sharpen)
  lengths       optional list of token counts; a length-0 response gets no novelty bonus
Output: one line {\"advantages\": [...]} per input line, in order. A bad line prints
{\"error\": ..., \"line\": N} instead, the error also goes to stderr, and the exit status
is non-zero once all lines are done. A group with fewer than two scored responses, or
with all rewards equal, gets advantages 0.

Example:
  $ echo '{\"rewards\": [1, 0, 1, 0], \"seq_logprob\": [-0.2, -0.4, -0.9, -0.5]}' \\
      | xrpo advantage --estimator xrpo
  {\"advantages\":[0.8658754,-0.8658754,1.2988131,-0.8658754]}";

/// Arguments of `xrpo advantage`.
#[derive(clap::Args, Debug)]
#[command(after_help = FORMAT)]
pub struct Args {
    /// Advantage estimator: grpo (group mean and std), dr_grpo (mean only), rloo
    /// (leave-one-out mean), xrpo (grpo plus novelty sharpening, paper default).
    #[arg(long, value_enum, default_value = "grpo")]
    estimator: EstimatorArg,
    /// Which std divides grpo/xrpo advantages. With `batch` the std is over every scored
    /// reward of the whole input, so all lines are read before any is written.
    #[arg(long, value_enum)]
    scale: Option<ScaleArg>,
    /// ε added to the std (grpo/xrpo only) [default: 1e-4].
    #[arg(long, value_name = "E")]
    epsilon: Option<f64>,
    /// λ_nov, scale of the novelty bonus (sharpening only) [default: 2.5].
    #[arg(long, value_name = "L")]
    lambda_novelty: Option<f64>,
    /// κ_clip, cap of the bonus as a fraction of the advantage (sharpening only)
    /// [default: 0.5].
    #[arg(long, value_name = "K")]
    kappa_clip: Option<f64>,
    /// Apply XRPO novelty sharpening on top of dr_grpo or rloo (xrpo = sharpened grpo).
    #[arg(long)]
    sharpen: bool,
    /// Read groups from this file instead of stdin.
    #[arg(long, short, value_name = "FILE")]
    input: Option<PathBuf>,
    /// At the end, print the shaping report (missing rewards, degenerate groups, novelty
    /// bonus) as one JSON line on stderr.
    #[arg(long)]
    stats: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum EstimatorArg {
    Grpo,
    #[value(name = "dr_grpo", alias = "dr-grpo")]
    DrGrpo,
    Rloo,
    Xrpo,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ScaleArg {
    Group,
    Batch,
    None,
}

/// Resolves the flags into a validated config, refusing flags the estimator would ignore.
fn config(args: &Args) -> anyhow::Result<AdvantageConfig> {
    let (estimator, sharpen) = match args.estimator {
        EstimatorArg::Grpo => (Estimator::Grpo, args.sharpen),
        EstimatorArg::Xrpo => (Estimator::Grpo, true),
        EstimatorArg::DrGrpo => (Estimator::DrGrpo, args.sharpen),
        EstimatorArg::Rloo => (Estimator::Rloo, args.sharpen),
    };
    if estimator != Estimator::Grpo {
        for (flag, given) in [
            ("--epsilon", args.epsilon.is_some()),
            ("--scale", args.scale.is_some()),
        ] {
            anyhow::ensure!(!given, "{flag} applies only to --estimator grpo or xrpo");
        }
    }
    if !sharpen {
        for (flag, given) in [
            ("--lambda-novelty", args.lambda_novelty.is_some()),
            ("--kappa-clip", args.kappa_clip.is_some()),
        ] {
            anyhow::ensure!(
                !given,
                "{flag} applies only to --estimator xrpo or with --sharpen"
            );
        }
    }
    let cfg = AdvantageConfig {
        estimator,
        scale: match args.scale {
            Some(ScaleArg::Group) | None => StdScale::Group,
            Some(ScaleArg::Batch) => StdScale::Batch,
            Some(ScaleArg::None) => StdScale::None,
        },
        epsilon: args.epsilon.unwrap_or(GRPO_STD_EPSILON),
        novelty: NoveltyConfig {
            enabled: sharpen,
            lambda_novelty: args.lambda_novelty.unwrap_or(LAMBDA_NOVELTY),
            kappa_clip: args.kappa_clip.unwrap_or(KAPPA_CLIP),
        },
    };
    cfg.validate().context("invalid option")?;
    Ok(cfg)
}

/// Runs `xrpo advantage`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = config(&args)?;
    let shaper = cfg.build().context("invalid option")?;
    let needs_logprob = cfg.novelty.enabled;
    let input: Box<dyn BufRead> = match &args.input {
        Some(path) => Box::new(BufReader::new(
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
        )),
        None => Box::new(io::stdin().lock()),
    };
    let stdout = io::stdout().lock();
    let mut stats = ShapingStats::default();
    let batch_wide = cfg.estimator == Estimator::Grpo && cfg.scale == StdScale::Batch;
    let failed = if batch_wide {
        run_batch_wide(input, stdout, &*shaper, needs_logprob, &mut stats)?
    } else {
        jsonl::for_each_line(input, stdout, |line| {
            let group = parse_group(line, needs_logprob)?;
            let batch = Batch::from_groups([&group]).map_err(|e| e.to_string())?;
            let shaped = shaper.shape(&batch).map_err(|e| e.to_string())?;
            stats.merge(&shaped.stats);
            Ok(advantages_line(&shaped.advantages.to_vec()))
        })?
    };
    if args.stats {
        let metrics: Map<String, Value> = stats
            .metrics()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect();
        eprintln!("{}", json!({ "stats": stats, "metrics": metrics }));
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `--scale batch`: the std spans every line, so parse everything, shape the valid
/// groups as one batch, then print one line per input line (errors in place).
fn run_batch_wide(
    input: Box<dyn BufRead>,
    mut out: impl Write,
    shaper: &dyn AdvantageShaper,
    needs_logprob: bool,
    stats: &mut ShapingStats,
) -> anyhow::Result<bool> {
    let lines = jsonl::read_lines(input).context("reading input")?;
    let parsed: Vec<(usize, Result<Group, String>)> = lines
        .into_iter()
        .map(|l| {
            let group = l.text.and_then(|t| parse_group(&t, needs_logprob));
            (l.number, group)
        })
        .collect();
    let groups: Vec<&Group> = parsed.iter().filter_map(|(_, p)| p.as_ref().ok()).collect();
    let batch = Batch::from_groups(groups.iter().copied())
        .context("with --scale batch, give `lengths` on every line or on none")?;
    let shaped = shaper.shape(&batch)?;
    *stats = shaped.stats;
    let flat = shaped.advantages.to_vec();
    let mut next_group = 0usize;
    let mut failed = false;
    for (line_no, group) in parsed {
        let result = group.map(|_| {
            let range = batch.group_range(next_group);
            next_group += 1;
            advantages_line(&flat[range])
        });
        failed |= jsonl::write_result(&mut out, line_no, result)?;
    }
    out.flush()?;
    Ok(failed)
}

/// `{"advantages": [...]}` with each f32 written in its shortest round-trip form
/// (`0.8658754`, not the f64 widening `0.8658754229545593`).
fn advantages_line(advantages: &[f32]) -> Value {
    let values: Vec<Value> = advantages
        .iter()
        .map(|a| {
            // An f32's shortest decimal always parses back as a finite f64.
            let shortest: f64 = a.to_string().parse().unwrap_or(f64::from(*a));
            json!(shortest)
        })
        .collect();
    json!({ "advantages": values })
}

/// Parses one line into a validated group; the error names the field (and index).
fn parse_group(line: &str, needs_logprob: bool) -> Result<Group, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err(format!(
            "expected a JSON object like {{\"rewards\": [...]}}, got {}",
            kind(&value)
        ));
    };
    if let Some(key) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "rewards" | "seq_logprob" | "lengths"))
    {
        return Err(format!(
            "unknown field `{key}` (expected rewards, seq_logprob, lengths)"
        ));
    }
    let rewards = list(&obj, "rewards")?.ok_or("rewards: missing (a list of numbers or null)")?;
    let rewards = rewards
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Null => Ok(None),
            v => number_f32("rewards", i, v, "a number or null").map(Some),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let n = rewards.len();
    if n == 0 {
        return Err("rewards: empty list (a group needs at least one response)".to_owned());
    }
    let mut group = Group::new(rewards).map_err(|e| format!("rewards: {e}"))?;
    match list(&obj, "seq_logprob")? {
        Some(s) => {
            check_len("seq_logprob", s.len(), n)?;
            let s = s
                .iter()
                .enumerate()
                .map(|(i, v)| number_f32("seq_logprob", i, v, "a number"))
                .collect::<Result<Vec<_>, _>>()?;
            if needs_logprob {
                group = group
                    .with_seq_logprob(s)
                    .map_err(|e| format!("seq_logprob: {e}"))?;
            }
        }
        None if needs_logprob => {
            return Err(
                "seq_logprob: missing (required for novelty sharpening: the mean token log-prob of each response)"
                    .to_owned(),
            );
        }
        None => {}
    }
    if let Some(l) = list(&obj, "lengths")? {
        check_len("lengths", l.len(), n)?;
        let l = l
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_u64()
                    .and_then(|x| u32::try_from(x).ok())
                    .ok_or_else(|| {
                        format!(
                            "lengths[{i}]: expected a non-negative integer token count, got {v}"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if needs_logprob {
            group = group.with_lengths(l).map_err(|e| format!("lengths: {e}"))?;
        }
    }
    Ok(group)
}

/// The list at `key`, `None` when absent; an error naming the key for any other type.
fn list<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a Vec<Value>>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(v) => Err(format!("{key}: expected a list, got {}", kind(v))),
    }
}

fn number_f32(field: &str, i: usize, v: &Value, expected: &str) -> Result<f32, String> {
    let x = v
        .as_f64()
        .ok_or_else(|| format!("{field}[{i}]: expected {expected}, got {}", kind(v)))?;
    let y = x as f32;
    if y.is_finite() {
        Ok(y)
    } else {
        Err(format!("{field}[{i}]: {x} is out of range for f32"))
    }
}

fn check_len(field: &str, found: usize, expected: usize) -> Result<(), String> {
    if found == expected {
        Ok(())
    } else {
        Err(format!(
            "{field}: has {found} entries but rewards has {expected}"
        ))
    }
}

/// A short description of a JSON value for error messages.
fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.len() <= 40 => format!("string {s:?}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
