//! Rollout allocation (`xrpo-alloc`): `XrpoAllocator`, `FixedAllocator`, `run_step`.

use std::sync::Mutex;

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use xrpo_alloc::{
    AllocConfig, AllocatorState, ExplorationClock, FixedAllocator, PromptStats, RolloutAllocator,
    StepRun, VarianceEstimate, XrpoAllocator, XrpoConfig,
};

use crate::errors::{Count, detached, guard, value_err};
use crate::json;

type Inner = Box<dyn RolloutAllocator + Send>;

/// Base class of the rollout allocators (`XrpoAllocator`, `FixedAllocator`).
///
/// An allocator decides how many rollouts each prompt of a training step gets. A step
/// runs in phases: phase 1 gives every prompt ``plan(n)["counts"]``; each later phase
/// asks :meth:`allocate` to hand out that phase's budget given what the rewards so far
/// look like. :func:`run_step` does the bookkeeping.
///
/// >>> import xrpo
/// >>> isinstance(xrpo.FixedAllocator(4), xrpo.Allocator)
/// True
#[pyclass(module = "xrpo._xrpo", subclass)]
pub struct Allocator {
    inner: Mutex<Inner>,
}

impl Allocator {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> PyResult<T> {
        let mut g = self.inner.try_lock().map_err(|_| {
            PyRuntimeError::new_err(
                "the allocator is busy (used from another thread, or from inside run_step's callback)",
            )
        })?;
        Ok(f(&mut g))
    }
}

/// Per-prompt statistics from `rewards_per_prompt`: a 2-D float array `[prompts, n]`, a
/// sequence of 1-D reward sequences, or a tuple `(counts, means, stds)` of 1-D arrays.
/// NaN (or `None`) is a rollout that could not be scored.
fn parse_stats(obj: &Bound<'_, PyAny>) -> PyResult<Vec<PromptStats>> {
    const ARG: &str = "rewards_per_prompt";
    let py = obj.py();
    if let Ok(t) = obj.cast::<PyTuple>()
        && t.len() == 3
    {
        let np = py.import("numpy")?;
        let counts = np.call_method1("asarray", (t.get_item(0)?, "int64"))?;
        let means = np.call_method1("asarray", (t.get_item(1)?, "float64"))?;
        let stds = np.call_method1("asarray", (t.get_item(2)?, "float64"))?;
        let counts: PyReadonlyArray1<i64> = counts
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{ARG}: counts must be a 1-D array")))?;
        let means: PyReadonlyArray1<f64> = means
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{ARG}: means must be a 1-D array")))?;
        let stds: PyReadonlyArray1<f64> = stds
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{ARG}: stds must be a 1-D array")))?;
        let (c, m, s) = (counts.as_array(), means.as_array(), stds.as_array());
        if c.len() != m.len() || c.len() != s.len() {
            return Err(value_err(
                ARG,
                format!(
                    "counts, means and stds differ in length ({}, {}, {})",
                    c.len(),
                    m.len(),
                    s.len()
                ),
            ));
        }
        let mut out = Vec::with_capacity(c.len());
        for q in 0..c.len() {
            let n = usize::try_from(c[q])
                .map_err(|_| value_err(ARG, format!("counts[{q}] = {} is negative", c[q])))?;
            out.push(
                PromptStats::from_moments(n, m[q], s[q])
                    .map_err(|e| value_err(ARG, format!("prompt {q}: {e}")))?,
            );
        }
        return Ok(out);
    }
    let push_all = |q: usize, rewards: &mut dyn Iterator<Item = f64>| -> PyResult<PromptStats> {
        let mut s = PromptStats::new();
        for r in rewards {
            if r.is_nan() {
                s.record_unscored();
            } else {
                s.push(r)
                    .map_err(|e| value_err(ARG, format!("prompt {q}: {e}")))?;
            }
        }
        Ok(s)
    };
    let np = py.import("numpy")?;
    if obj.hasattr("ndim")? && obj.getattr("ndim")?.extract::<usize>()? == 2 {
        let arr = np.call_method1("asarray", (obj, "float64"))?;
        let arr: PyReadonlyArray2<f64> = arr.extract()?;
        let view = arr.as_array();
        return view
            .rows()
            .into_iter()
            .enumerate()
            .map(|(q, row)| push_all(q, &mut row.iter().copied()))
            .collect();
    }
    let seq = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{ARG}: expected a sequence of per-prompt rewards, a 2-D array, or a tuple (counts, means, stds); got {}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })?;
    let mut out = Vec::new();
    for (q, item) in seq.enumerate() {
        let item = item?;
        let arr = np
            .call_method1("asarray", (&item, "float64"))
            .map_err(|e| PyTypeError::new_err(format!("{ARG}[{q}]: not numeric ({e})")))?;
        let arr = np.call_method1("atleast_1d", (arr,))?;
        let arr: PyReadonlyArray1<f64> = arr
            .extract()
            .map_err(|_| PyTypeError::new_err(format!("{ARG}[{q}]: must be 1-D")))?;
        out.push(push_all(q, &mut arr.as_array().iter().copied())?);
    }
    Ok(out)
}

