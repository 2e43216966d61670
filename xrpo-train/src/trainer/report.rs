//! The end-of-run report: `report.md` and its SVG line plots (drawn by [`crate::plot`]).

use std::fmt::Write as _;

use crate::plot::{Series, line_plot};

use super::metrics::StepRecord;
use super::trainer::Trainer;
use super::{EvalReport, TrainError};

impl Trainer {
    /// Writes `report.md` and the plots from `records` and the evaluations.
    pub fn write_report(
        &self,
        records: &[StepRecord],
        before: Option<&EvalReport>,
        after: Option<&EvalReport>,
    ) -> Result<(), TrainError> {
        // Steps where the key is missing get NaN, which the plot skips.
        let series = |k: &str, label: &str| Series {
            label: label.to_string(),
            points: records
                .iter()
                .map(|r| (r.step as f64, r.metrics.get(k).unwrap_or(f64::NAN)))
                .collect(),
        };
        let plots = [
            ("reward.svg", "reward", "reward (mean over rollouts)"),
            (
                "frac_reward_zero_std.svg",
                "frac_reward_zero_std",
                "share of groups with zero std",
            ),
            (
                "rollouts_per_prompt.svg",
                "alloc/rollouts_per_prompt_max",
                "max rollouts per prompt",
            ),
            (
                "seeded_share.svg",
                "seed/seeded_share",
                "share of prompts seeded",
            ),
        ];
        for (file, key, title) in plots {
            let svg = line_plot(title, "step", key, &[series(key, key)]);
            self.run_dir.write_atomic(file, svg.as_bytes())?;
        }
        let mut md = String::new();
        let _ = writeln!(md, "# xrpo training report\n");
        let _ = writeln!(md, "- model: {}", self.model_description);
        let _ = writeln!(md, "- algorithm: {}", self.config.algorithm.name());
        let _ = writeln!(
            md,
            "- task: {} ({} train / {} eval prompts)",
            self.task.name,
            self.task.train.len(),
            self.task.eval.len()
        );
        let _ = writeln!(md, "- steps: {}\n", self.step);
        if before.is_some() || after.is_some() {
            let _ = writeln!(
                md,
                "| | pass@1 | pass@k | cons@k | mean length |\n|---|---|---|---|---|"
            );
            for (name, e) in [("before", before), ("after", after)] {
                if let Some(e) = e {
                    let s = &e.summary;
                    let _ = writeln!(
                        md,
                        "| {name} (step {}, k = {}) | {:.3} | {:.3} | {:.3} | {:.2} |",
                        e.step, s.k, s.pass_at_1, s.pass_at_k, s.cons_at_k, s.mean_length
                    );
                }
            }
            if let (Some(b), Some(a)) = (before, after)
                && !a.pass_at_1_by_level.is_empty()
            {
                {
                    let _ = writeln!(
                        md,
                        "\n| level | pass@1 before | pass@1 after |\n|---|---|---|"
                    );
                    for (level, acc) in &a.pass_at_1_by_level {
                        let prev = b.pass_at_1_by_level.get(level).copied().unwrap_or(f64::NAN);
                        let _ = writeln!(md, "| {level} | {prev:.3} | {acc:.3} |");
                    }
                }
            }
        }
        let _ = writeln!(
            md,
            "\n![reward](reward.svg) ![zero std](frac_reward_zero_std.svg)"
        );
        let _ = writeln!(
            md,
            "![rollouts](rollouts_per_prompt.svg) ![seeded](seeded_share.svg)"
        );
        self.run_dir.write_atomic("report.md", md.as_bytes())
    }
}
