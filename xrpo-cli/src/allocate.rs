//! `xrpo allocate`: one phase of XRPO's rollout allocation from the command line. Reads
//! one JSON object (per-prompt rewards so far, a budget, optional config overrides) and
//! writes how many extra rollouts each prompt gets, greedily by priority Π_q.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value;
use xrpo_alloc::{
    AllocConfig, AllocKind, AllocatorState, ExplorationClock, PromptStats, RolloutAllocator,
    XrpoAllocator,
};

const AFTER_HELP: &str = r#"INPUT (one JSON object):
  {
    "budget": 8,                       extra rollouts to hand out in this phase (integer >= 0)
    "config": {"lambda": 0.1},         optional overrides of the allocation config: kind,
                                       n_fixed, n_base, n_max, phases, alpha, lambda, clock,
                                       variance, retire_after, weight; unknown keys fail
                                       (one phase is run: n_max, alpha, lambda, clock,
                                       variance, retire_after and weight shape it; the rest
                                       is only validated)
    "training_step": 12,               only with "clock": "training_steps": T (1-based step)
    "prompts": [                       per prompt: a unique id and its scored rewards so far
      {"id": "q1", "rewards": [1, 0, 1, 0]},
      {"id": "q2", "rewards": [1, 1, 1, 1]}
    ]
  }

OUTPUT (one JSON object, same prompt order):
  {"grants": [{"id": "q1", "extra": 8, "priority": 0.0461}, {"id": "q2", "extra": 0,
   "priority": 0.0421}], "granted": 8}
  extra:    rollouts granted to the prompt (--kind xrpo: one at a time to the highest
            Π_q = Δ̂_q + φ_q; other kinds by their own rule, see ARCHITECTURE.md),
            never past n_max (counting the rewards given), so "granted" < budget when
            the caps bind.
  priority: Π_q at the moment of the prompt's last grant; for a prompt with no grant, its
            Π_q at the end of the phase. null means +inf (fewer than 2 rewards), and
            for the kinds other than xrpo (they have no Π_q).

KINDS (--kind, or "kind" in config; default xrpo): xrpo (the paper's priority),
  uniform_phased (even spread), dapo_filter (DAPO dynamic sampling: uniform groups first),
  reinforce_ada (until a prompt has both outcomes), knapsack (max summed group value),
  fixed (GRPO: one phase only, so no extra rollouts).
  T (clock "step_rollouts", the default) = number of rewards given + grants made so far.

Unverifiable responses: leave them out of "rewards" (they are not a 0 reward).

EXAMPLE:
  echo '{"budget": 4, "prompts": [{"id": "a", "rewards": [1,0,1,0]},
        {"id": "b", "rewards": [0,0,0,0]}]}' | xrpo allocate"#;

/// Arguments of `xrpo allocate`.
#[derive(clap::Args, Debug)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Read the JSON input from this file instead of stdin.
    pub input: Option<PathBuf>,
    /// The allocator family member (overrides the input's `config.kind`): xrpo,
    /// uniform_phased, dapo_filter, reinforce_ada, knapsack, fixed.
    #[arg(long)]
    pub kind: Option<String>,
    /// Pretty-print the output JSON.
    #[arg(long)]
    pub pretty: bool,
}

/// One prompt's line of the output.
#[derive(Serialize)]
struct Grant<'a> {
    id: &'a str,
    extra: usize,
    /// `None` (JSON null) stands for +∞: fewer than 2 rewards.
    priority: Option<f64>,
}

/// The output object.
#[derive(Serialize)]
struct Output<'a> {
    grants: Vec<Grant<'a>>,
    granted: usize,
}

/// One prompt of the input.
struct PromptIn {
    id: String,
    stats: PromptStats,
}

/// The parsed input.
struct Input {
    budget: usize,
    config: AllocConfig,
    training_step: Option<u64>,
    prompts: Vec<PromptIn>,
}

/// Describes a JSON value's type for error messages.
fn kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

fn parse_input(text: &str) -> anyhow::Result<Input> {
    let value: Value = serde_json::from_str(text).context("input is not valid JSON")?;
    let Value::Object(mut obj) = value else {
        bail!("input: expected a JSON object, got {}", kind(&value));
    };
    let budget = match obj.remove("budget") {
        None => bail!("budget: missing (the number of extra rollouts to hand out)"),
        Some(v) => match v.as_u64() {
            Some(b) => usize::try_from(b).context("budget: too large")?,
            None => bail!("budget: expected a non-negative integer, got {}", kind(&v)),
        },
    };
    let config = match obj.remove("config") {
        None | Some(Value::Null) => AllocConfig::default(),
        Some(Value::Object(map)) => parse_config(map)?,
        Some(v) => bail!(
            "config: expected an object of allocation config overrides, got {}",
            kind(&v)
        ),
    };
    let training_step = match obj.remove("training_step") {
        None => None,
        Some(v) => match v.as_u64() {
            Some(t) if t >= 1 => Some(t),
            _ => bail!("training_step: expected an integer >= 1, got {}", kind(&v)),
        },
    };
    let prompts = match obj.remove("prompts") {
        None => bail!("prompts: missing (a list of {{\"id\", \"rewards\"}} objects)"),
        Some(Value::Array(items)) => parse_prompts(items)?,
        Some(v) => bail!("prompts: expected an array, got {}", kind(&v)),
    };
    if let Some(key) = obj.keys().next() {
        bail!("{key}: unknown field (expected budget, config, training_step, prompts)");
    }
    Ok(Input {
        budget,
        config,
        training_step,
        prompts,
    })
}

