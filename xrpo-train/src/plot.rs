//! SVG line plots with several series, axis labels, ticks and a legend, hand-written (no
//! plotting crate). One module for every plot of the project: the training report's
//! (`report.md` of a run directory) and xrpo-bench's comparison plots.
//!
//! ```
//! use xrpo_train::plot::{Series, line_plot};
//!
//! let reward = Series { label: "reward".into(), points: vec![(1.0, 0.2), (2.0, 0.35)] };
//! let svg = line_plot("training reward", "step", "reward", &[reward]);
//! assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
//! ```

use std::fmt::Write as _;

/// One line of a plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// `(x, y)` points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
}

const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An SVG plot of `series` with axis labels, four ticks per axis and a legend.
pub fn line_plot(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let (w, h) = (640.0, 380.0);
    let (left, right, top, bottom) = (60.0, 170.0, 30.0, 45.0);
    let pts = || {
        series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    };
    let (mut x0, mut x1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| {
        (a.min(*x), b.max(*x))
    });
    let (mut y0, mut y1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, y)| {
        (a.min(*y), b.max(*y))
    });
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y0 -= 0.5;
        y1 += 0.5;
    }
    let pw = w - left - right;
    let ph = h - top - bottom;
    let sx = |x: f64| left + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| top + ph - (y - y0) / (y1 - y0) * ph;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="13">{}</text>"#,
        left + pw / 2.0,
        escape(title)
    );
    let _ = writeln!(
        s,
        r#"<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    for i in 0..=4 {
        let f = i as f64 / 4.0;
        let (x, y) = (x0 + f * (x1 - x0), y0 + f * (y1 - y0));
        let _ = writeln!(
            s,
            r##"<line x1="{gx:.1}" y1="{top}" x2="{gx:.1}" y2="{b}" stroke="#ddd"/><text x="{gx:.1}" y="{lb}" text-anchor="middle">{x:.4}</text>"##,
            gx = sx(x),
            b = top + ph,
            lb = top + ph + 14.0,
            x = trim(x),
        );
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{gy:.1}" x2="{r}" y2="{gy:.1}" stroke="#ddd"/><text x="{lx}" y="{ty:.1}" text-anchor="end">{y:.3}</text>"##,
            gy = sy(y),
            r = left + pw,
            lx = left - 4.0,
            ty = sy(y) + 4.0,
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        left + pw / 2.0,
        h - 8.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="14" y="{cy}" text-anchor="middle" transform="rotate(-90 14 {cy})">{}</text>"#,
        escape(y_label),
        cy = top + ph / 2.0
    );
    for (i, ser) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<String> = ser
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", sx(*x), sy(*y)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        let ly = top + 10.0 + 16.0 * i as f64;
        let lx = left + pw + 10.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{color}" stroke-width="3"/><text x="{}" y="{}">{}</text>"#,
            lx + 18.0,
            lx + 24.0,
            ly + 4.0,
            escape(&ser.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Tick values print without a trailing `.0000` when they are whole.
struct Trim(f64);
fn trim(x: f64) -> Trim {
    Trim(x)
}
impl std::fmt::Display for Trim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if (self.0 - self.0.round()).abs() < 1e-9 {
            write!(f, "{}", self.0.round() as i64)
        } else {
            write!(f, "{:.2}", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_has_one_polyline_per_series_and_escapes_labels() {
        let s = line_plot(
            "pass@1 <vs> step",
            "step",
            "pass@1",
            &[
                Series {
                    label: "grpo".into(),
                    points: vec![(0.0, 0.1), (5.0, 0.2), (10.0, f64::NAN)],
                },
                Series {
                    label: "x&y".into(),
                    points: vec![(0.0, 0.1), (10.0, 0.3)],
                },
            ],
        );
        assert_eq!(s.matches("<polyline").count(), 2);
        assert!(s.contains("pass@1 &lt;vs&gt; step"));
        assert!(s.contains("x&amp;y"));
        // The NaN point is dropped: the first polyline has two points.
        let first = s.split("<polyline").nth(1).unwrap();
        let pts = first
            .split("points=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert_eq!(pts.split(' ').count(), 2);
        assert!(s.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn empty_and_flat_plots_do_not_divide_by_zero() {
        let s = line_plot("t", "x", "y", &[]);
        assert!(!s.contains("NaN") && !s.contains("inf"));
        let flat = line_plot(
            "t",
            "x",
            "y",
            &[Series {
                label: "a".into(),
                points: vec![(3.0, 0.5)],
            }],
        );
        assert!(!flat.contains("NaN") && !flat.contains("inf"));
    }
}
