//! Group-relative advantages (`xrpo-advantage`) over flat numpy arrays with group ids.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use ndarray::Array1;
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use xrpo_advantage::{
    AdvantageShaper, Batch, DrGrpo, Grpo, NoveltySharpening, Rloo, ShapingStats, StdScale,
};

use crate::errors::{Count, detached, guard, value_err};

/// A borrowed (or, for a strided array, copied) 1-D float array.
enum Floats<'a> {
    F32(Cow<'a, [f32]>),
    F64(Cow<'a, [f64]>),
}

impl Floats<'_> {
    #[inline]
    fn get(&self, i: usize) -> f64 {
        match self {
            Floats::F32(a) => f64::from(a[i]),
            Floats::F64(a) => a[i],
        }
    }

    fn len(&self) -> usize {
        match self {
            Floats::F32(a) => a.len(),
            Floats::F64(a) => a.len(),
        }
    }
}

/// Borrows a numpy array's data: contiguous arrays are read in place (no copy).
fn slice_of<'a, T: numpy::Element + Copy>(a: &'a PyReadonlyArray1<'_, T>) -> Cow<'a, [T]> {
    match a.as_slice() {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(a.as_array().to_vec()),
    }
}

/// The two float dtypes an argument may hold; the borrow keeps the array readable.
enum FloatArray<'py> {
    F32(PyReadonlyArray1<'py, f32>),
    F64(PyReadonlyArray1<'py, f64>),
}

impl<'py> FloatArray<'py> {
    fn extract(arg: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<PyReadonlyArray1<f32>>() {
            return Ok(FloatArray::F32(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArray1<f64>>() {
            return Ok(FloatArray::F64(a));
        }
        Err(PyTypeError::new_err(format!(
            "{arg}: expected a 1-D float32 or float64 numpy array{}",
            if arg == "rewards" {
                " (NaN = missing)"
            } else {
                ""
            }
        )))
    }

    fn floats(&self) -> Floats<'_> {
        match self {
            FloatArray::F32(a) => Floats::F32(slice_of(a)),
            FloatArray::F64(a) => Floats::F64(slice_of(a)),
        }
    }
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

/// How rows map onto contiguous groups.
struct Grouping {
    sizes: Vec<usize>,
    /// `order[p]`: the input row at position `p` of the group-contiguous order (None =
    /// identity: rows already come group by group).
    order: Option<Vec<usize>>,
}

fn group_rows(ids: &[i64]) -> Grouping {
    // One pass over the runs of equal ids. Strictly increasing run ids (sorted input, the
    // usual layout) are distinct by construction; otherwise runs are checked for repeats.
    let mut sizes = Vec::new();
    let mut run_ids = Vec::new();
    let mut increasing = true;
    let mut start = 0;
    for i in 1..=ids.len() {
        if i == ids.len() || ids[i] != ids[start] {
            if let Some(&last) = run_ids.last() {
                increasing &= last < ids[start];
            }
            run_ids.push(ids[start]);
            sizes.push(i - start);
            start = i;
        }
    }
    if increasing {
        return Grouping { sizes, order: None };
    }
    let mut seen = HashSet::with_capacity(run_ids.len());
    if run_ids.iter().all(|id| seen.insert(*id)) {
        return Grouping { sizes, order: None };
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
    let mut order = vec![0; ids.len()];
    for (i, &g) in group_of.iter().enumerate() {
        order[cursor[g]] = i;
        cursor[g] += 1;
    }
    Grouping {
        sizes,
        order: Some(order),
    }
}

/// Everything one call shapes, borrowed from the numpy inputs.
struct Inputs<'a> {
    rewards: Floats<'a>,
    logp: Option<Floats<'a>>,
    lens: Option<Vec<u32>>,
    order: Option<&'a [usize]>,
}

impl Inputs<'_> {
    #[inline]
    fn row(&self, p: usize) -> usize {
        self.order.map_or(p, |o| o[p])
    }

    /// The batch of positions `pos` (whole groups of sizes `sizes`), read straight from
    /// the borrowed arrays in one pass per field.
    fn batch(&self, pos: Range<usize>, sizes: &[usize]) -> Result<Batch, String> {
        let mut rewards = Vec::with_capacity(pos.len());
        for p in pos.clone() {
            let i = self.row(p);
            let r = self.rewards.get(i);
            if r.is_infinite() {
                return Err(format!(
                    "rewards: rewards[{i}] = {r} is not finite (use NaN for a missing reward)"
                ));
            }
            rewards.push((!r.is_nan()).then_some(r as f32));
        }
        let mut batch =
            Batch::from_flat(Array1::from(rewards), sizes).map_err(|e| format!("rewards: {e}"))?;
        if let Some(l) = &self.logp {
            let mut s = Vec::with_capacity(pos.len());
            for (k, p) in pos.clone().enumerate() {
                let i = self.row(p);
                let v = l.get(i) as f32;
                if v.is_finite() {
                    s.push(v);
                } else if batch.rewards_slice()[k].is_none() {
                    // A missing reward's log-prob is never read (it is out of the baseline).
                    s.push(0.0);
                } else {
                    return Err(format!(
                        "seq_logprobs: seq_logprobs[{i}] = {} is not finite",
                        l.get(i)
                    ));
                }
            }
            batch = batch
                .with_seq_logprob(Array1::from(s))
                .map_err(|e| format!("seq_logprobs: {e}"))?;
        }
        if let Some(l) = &self.lens {
            let v: Vec<u32> = pos.map(|p| l[self.row(p)]).collect();
            batch = batch
                .with_lengths(Array1::from(v))
                .map_err(|e| format!("lengths: {e}"))?;
        }
        Ok(batch)
    }
}

/// Splits `sizes` into at most `parts` runs of whole groups with about equal rows:
/// `(group range, row range)` each.
fn split_groups(sizes: &[usize], parts: usize) -> Vec<(Range<usize>, Range<usize>)> {
    let total: usize = sizes.iter().sum();
    let target = total.div_ceil(parts.max(1)).max(1);
    let mut out = Vec::with_capacity(parts);
    let (mut g0, mut p0, mut rows) = (0, 0, 0);
    for (g, &n) in sizes.iter().enumerate() {
        rows += n;
        if rows >= target * (out.len() + 1) || g + 1 == sizes.len() {
            out.push((g0..g + 1, p0..rows));
            g0 = g + 1;
            p0 = rows;
        }
    }
    out
}

/// Rows per worker thread below which one thread does the whole call.
const ROWS_PER_THREAD: usize = 1 << 16;

/// Shapes every group into `out` (group-contiguous order), on up to `threads` threads
/// over disjoint runs of whole groups. Batch-wide std needs every group, so it runs on one.
fn shape_all(
    inputs: &Inputs<'_>,
    sizes: &[usize],
    shaper: &(dyn AdvantageShaper + Sync),
    one_batch: bool,
    threads: usize,
    out: &mut [f32],
) -> Result<ShapingStats, String> {
    let threads = if one_batch {
        1
    } else {
        threads.min(out.len() / ROWS_PER_THREAD).max(1)
    };
    let run = |groups: Range<usize>, rows: Range<usize>, out: &mut [f32]| {
        let batch = inputs.batch(rows, &sizes[groups])?;
        shaper.shape_into(&batch, out).map_err(|e| e.to_string())
    };
    if threads == 1 || sizes.len() < 2 {
        return run(0..sizes.len(), 0..out.len(), out);
    }
    let parts = split_groups(sizes, threads);
    let results: Vec<Result<ShapingStats, String>> = std::thread::scope(|scope| {
        let mut rest = out;
        let mut handles = Vec::with_capacity(parts.len());
        for (groups, rows) in parts {
            let (mine, tail) = rest.split_at_mut(rows.len());
            rest = tail;
            handles.push(scope.spawn(move || run(groups, rows, mine)));
        }
        handles
            .into_iter()
            // A worker's panic continues in this thread, where `detached` reports it.
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut total: Option<ShapingStats> = None;
    for r in results {
        let s = r?;
        match &mut total {
            None => total = Some(s),
            Some(t) => t.merge(&s),
        }
    }
    Ok(total.unwrap_or_default())
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
/// ``threads``: worker threads for large batches (default: every core). The numpy buffers
/// are read in place and the GIL is released while shaping.
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
#[pyo3(signature = (rewards, group_ids, seq_logprobs=None, *, estimator="grpo", lengths=None, scale="group", epsilon=1e-4, lambda_novelty=2.5, kappa_clip=0.5, threads=None))]
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
    threads: Option<Count>,
) -> PyResult<(Bound<'py, PyArray1<f32>>, Bound<'py, PyDict>)> {
    guard(|| {
        let rewards = FloatArray::extract("rewards", rewards)?;
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
        let rewards = rewards.floats();
        let n = rewards.len();
        if ids.len() != n {
            return Err(value_err(
                "group_ids",
                format!("has {} entries but rewards has {n}", ids.len()),
            ));
        }
        let logp = seq_logprobs
            .filter(|o| !o.is_none())
            .map(|o| FloatArray::extract("seq_logprobs", o))
            .transpose()?;
        let logp = logp.as_ref().map(FloatArray::floats);
        if let Some(l) = logp.as_ref().filter(|l| l.len() != n) {
            return Err(value_err(
                "seq_logprobs",
                format!("has {} entries but rewards has {n}", l.len()),
            ));
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
        let threads = match threads {
            None => std::thread::available_parallelism().map_or(1, |t| t.get()),
            Some(Count(0)) => return Err(value_err("threads", "must be at least 1")),
            Some(Count(t)) => t,
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
        // Everything below reads the numpy buffers in place, without the GIL.
        let (adv, stats) = detached(py, move || {
            let grouping = group_rows(ids);
            let inputs = Inputs {
                rewards,
                logp,
                lens,
                order: grouping.order.as_deref(),
            };
            let one_batch = scale == StdScale::Batch;
            let mut out = vec![0.0f32; n];
            let stats = shape_all(
                &inputs,
                &grouping.sizes,
                shaper.as_ref(),
                one_batch,
                threads,
                &mut out,
            )?;
            let out = match &grouping.order {
                None => out,
                Some(order) => {
                    let mut back = vec![0.0f32; n];
                    for (p, &i) in order.iter().enumerate() {
                        back[i] = out[p];
                    }
                    back
                }
            };
            Ok((out, stats))
        })?;
        Ok((adv.into_pyarray(py), stats_dict(py, &stats)?))
    })
}