/// Parses the config overrides key by key, so that a type error names its field.
fn parse_config(map: serde_json::Map<String, Value>) -> anyhow::Result<AllocConfig> {
    for (key, value) in &map {
        let single = Value::Object([(key.clone(), value.clone())].into_iter().collect());
        if let Err(e) = serde_json::from_value::<AllocConfig>(single) {
            bail!("config.{key}: {e}");
        }
    }
    let config: AllocConfig = serde_json::from_value(Value::Object(map)).context("config")?;
    if let Err(xrpo_alloc::Error::InvalidConfig {
        field,
        value,
        reason,
    }) = config.validate()
    {
        bail!("config.{field} = {value}: {reason}");
    }
    Ok(config)
}

fn parse_prompts(items: Vec<Value>) -> anyhow::Result<Vec<PromptIn>> {
    let mut seen = HashSet::new();
    let mut prompts = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Object(mut obj): Value = item else {
            bail!(
                "prompts[{i}]: expected an object {{\"id\", \"rewards\"}}, got {}",
                kind(&item)
            );
        };
        let id = match obj.remove("id") {
            Some(Value::String(s)) => s,
            Some(v) => bail!("prompts[{i}].id: expected a string, got {}", kind(&v)),
            None => bail!("prompts[{i}].id: missing"),
        };
        if !seen.insert(id.clone()) {
            bail!("prompts[{i}].id: duplicate id {id:?}");
        }
        let rewards = match obj.remove("rewards") {
            Some(Value::Array(rs)) => rs,
            Some(v) => bail!(
                "prompts[{i}].rewards: expected an array of numbers, got {}",
                kind(&v)
            ),
            None => bail!("prompts[{i}].rewards: missing"),
        };
        if let Some(key) = obj.keys().next() {
            bail!("prompts[{i}].{key}: unknown field (expected id, rewards)");
        }
        let mut stats = PromptStats::new();
        for (j, r) in rewards.iter().enumerate() {
            let Some(x) = r.as_f64() else {
                bail!(
                    "prompts[{i}].rewards[{j}]: expected a number, got {}",
                    kind(r)
                );
            };
            stats
                .push(x)
                .with_context(|| format!("prompts[{i}].rewards[{j}]"))?;
        }
        prompts.push(PromptIn { id, stats });
    }
    Ok(prompts)
}

/// Allocates one phase; returns per-prompt extra rollouts and priorities (+∞ where the
/// allocator has none). The one place that names the allocator: `config.kind` picks the
/// family member, and only XRPO's allocator reports priorities and reads the clock.
fn allocate(input: &Input) -> anyhow::Result<xrpo_alloc::Allocation> {
    let stats: Vec<PromptStats> = input.prompts.iter().map(|p| p.stats).collect();
    if input.config.kind != AllocKind::Xrpo {
        if input.training_step.is_some() {
            bail!("training_step: only used by kind \"xrpo\" with clock \"training_steps\"");
        }
        let mut allocator = input.config.build().context("config")?;
        let extra = allocator.allocate(&stats, input.budget)?;
        let priority = vec![f64::INFINITY; extra.len()];
        return Ok(xrpo_alloc::Allocation { extra, priority });
    }
    let config = input.config.xrpo_config();
    let clock = config.clock;
    let mut allocator = XrpoAllocator::new(config).context("config")?;
    match (clock, input.training_step) {
        (ExplorationClock::TrainingSteps, Some(t)) => {
            allocator.restore(&AllocatorState::new(XrpoAllocator::NAME, t - 1))?;
        }
        (ExplorationClock::TrainingSteps, None) => {
            bail!("training_step: required when config.clock is \"training_steps\"")
        }
        (ExplorationClock::StepRollouts, Some(_)) => {
            bail!("training_step: only used when config.clock is \"training_steps\"")
        }
        (ExplorationClock::StepRollouts, None) => {}
    }
    Ok(allocator.allocate_detailed(&stats, input.budget)?)
}

/// Runs `xrpo allocate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    match &args.input {
        Some(path) => {
            text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
        }
        None => {
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
        }
    }
    let mut input = parse_input(&text)?;
    if let Some(kind) = &args.kind {
        input.config.kind = kind
            .parse::<AllocKind>()
            .map_err(|e| anyhow::anyhow!("--kind {kind}: {e}"))?;
    }
    let out = allocate(&input)?;
    let output = Output {
        grants: input
            .prompts
            .iter()
            .zip(out.extra.iter().zip(&out.priority))
            .map(|(p, (&extra, &priority))| Grant {
                id: &p.id,
                extra,
                priority: priority.is_finite().then_some(priority),
            })
            .collect(),
        granted: out.extra.iter().sum(),
    };
    let rendered = if args.pretty {
        serde_json::to_string_pretty(&output)?
    } else {
        serde_json::to_string(&output)?
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{rendered}")?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