#[pymethods]
impl Allocator {
    /// Any allocator of the family from a config dict (the TOML keys of xrpo-alloc's
    /// ``AllocConfig``): ``kind`` is one of ``"fixed"``, ``"xrpo"`` (default),
    /// ``"uniform_phased"``, ``"dapo_filter"``, ``"reinforce_ada"``, ``"knapsack"``; the
    /// other keys are XRPO's (``n_fixed``, ``n_base``, ``n_max``, ``phases``, ``alpha``,
    /// ``lambda``, ``clock``, ``variance``) plus ``retire_after`` and ``weight``.
    /// Unknown keys raise ``ValueError``.
    ///
    /// >>> import xrpo
    /// >>> a = xrpo.Allocator.from_config({"kind": "knapsack", "n_fixed": 8})
    /// >>> a.name
    /// 'knapsack'
    /// >>> int(a.plan(4)["budget"])
    /// 32
    #[staticmethod]
    fn from_config(config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let config: AllocConfig = json::from_py("config", config)?;
        guard(|| {
            let a = config.build().map_err(|e| value_err("config", e))?;
            Ok(Allocator {
                inner: Mutex::new(a),
            })
        })
    }

    /// The phase plan of one step over ``num_prompts`` prompts, as a dict: ``counts``
    /// (phase-1 rollouts per prompt, int64 array), ``phase_budgets`` (rollouts per phase,
    /// phase 1 first; they sum to ``budget``), ``budget``, ``n_base``, ``n_max``, ``phases``.
    ///
    /// >>> import xrpo
    /// >>> p = xrpo.XrpoAllocator(n_fixed=16).plan(3)
    /// >>> p["counts"].tolist(), p["phase_budgets"], p["budget"]
    /// ([4, 4, 4], [12, 18, 18], 48)
    fn plan<'py>(&self, py: Python<'py>, num_prompts: Count) -> PyResult<Bound<'py, PyDict>> {
        guard(|| {
            let num_prompts = num_prompts.0;
            let plan = self.with(|a| a.plan())?;
            let budgets = plan
                .phase_budgets(num_prompts)
                .map_err(|e| value_err("num_prompts", e))?;
            let d = PyDict::new(py);
            let counts: Vec<i64> = plan
                .base_allocation(num_prompts)
                .into_iter()
                .map(|c| c as i64)
                .collect();
            d.set_item("counts", counts.into_pyarray(py))?;
            d.set_item("phase_budgets", budgets)?;
            d.set_item("budget", plan.step_budget(num_prompts))?;
            d.set_item("n_base", plan.n_base())?;
            d.set_item("n_max", plan.n_max())?;
            d.set_item("phases", plan.phases())?;
            Ok(d)
        })
    }

    /// Extra rollouts per prompt for one phase with ``budget`` rollouts to hand out.
    ///
    /// ``rewards_per_prompt`` is what each prompt has so far this step: a sequence of
    /// per-prompt reward sequences (NaN or None = generated but unscored), a 2-D float
    /// array ``[prompts, n]``, or a tuple ``(counts, means, stds)`` of 1-D arrays (sample
    /// std, Bessel-corrected). Returns an int64 array, one entry per prompt, summing to
    /// ``budget`` unless the per-prompt cap ``n_max`` binds. Does not change state.
    ///
    /// >>> import numpy as np, xrpo
    /// >>> a = xrpo.XrpoAllocator(n_fixed=16)
    /// >>> extra = a.allocate([[0, 0, 0, 0], [1, 0, 0, 1], [1, 1, 1, 0]], 18)
    /// >>> int(extra.sum()), bool(extra[1] > extra[0])
    /// (18, True)
    /// >>> a.allocate((np.array([4, 4]), np.array([0.5, 1.0]), np.array([0.58, 0.0])), 8).tolist()
    /// [8, 0]
    fn allocate<'py>(
        &self,
        py: Python<'py>,
        rewards_per_prompt: &Bound<'py, PyAny>,
        budget: Count,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        guard(|| {
            let budget = budget.0;
            let stats = parse_stats(rewards_per_prompt)?;
            let mut g = self.inner.try_lock().map_err(|_| {
                PyRuntimeError::new_err("the allocator is busy (used from another thread)")
            })?;
            let a: &mut Inner = &mut g;
            let grants = detached(py, move || {
                a.allocate(&stats, budget)
                    .map_err(|e| format!("rewards_per_prompt: {e}"))
            })?;
            Ok(grants
                .into_iter()
                .map(|c| c as i64)
                .collect::<Vec<_>>()
                .into_pyarray(py))
        })
    }

    /// Marks the end of a training step (advances cross-step state). :func:`run_step`
    /// calls it for you; call it yourself after driving :meth:`allocate` by hand.
    ///
    /// >>> import xrpo
    /// >>> a = xrpo.XrpoAllocator(); a.finish_step(); a.state()["completed_steps"]
    /// 1
    fn finish_step(&self) -> PyResult<()> {
        guard(|| self.with(|a| a.finish_step()))
    }

    /// The checkpoint state as a JSON-ready dict.
    ///
    /// >>> import xrpo
    /// >>> sorted(xrpo.FixedAllocator(8).state())
    /// ['allocator', 'completed_steps', 'version']
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let s = self.with(|a| a.state())?;
            json::to_py(py, &s)
        })
    }

    /// Restores a state written by :meth:`state` (raises ValueError for another
    /// allocator's or a newer state).
    ///
    /// >>> import xrpo
    /// >>> a = xrpo.XrpoAllocator(); a.finish_step()
    /// >>> b = xrpo.XrpoAllocator(); b.restore(a.state()); b.state()["completed_steps"]
    /// 1
    fn restore(&self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let s: AllocatorState = json::from_py("state", state)?;
            self.with(|a| a.restore(&s))?
                .map_err(|e| value_err("state", e))
        })
    }

    /// The allocator's stable name (``"xrpo"`` or ``"fixed"``).
    #[getter]
    fn name(&self) -> PyResult<String> {
        guard(|| self.with(|a| a.name().to_owned()))
    }

    /// Rollouts every prompt gets in phase 1.
    #[getter]
    fn n_base(&self) -> PyResult<usize> {
        guard(|| self.with(|a| a.plan().n_base()))
    }

    /// Cap on one prompt's rollouts within a step.
    #[getter]
    fn n_max(&self) -> PyResult<usize> {
        guard(|| self.with(|a| a.plan().n_max()))
    }

    /// Number of phases per step (phase 1 included).
    #[getter]
    fn phases(&self) -> PyResult<usize> {
        guard(|| self.with(|a| a.plan().phases()))
    }

    fn __repr__(&self) -> PyResult<String> {
        guard(|| {
            self.with(|a| {
                let p = a.plan();
                format!(
                    "<xrpo allocator {:?}: n_base={}, n_max={}, phases={}>",
                    a.name(),
                    p.n_base(),
                    p.n_max(),
                    p.phases()
                )
            })
        })
    }
}

