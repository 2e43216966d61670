//! Group-relative advantages (`xrpo-advantage`) over flat numpy arrays with group ids.

use std::collections::{HashMap, HashSet};

use ndarray::Array1;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use xrpo_advantage::{
    AdvantageShaper, Batch, DrGrpo, Grpo, NoveltySharpening, Reward, Rloo, ShapingStats, StdScale,
};

use crate::errors::{detached, guard, value_err};

/// Rewards as `Option<f32>` (NaN = missing), from a float32 or float64 array.
fn read_rewards(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Reward>> {
    let check = |i: usize, r: f64| -> PyResult<Reward> {
        if r.is_nan() {
            Ok(None)
        } else if r.is_infinite() {
            Err(value_err(
                "rewards",
                format!("rewards[{i}] = {r} is not finite (use NaN for a missing reward)"),
            ))
        } else {
            Ok(Some(r as f32))
        }
    };
    if let Ok(a) = obj.extract::<PyReadonlyArray1<f32>>() {
        let a = a.as_array();
        if let Some(i) = a.iter().position(|r| r.is_infinite()) {
            return check(i, f64::from(a[i])).map(|_| Vec::new());
        }
        return Ok(a.iter().map(|&r| (!r.is_nan()).then_some(r)).collect());
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray1<f64>>() {
        let a = a.as_array();
        return a.iter().enumerate().map(|(i, &r)| check(i, r)).collect();
    }
    Err(PyTypeError::new_err(
        "rewards: expected a 1-D float32 or float64 numpy array (NaN = missing)",
    ))
}

fn read_i64(arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<i64>> {
    if let Ok(a) = obj.extract::<PyReadonlyArray1<i64>>() {
        return Ok(a.as_array().to_vec());
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray1<i32>>() {
        return Ok(a.as_array().iter().map(|&x| i64::from(x)).collect());
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray1<u32>>() {
        return Ok(a.as_array().iter().map(|&x| i64::from(x)).collect());
    }
    Err(PyTypeError::new_err(format!(
        "{arg}: expected a 1-D int32, uint32 or int64 numpy array"
    )))
}

fn read_f32(arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<f32>> {
    if let Ok(a) = obj.extract::<PyReadonlyArray1<f32>>() {
        return Ok(a.as_array().to_vec());
    }
    if let Ok(a) = obj.extract::<PyReadonlyArray1<f64>>() {
        return Ok(a.as_array().iter().map(|&x| x as f32).collect());
    }
    Err(PyTypeError::new_err(format!(
        "{arg}: expected a 1-D float32 or float64 numpy array"
    )))
}

/// How rows map onto contiguous groups: `None` when rows already come group by group.
struct Grouping {
    sizes: Vec<usize>,
    /// `slot[i]`: row `i`'s position in the group-contiguous order (None = identity).
    slot: Option<Vec<usize>>,
}

fn group_rows(ids: &[i64]) -> Grouping {
    // Fastest path: sorted ids (the usual layout) form one run each, no hashing needed.
    if ids.windows(2).all(|w| w[0] <= w[1]) {
        let mut sizes = Vec::new();
        let mut start = 0;
        for i in 1..=ids.len() {
            if i == ids.len() || ids[i] != ids[start] {
                sizes.push(i - start);
                start = i;
            }
        }
        return Grouping { sizes, slot: None };
    }
    // Fast path: each id forms one contiguous run.
    let mut sizes = Vec::new();
    let mut seen = HashSet::new();
    let mut contiguous = true;
    let mut i = 0;
    while i < ids.len() {
        let id = ids[i];
        let mut j = i + 1;
        while j < ids.len() && ids[j] == id {
            j += 1;
        }
        if !seen.insert(id) {
            contiguous = false;
            break;
        }
        sizes.push(j - i);
        i = j;
    }
    if contiguous {
        return Grouping { sizes, slot: None };
    }
    // General path: groups in order of first appearance, rows in order within a group.
    let mut dense: HashMap<i64, usize> = HashMap::new();
    let mut group_of = Vec::with_capacity(ids.len());
    let mut sizes: Vec<usize> = Vec::new();
    for &id in ids {
        let next = dense.len();
        let g = *dense.entry(id).or_insert(next);
        if g == sizes.len() {
            sizes.push(0);
        }
        sizes[g] += 1;
        group_of.push(g);
    }
    let mut cursor = Vec::with_capacity(sizes.len());
    let mut acc = 0;
    for &n in &sizes {
        cursor.push(acc);
        acc += n;
    }
    let slot = group_of
        .iter()
        .map(|&g| {
            let s = cursor[g];
            cursor[g] += 1;
            s
        })
        .collect();
    Grouping {
        sizes,
        slot: Some(slot),
    }
}

fn permute<T: Copy + Default>(values: Vec<T>, slot: &Option<Vec<usize>>) -> Vec<T> {
    match slot {
        None => values,
        Some(slot) => {
            let mut out = vec![T::default(); values.len()];
            for (i, &s) in slot.iter().enumerate() {
                out[s] = values[i];
            }
            out
        }
    }
}

fn stats_dict<'py>(py: Python<'py>, s: &ShapingStats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("groups", s.groups)?;
    d.set_item("responses", s.responses)?;
    d.set_item("missing_rewards", s.missing_rewards)?;
    d.set_item("undersized_groups", s.undersized_groups)?;
    d.set_item("zero_std_groups", s.zero_std_groups)?;
    if let Some(n) = &s.novelty {
        d.set_item("correct_responses", n.correct_responses)?;
        d.set_item("bonused_responses", n.bonused_responses)?;
        d.set_item("clipped_responses", n.clipped_responses)?;
        d.set_item("bonus_sum", n.bonus_sum)?;
    }
    let metrics = PyDict::new(py);
    for (k, v) in s.metrics() {
        metrics.set_item(k, v)?;
    }
    d.set_item("metrics", metrics)?;
    Ok(d)
}

/// Group-relative advantages, one per response (XRPO spec §3).
///
/// ``rewards``: 1-D float32/float64 array, NaN = missing (could not be verified; it gets
/// advantage 0 and is left out of its group's baseline). ``group_ids``: 1-D int array, one
/// id per response (rows of one group need not be adjacent; groups may differ in size).
/// ``seq_logprobs``: each response's mean token log-prob under the sampling policy
/// (needed for ``estimator="xrpo"``). ``lengths``: token lengths (an empty response gets no
/// novelty bonus). ``estimator``: ``"grpo"`` (``(r − mean)/(std + epsilon)``, Bessel std),
/// ``"dr_grpo"`` (``r − mean``), ``"rloo"`` (leave-one-out), ``"xrpo"`` (GRPO plus novelty
/// sharpening with ``lambda_novelty``, ``kappa_clip``). ``scale``: GRPO's std, ``"group"``,
/// ``"batch"`` or ``"none"``. A group with fewer than two scored responses gets 0.
///
/// Returns ``(advantages, stats)``: a float32 array in the input order, and a dict of
/// counts plus ``stats["metrics"]`` (``frac_reward_zero_std``, ``advantage/*``).
///
/// >>> import numpy as np, xrpo
/// >>> adv, stats = xrpo.advantages(np.array([1, 0, 1, 0, 1, 1], np.float32), np.array([0, 0, 0, 0, 1, 1]))
/// >>> [round(float(a), 3) for a in adv]
/// [0.866, -0.866, 0.866, -0.866, 0.0, 0.0]
/// >>> stats["zero_std_groups"]
/// 1
#[pyfunction]
#[pyo3(signature = (rewards, group_ids, seq_logprobs=None, *, estimator="grpo", lengths=None, scale="group", epsilon=1e-4, lambda_novelty=2.5, kappa_clip=0.5))]
#[allow(clippy::too_many_arguments)]
pub fn advantages<'py>(
    py: Python<'py>,
    rewards: &Bound<'py, PyAny>,
    group_ids: &Bound<'py, PyAny>,
    seq_logprobs: Option<&Bound<'py, PyAny>>,
    estimator: &str,
    lengths: Option<&Bound<'py, PyAny>>,
    scale: &str,
    epsilon: f64,
    lambda_novelty: f64,
    kappa_clip: f64,
) -> PyResult<(Bound<'py, PyArray1<f32>>, Bound<'py, PyDict>)> {
    guard(|| {
        let rewards = read_rewards(rewards)?;
        // int64 ids (the usual case) are borrowed from numpy, not copied.
        let ids_view = group_ids.extract::<PyReadonlyArray1<i64>>().ok();
        let ids_owned: Vec<i64>;
        let ids: &[i64] = match ids_view.as_ref().and_then(|a| a.as_slice().ok()) {
            Some(s) => s,
            None => {
                ids_owned = read_i64("group_ids", group_ids)?;
                &ids_owned
            }
        };
        let n = rewards.len();
        if ids.len() != n {
            return Err(value_err(
                "group_ids",
                format!("has {} entries but rewards has {n}", ids.len()),
            ));
        }
        let logp = seq_logprobs
            .filter(|o| !o.is_none())
            .map(|o| read_f32("seq_logprobs", o))
            .transpose()?;
        if let Some(l) = &logp {
            if l.len() != n {
                return Err(value_err(
                    "seq_logprobs",
                    format!("has {} entries but rewards has {n}", l.len()),
                ));
            }
            for (i, (&s, r)) in l.iter().zip(&rewards).enumerate() {
                if !s.is_finite() && r.is_some() {
                    return Err(value_err(
                        "seq_logprobs",
                        format!("seq_logprobs[{i}] = {s} is not finite"),
                    ));
                }
            }
        }
        let lens = lengths
            .filter(|o| !o.is_none())
            .map(|o| read_i64("lengths", o))
            .transpose()?;
        let lens: Option<Vec<u32>> = match lens {
            None => None,
            Some(l) => {
                if l.len() != n {
                    return Err(value_err(
                        "lengths",
                        format!("has {} entries but rewards has {n}", l.len()),
                    ));
                }
                Some(
                    l.iter()
                        .enumerate()
                        .map(|(i, &x)| {
                            u32::try_from(x).map_err(|_| {
                                value_err("lengths", format!("lengths[{i}] = {x} is out of range"))
                            })
                        })
                        .collect::<PyResult<_>>()?,
                )
            }
        };
        let scale = match scale {
            "group" => StdScale::Group,
            "batch" => StdScale::Batch,
            "none" => StdScale::None,
            other => {
                return Err(value_err(
                    "scale",
                    format!("{other:?} is not one of 'group', 'batch', 'none'"),
                ));
            }
        };
        let grpo = Grpo::new(scale, epsilon).map_err(|e| value_err("epsilon", e))?;
        let shaper: Box<dyn AdvantageShaper + Send + Sync> = match estimator {
            "grpo" => Box::new(grpo),
            "dr_grpo" => Box::new(DrGrpo),
            "rloo" => Box::new(Rloo),
            "xrpo" => {
                if logp.is_none() {
                    return Err(value_err(
                        "seq_logprobs",
                        "estimator='xrpo' sharpens with each response's mean token log-prob; pass seq_logprobs",
                    ));
                }
                Box::new(
                    NoveltySharpening::new(grpo, lambda_novelty, kappa_clip)
                        .map_err(|e| value_err("lambda_novelty/kappa_clip", e))?,
                )
            }
            other => {
                return Err(value_err(
                    "estimator",
                    format!("{other:?} is not one of 'grpo', 'dr_grpo', 'rloo', 'xrpo'"),
                ));
            }
        };
        let (adv, stats) = detached(py, move || {
            let grouping = group_rows(ids);
            let flat = permute(rewards, &grouping.slot);
            let mut batch = Batch::from_flat(Array1::from(flat), &grouping.sizes)
                .map_err(|e| format!("rewards: {e}"))?;
            if let Some(l) = logp {
                // A missing reward's log-prob is never read (it is out of the baseline).
                let l: Vec<f32> = l
                    .iter()
                    .map(|&s| if s.is_finite() { s } else { 0.0 })
                    .collect();
                batch = batch
                    .with_seq_logprob(Array1::from(permute(l, &grouping.slot)))
                    .map_err(|e| format!("seq_logprobs: {e}"))?;
            }
            if let Some(l) = lens {
                batch = batch
                    .with_lengths(Array1::from(permute(l, &grouping.slot)))
                    .map_err(|e| format!("lengths: {e}"))?;
            }
            let mut out = vec![0.0f32; n];
            let stats = shaper
                .shape_into(&batch, &mut out)
                .map_err(|e| e.to_string())?;
            let out = match &grouping.slot {
                None => out,
                Some(slot) => slot.iter().map(|&s| out[s]).collect(),
            };
            Ok((out, stats))
        })?;
        Ok((adv.into_pyarray(py), stats_dict(py, &stats)?))
    })
}
