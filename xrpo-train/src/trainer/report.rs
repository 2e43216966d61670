//! The end-of-run report: `report.md` and hand-written SVG line plots.

use std::fmt::Write as _;

use super::metrics::StepRecord;
use super::trainer::Trainer;
use super::{EvalReport, TrainError};

/// A minimal SVG line plot of `ys` against `xs`.
pub fn svg_line_plot(title: &str, xs: &[f64], ys: &[f64]) -> String {
    let (w, h, pad) = (480.0, 280.0, 40.0);
    let finite: Vec<(f64, f64)> = xs
        .iter()
        .zip(ys)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, *y))
        .collect();
    let (x0, x1) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| {
            (a.min(*x), b.max(*x))
        });
    let (mut y0, mut y1) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, y)| {
            (a.min(*y), b.max(*y))
        });
    if y1.partial_cmp(&y0) != Some(std::cmp::Ordering::Greater) {
        y0 -= 0.5;
        y1 += 0.5;
    }
    let sx = |x: f64| pad + (x - x0) / (x1 - x0).max(1e-12) * (w - 2.0 * pad);
    let sy = |y: f64| h - pad - (y - y0) / (y1 - y0) * (h - 2.0 * pad);
    let points: Vec<String> = finite
        .iter()
        .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
        .collect();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="{tx}" y="18" text-anchor="middle" font-size="13">{title}</text>
<line x1="{pad}" y1="{b}" x2="{r}" y2="{b}" stroke="black"/>
<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{b}" stroke="black"/>
<text x="{pad}" y="{lb}" text-anchor="middle">{x0:.0}</text>
<text x="{r}" y="{lb}" text-anchor="middle">{x1:.0}</text>
<text x="{ly}" y="{b}" text-anchor="end">{y0:.3}</text>
<text x="{ly}" y="{pad}" text-anchor="end">{y1:.3}</text>
<polyline fill="none" stroke="steelblue" stroke-width="2" points="{pts}"/>
</svg>
"#,
        tx = w / 2.0,
        b = h - pad,
        r = w - pad,
        lb = h - pad + 14.0,
        ly = pad - 4.0,
        pts = points.join(" "),
    );
    s
}

impl Trainer {
    /// Writes `report.md` and the plots from `records` and the evaluations.
    pub fn write_report(
        &self,
        records: &[StepRecord],
        before: Option<&EvalReport>,
        after: Option<&EvalReport>,
    ) -> Result<(), TrainError> {
        let xs: Vec<f64> = records.iter().map(|r| r.step as f64).collect();
        let series = |k: &str| -> Vec<f64> {
            records
                .iter()
                .map(|r| r.metrics.get(k).unwrap_or(f64::NAN))
                .collect()
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
            self.run_dir
                .write_atomic(file, svg_line_plot(title, &xs, &series(key)).as_bytes())?;
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