/// XRPO's hierarchical rollout allocator (spec §1): ``n_base`` rollouts per prompt in
/// phase 1, then the rest of the step budget ``B = n_fixed · prompts`` one rollout at a
/// time by priority ``Π_q = Δ̂_q + φ_q`` (t-interval shrinkage plus an exploration bonus
/// of weight ``lam``), capped at ``n_max`` per prompt.
///
/// Arguments: ``n_fixed`` (GRPO's group size; sets the budget), ``alpha`` (t-interval
/// significance, in (0, 1)), ``lam`` (exploration weight λ ≥ 0), ``phases`` (≥ 2),
/// ``n_base`` (default ``max(2, n_fixed // 4)``), ``n_max`` (default ``4 · n_fixed``),
/// ``clock`` (``"step_rollouts"`` or ``"training_steps"``: what T counts in φ),
/// ``variance`` (``"sample"``: the paper's sample std; ``"beta_posterior"``: a Jeffreys
/// Beta posterior's std for 0/1 rewards, so agreeing rewards are not "certain").
///
/// >>> import xrpo
/// >>> a = xrpo.XrpoAllocator(n_fixed=8, phases=3)
/// >>> a.n_base, a.n_max, a.phases
/// (2, 32, 3)
/// >>> xrpo.XrpoAllocator(alpha=2.0)
/// Traceback (most recent call last):
/// ...
/// ValueError: alpha: invalid config field `alpha` = 2: must lie in [1e-12, 1) (smaller values leave the t quantile without digits)
#[pyclass(module = "xrpo._xrpo", name = "XrpoAllocator", extends = Allocator)]
pub struct PyXrpoAllocator;

