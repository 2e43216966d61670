//! AdamW (Loshchilov & Hutter, decoupled weight decay) over candle `Var`s.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};
use serde::{Deserialize, Serialize};

use super::OptimError;

/// AdamW hyper-parameters (PyTorch's `torch.optim.AdamW` semantics).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWConfig {
    /// β₁: decay of the first-moment average. Default 0.9. In `[0, 1)`.
    pub beta1: f64,
    /// β₂: decay of the second-moment average. Default 0.999. In `[0, 1)`.
    pub beta2: f64,
    /// ε added to `√v̂` in the denominator. Default 1e-8. > 0.
    pub eps: f64,
    /// λ: decoupled weight decay, applied as `θ ← θ − lr·λ·θ`. Default 0.0 (as TRL's
    /// GRPO recipes). ≥ 0.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamWConfig {
    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<(), OptimError> {
        let bad = |name, value, expected| {
            Err(OptimError::Parameter {
                name,
                value,
                expected,
            })
        };
        if !(0.0..1.0).contains(&self.beta1) {
            return bad("beta1", self.beta1, "0 <= beta1 < 1");
        }
        if !(0.0..1.0).contains(&self.beta2) {
            return bad("beta2", self.beta2, "0 <= beta2 < 1");
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return bad("eps", self.eps, "finite and > 0");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", self.weight_decay, "finite and >= 0");
        }
        Ok(())
    }
}

/// AdamW with named, checkpointable moments. For step `t` (1-based) and gradient `g`:
///
/// `θ ← θ − lr·λ·θ`; `m ← β₁m + (1−β₁)g`; `v ← β₂v + (1−β₂)g²`;
/// `θ ← θ − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)`.
///
/// A parameter without a gradient in the store is left untouched (no decay either), as
/// in PyTorch. Moments are kept in `f32`.
#[derive(Debug)]
pub struct AdamW {
    params: Vec<Param>,
    config: AdamWConfig,
    step: u64,
}

#[derive(Debug)]
struct Param {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
}

const STEP_KEY: &str = "__adamw_step__";

impl AdamW {
    /// Creates the optimiser over named parameters with zero moments.
    pub fn new(vars: Vec<(String, Var)>, config: AdamWConfig) -> Result<Self, OptimError> {
        config.validate()?;
        let mut seen = HashSet::new();
        let mut params = Vec::with_capacity(vars.len());
        for (name, var) in vars {
            if !seen.insert(name.clone()) {
                return Err(OptimError::DuplicateName(name));
            }
            let m = Tensor::zeros(var.shape(), DType::F32, var.device())?;
            let v = m.clone();
            params.push(Param { name, var, m, v });
        }
        Ok(Self {
            params,
            config,
            step: 0,
        })
    }

    /// The parameters, in construction order.
    pub fn vars(&self) -> Vec<Var> {
        self.params.iter().map(|p| p.var.clone()).collect()
    }

    /// Number of updates applied so far (`t`).
    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// Applies one update with learning rate `lr` using the gradients in `grads`.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<(), OptimError> {
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(OptimError::Parameter {
                name: "lr",
                value: lr,
                expected: "finite and >= 0",
            });
        }
        self.step += 1;
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.config;
        let t = self.step as i32;
        let bias1 = 1.0 - beta1.powi(t);
        let bias2 = 1.0 - beta2.powi(t);
        for p in &mut self.params {
            let Some(g) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            // Gradients computed by `backward` still point into the forward graph; detach
            // them, or the moments would keep every step's graph alive (a memory leak).
            let g = g.detach().to_dtype(DType::F32)?;
            p.m = ((&p.m * beta1)? + (&g * (1.0 - beta1))?)?.detach();
            p.v = ((&p.v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?.detach();
            let m_hat = (&p.m / bias1)?;
            let v_hat = (&p.v / bias2)?;
            let update = (m_hat / (v_hat.sqrt()? + eps)?)?;
            let theta = p.var.as_tensor().detach().to_dtype(DType::F32)?;
            let decayed = if weight_decay > 0.0 {
                (&theta * (1.0 - lr * weight_decay))?
            } else {
                theta
            };
            let next = (decayed - (update * lr)?)?;
            p.var.set(&next.to_dtype(p.var.dtype())?.detach())?;
        }
        Ok(())
    }

    /// The state as named tensors: `m.<name>`, `v.<name>` and the step count.
    pub fn state_tensors(&self) -> Result<HashMap<String, Tensor>, OptimError> {
        let mut out = HashMap::with_capacity(2 * self.params.len() + 1);
        for p in &self.params {
            out.insert(format!("m.{}", p.name), p.m.clone());
            out.insert(format!("v.{}", p.name), p.v.clone());
        }
        // The step count as an f64 scalar: exact for any count below 2^53.
        out.insert(
            STEP_KEY.to_string(),
            Tensor::new(self.step as f64, &candle_core::Device::Cpu)?,
        );
        Ok(out)
    }

    /// Restores the state from [`AdamW::state_tensors`]; every parameter's moments must be
    /// present with matching shapes.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<(), OptimError> {
        for p in &mut self.params {
            for (key, slot) in [("m", &mut p.m), ("v", &mut p.v)] {
                let full = format!("{key}.{}", p.name);
                let t = state.get(&full).ok_or_else(|| OptimError::StateMismatch {
                    name: p.name.clone(),
                    detail: format!("missing `{full}`"),
                })?;
                if t.dims() != p.var.dims() {
                    return Err(OptimError::StateMismatch {
                        name: p.name.clone(),
                        detail: format!(
                            "`{full}` has shape {:?}, parameter has {:?}",
                            t.dims(),
                            p.var.dims()
                        ),
                    });
                }
                *slot = t.to_dtype(DType::F32)?.to_device(p.var.device())?;
            }
        }
        let step = state
            .get(STEP_KEY)
            .ok_or_else(|| OptimError::StateMismatch {
                name: STEP_KEY.to_string(),
                detail: "missing step count".to_string(),
            })?;
        self.step = step.to_dtype(DType::F64)?.to_scalar::<f64>()? as u64;
        Ok(())
    }

    /// Writes the state to a safetensors file.
    pub fn save(&self, path: &Path) -> Result<(), OptimError> {
        candle_core::safetensors::save(&self.state_tensors()?, path)?;
        Ok(())
    }

    /// Reads the state written by [`AdamW::save`].
    pub fn load(&mut self, path: &Path) -> Result<(), OptimError> {
        let state = candle_core::safetensors::load(path, &candle_core::Device::Cpu)?;
        self.load_state(&state)
    }
}
