//! Learning-rate schedule: linear warm-up, then cosine decay.

use serde::{Deserialize, Serialize};

use super::OptimError;

/// Linear warm-up to `peak_lr`, then cosine decay to `min_lr_ratio · peak_lr` at
/// `total_steps`. For update `s` (0-based):
///
/// - `s < W`: `lr = peak · (s + 1) / W` (the first update already moves the weights;
///   Hugging Face's schedule starts at 0 instead);
/// - otherwise, with `p = min(1, (s − W) / max(1, S − W))`:
///   `lr = peak · (r + (1 − r) · ½(1 + cos πp))`, `r = min_lr_ratio`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LrSchedule {
    /// Peak learning rate. Default 1e-3 (tiny model from scratch). > 0.
    pub peak_lr: f64,
    /// W: warm-up length in updates. Default 0.
    pub warmup_steps: u64,
    /// S: total number of updates (end of the cosine). Default 100.
    pub total_steps: u64,
    /// r: final learning rate as a fraction of the peak. Default 0.1. In `[0, 1]`.
    pub min_lr_ratio: f64,
}

impl Default for LrSchedule {
    fn default() -> Self {
        Self {
            peak_lr: 1e-3,
            warmup_steps: 0,
            total_steps: 100,
            min_lr_ratio: 0.1,
        }
    }
}

impl LrSchedule {
    /// Checks ranges; the error names the field.
    pub fn validate(&self) -> Result<(), OptimError> {
        if !(self.peak_lr.is_finite() && self.peak_lr > 0.0) {
            return Err(OptimError::Parameter {
                name: "peak_lr",
                value: self.peak_lr,
                expected: "finite and > 0",
            });
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return Err(OptimError::Parameter {
                name: "min_lr_ratio",
                value: self.min_lr_ratio,
                expected: "0 <= min_lr_ratio <= 1",
            });
        }
        Ok(())
    }

    /// Learning rate for update number `step` (0-based).
    pub fn lr_at(&self, step: u64) -> f64 {
        let w = self.warmup_steps;
        if step < w {
            return self.peak_lr * (step + 1) as f64 / w as f64;
        }
        let span = self.total_steps.saturating_sub(w).max(1) as f64;
        let progress = ((step - w) as f64 / span).min(1.0);
        let cosine = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
        self.peak_lr * (self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine)
    }
}