#[pymethods]
impl PyXrpoAllocator {
    #[new]
    // One parameter per Python keyword argument: the signature is the Python API.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (n_fixed=Count(16), alpha=0.05, lam=0.05, phases=Count(3), n_base=None, n_max=None, clock="step_rollouts", variance="sample"))]
    fn new(
        n_fixed: Count,
        alpha: f64,
        lam: f64,
        phases: Count,
        n_base: Option<Count>,
        n_max: Option<Count>,
        clock: &str,
        variance: &str,
    ) -> PyResult<PyClassInitializer<Self>> {
        guard(|| {
            let (n_fixed, phases) = (n_fixed.0, phases.0);
            let (n_base, n_max) = (n_base.map(|c| c.0), n_max.map(|c| c.0));
            let clock = match clock {
                "step_rollouts" => ExplorationClock::StepRollouts,
                "training_steps" => ExplorationClock::TrainingSteps,
                other => {
                    return Err(value_err(
                        "clock",
                        format!("{other:?} is not one of 'step_rollouts', 'training_steps'"),
                    ));
                }
            };
            let variance = match variance {
                "sample" => VarianceEstimate::Sample,
                "beta_posterior" => VarianceEstimate::BetaPosterior,
                other => {
                    return Err(value_err(
                        "variance",
                        format!("{other:?} is not one of 'sample', 'beta_posterior'"),
                    ));
                }
            };
            let config = XrpoConfig {
                n_fixed,
                n_base,
                n_max,
                phases,
                alpha,
                lambda: lam,
                clock,
                variance,
            };
            let a = XrpoAllocator::new(config).map_err(|e| {
                let field = match &e {
                    xrpo_alloc::Error::InvalidConfig { field, .. } => match *field {
                        "lambda" => "lam",
                        f => f,
                    },
                    _ => "config",
                };
                value_err(field, e)
            })?;
            Ok(PyClassInitializer::from(Allocator {
                inner: Mutex::new(Box::new(a)),
            })
            .add_subclass(PyXrpoAllocator))
        })
    }
}

/// GRPO's baseline allocation: ``n`` rollouts for every prompt, in one phase.
///
/// >>> import xrpo
/// >>> xrpo.FixedAllocator(8).plan(2)["counts"].tolist()
/// [8, 8]
#[pyclass(module = "xrpo._xrpo", name = "FixedAllocator", extends = Allocator)]
pub struct PyFixedAllocator;

#[pymethods]
impl PyFixedAllocator {
    #[new]
    fn new(n: Count) -> PyResult<PyClassInitializer<Self>> {
        guard(|| {
            let n = n.0;
            let a = FixedAllocator::new(n).map_err(|e| value_err("n", e))?;
            Ok(PyClassInitializer::from(Allocator {
                inner: Mutex::new(Box::new(a)),
            })
            .add_subclass(PyFixedAllocator))
        })
    }
}

/// Reads one phase's results: per prompt, a sequence of exactly `counts[q]` rewards
/// (float; NaN or None = unscored).
fn record_phase(
    step: &mut StepRun,
    counts: &[usize],
    results: &Bound<'_, PyAny>,
    phase: usize,
) -> PyResult<()> {
    const ARG: &str = "generate";
    let items: Vec<Bound<'_, PyAny>> = results
        .try_iter()
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "{ARG}: phase {phase} must return a sequence of per-prompt reward sequences"
            ))
        })?
        .collect::<PyResult<_>>()?;
    if items.len() != counts.len() {
        return Err(value_err(
            ARG,
            format!(
                "phase {phase} returned {} prompts, expected {}",
                items.len(),
                counts.len()
            ),
        ));
    }
    for (q, item) in items.iter().enumerate() {
        let rewards: Vec<Option<f64>> = item.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "{ARG}: phase {phase}, prompt {q}: expected a sequence of floats or None"
            ))
        })?;
        if rewards.len() != counts[q] {
            return Err(value_err(
                ARG,
                format!(
                    "phase {phase}, prompt {q}: {} rewards returned for {} rollouts requested",
                    rewards.len(),
                    counts[q]
                ),
            ));
        }
        for r in rewards {
            let r = r.filter(|x| !x.is_nan());
            step.record(q, r)
                .map_err(|e| value_err(ARG, format!("phase {phase}: {e}")))?;
        }
    }
    Ok(())
}

/// Runs a whole phased step: for each phase calls ``generate(phase, counts)``, where
/// ``phase`` is 1-based and ``counts`` an int64 array of rollouts to generate per prompt;
/// it must return, per prompt, exactly ``counts[q]`` rewards (NaN or None = unscored).
/// Calls ``allocator.finish_step()`` at the end. Returns a dict: ``rollouts`` (int64 per
/// prompt over the step), ``phases`` (each phase's counts), ``means``, ``stds`` (NaN
/// where fewer than two scored rewards), ``scored`` (scored rollouts per prompt).
///
/// >>> import xrpo
/// >>> out = xrpo.run_step(xrpo.XrpoAllocator(n_fixed=8), 3,
/// ...     lambda phase, counts: [[float(q == 1 and i % 2) for i in range(k)] for q, k in enumerate(counts)])
/// >>> int(out["rollouts"].sum()), len(out["phases"])
/// (24, 3)
#[pyfunction]
pub fn run_step<'py>(
    py: Python<'py>,
    allocator: &Bound<'py, Allocator>,
    num_prompts: Count,
    generate: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    guard(|| {
        let num_prompts = num_prompts.0;
        if !generate.is_callable() {
            return Err(PyTypeError::new_err(
                "generate: must be callable as generate(phase, counts)",
            ));
        }
        let alloc = allocator.borrow();
        let plan = alloc.with(|a| a.plan())?;
        let mut step = StepRun::new(plan, num_prompts).map_err(|e| value_err("num_prompts", e))?;
        let phases = PyList::empty(py);
        loop {
            let next = alloc
                .with(|a| step.next_phase(a.as_mut()))?
                .map_err(|e| value_err("generate", e))?;
            let Some(phase) = next else { break };
            let counts: Vec<i64> = phase.rollouts.iter().map(|&c| c as i64).collect();
            let counts = counts.into_pyarray(py);
            phases.append(&counts)?;
            let results = generate.call1((phase.number, counts))?;
            record_phase(&mut step, &phase.rollouts, &results, phase.number)?;
        }
        let d = PyDict::new(py);
        let stats = step.stats();
        let rollouts: Vec<i64> = step.requested().iter().map(|&c| c as i64).collect();
        d.set_item("rollouts", rollouts.into_pyarray(py))?;
        d.set_item("phases", phases)?;
        let means: Vec<f64> = stats
            .iter()
            .map(|s| if s.count() == 0 { f64::NAN } else { s.mean() })
            .collect();
        let stds: Vec<f64> = stats
            .iter()
            .map(|s| s.sample_std().unwrap_or(f64::NAN))
            .collect();
        let scored: Vec<i64> = stats.iter().map(|s| s.count() as i64).collect();
        d.set_item("means", means.into_pyarray(py))?;
        d.set_item("stds", stds.into_pyarray(py))?;
        d.set_item("scored", scored.into_pyarray(py))?;
        Ok(d)
    })
}
