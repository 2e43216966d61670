//! Group-relative advantages (`xrpo-advantage`) over flat numpy arrays with group ids.
//!
//! The path of a call: borrow the numpy buffers; find the groups in one pass over the ids
//! (sorted or contiguous ids, the layout TRL and verl use, give the offsets directly;
//! other layouts get a stable permutation, by counting sort for small integer ids and by
//! hashing otherwise); hand the crate a borrowed [`FlatBatch`] (rewards f32, NaN =
//! missing) per thread, over whole groups; write into the numpy output in place.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::ops::Range;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use xrpo_advantage::{
    AdvantageShaper, DrGrpo, Error, FlatBatch, Grpo, NoveltySharpening, Rloo, ShapingStats,
    StdScale,
};

use crate::errors::{Count, detached, guard, value_err};

/// A borrowed (or, for a strided array, copied) 1-D float array.
enum Floats<'a> {
    F32(Cow<'a, [f32]>),
    F64(Cow<'a, [f64]>),
}

impl Floats<'_> {
    /// The value at row `i` as given (for error messages).
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

    /// The values as f32 in group-contiguous order: borrowed when they already are (f32,
    /// contiguous, no permutation), else converted and/or gathered in one pass.
    fn f32_in_order(&self, order: Option<&[usize]>) -> Cow<'_, [f32]> {
        match (self, order) {
            (Floats::F32(a), None) => Cow::Borrowed(a.as_ref()),
            (Floats::F32(a), Some(o)) => Cow::Owned(o.iter().map(|&i| a[i]).collect()),
            // NaN stays NaN (missing); a value beyond f32's range becomes ±∞ and is
            // reported by the crate's check.
            (Floats::F64(a), None) => Cow::Owned(a.iter().map(|&x| x as f32).collect()),
            (Floats::F64(a), Some(o)) => Cow::Owned(o.iter().map(|&i| a[i] as f32).collect()),
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

/// The three integer dtypes group ids may hold; the borrow keeps the array readable.
enum IdArray<'py> {
    I64(PyReadonlyArray1<'py, i64>),
    I32(PyReadonlyArray1<'py, i32>),
    U32(PyReadonlyArray1<'py, u32>),
}

impl<'py> IdArray<'py> {
    fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<PyReadonlyArray1<i64>>() {
            return Ok(IdArray::I64(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArray1<i32>>() {
            return Ok(IdArray::I32(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArray1<u32>>() {
            return Ok(IdArray::U32(a));
        }
        Err(PyTypeError::new_err(
            "group_ids: expected a 1-D int32, uint32 or int64 numpy array",
        ))
    }

    fn ids(&self) -> Ids<'_> {
        match self {
            IdArray::I64(a) => Ids::I64(slice_of(a)),
            IdArray::I32(a) => Ids::I32(slice_of(a)),
            IdArray::U32(a) => Ids::U32(slice_of(a)),
        }
    }
}

/// Borrowed group ids.
enum Ids<'a> {
    I64(Cow<'a, [i64]>),
    I32(Cow<'a, [i32]>),
    U32(Cow<'a, [u32]>),
}

impl Ids<'_> {
    fn len(&self) -> usize {
        match self {
            Ids::I64(a) => a.len(),
            Ids::I32(a) => a.len(),
            Ids::U32(a) => a.len(),
        }
    }

    fn grouping(&self) -> Grouping {
        match self {
            Ids::I64(a) => group_rows(a),
            Ids::I32(a) => group_rows(a),
            Ids::U32(a) => group_rows(a),
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

/// An integer group id.
trait Id: Copy + Ord + Hash {
    fn wide(self) -> i128;
}

impl Id for i64 {
    fn wide(self) -> i128 {
        i128::from(self)
    }
}

impl Id for i32 {
    fn wide(self) -> i128 {
        i128::from(self)
    }
}

impl Id for u32 {
    fn wide(self) -> i128 {
        i128::from(self)
    }
}

/// How rows map onto contiguous groups.
struct Grouping {
    /// Group `g` is positions `offsets[g]..offsets[g + 1]` of the group-contiguous order.
    offsets: Vec<usize>,
    /// `order[p]`: the input row at position `p` of the group-contiguous order (None =
    /// identity: rows already come group by group).
    order: Option<Vec<usize>>,
}

/// Rows per block of the run scan in [`group_rows`].
const SCAN_BLOCK: usize = 1024;

/// Integer ids spanning at most this many values per row (plus a constant) are grouped
/// by counting sort (one counter per value) instead of hashing.
const DENSE_SPAN_PER_ROW: i128 = 4;

/// The groups of `ids`: offsets straight from the runs when every group's rows are
/// adjacent, else a stable permutation ([`permuted`]).
fn group_rows<T: Id>(ids: &[T]) -> Grouping {
    // One pass over the runs of equal ids gives the offsets. Strictly increasing run ids
    // (sorted input, the usual layout) are distinct by construction; otherwise the runs
    // are checked for repeats before the offsets are trusted.
    let n = ids.len();
    let mut offsets = Vec::with_capacity(n / 4 + 2);
    offsets.push(0);
    if n == 0 {
        return Grouping {
            offsets,
            order: None,
        };
    }
    // Branch-free: every row index is written to `starts`, the cursor advances only at a
    // run start; runs are increasing iff no id is below the one before it.
    let mut increasing = true;
    let mut starts = [0usize; SCAN_BLOCK];
    for block in (1..n).step_by(SCAN_BLOCK) {
        let end = (block + SCAN_BLOCK).min(n);
        let mut k = 0;
        for (i, w) in (block..end).zip(ids[block - 1..end].windows(2)) {
            starts[k] = i;
            k += usize::from(w[1] != w[0]);
            increasing &= w[0] <= w[1];
        }
        offsets.extend_from_slice(&starts[..k]);
    }
    offsets.push(n);
    if increasing || runs_distinct(ids, &offsets) {
        return Grouping {
            offsets,
            order: None,
        };
    }
    permuted(ids)
}

/// `(min, number of values from min to max)` of the ids, or None when they span too many
/// values for one counter each.
fn dense_span<T: Id>(ids: impl Iterator<Item = T>, rows: usize) -> Option<(i128, usize)> {
    let (mut lo, mut hi) = (i128::MAX, i128::MIN);
    for id in ids {
        lo = lo.min(id.wide());
        hi = hi.max(id.wide());
    }
    if lo > hi {
        return Some((0, 0)); // no ids
    }
    let span = hi - lo + 1; // ids are at most 64-bit: no overflow in i128
    (span <= DENSE_SPAN_PER_ROW * rows as i128 + 1024).then_some((lo, span as usize))
}

/// Whether every run (one per group in `offsets`) has its own id.
fn runs_distinct<T: Id>(ids: &[T], offsets: &[usize]) -> bool {
    let heads = || offsets[..offsets.len() - 1].iter().map(|&o| ids[o]);
    match dense_span(heads(), offsets.len()) {
        Some((lo, span)) => {
            let mut seen = vec![false; span];
            heads().all(|id| !std::mem::replace(&mut seen[(id.wide() - lo) as usize], true))
        }
        None => {
            let mut seen = HashSet::with_capacity(offsets.len());
            heads().all(|id| seen.insert(id))
        }
    }
}

/// The general path: a stable permutation that makes groups contiguous (rows keep their
/// input order within a group). Small integer ids: counting sort over the id values
/// (groups in increasing id); others: a hash to dense indices in order of first
/// appearance, then the same counting sort.
fn permuted<T: Id>(ids: &[T]) -> Grouping {
    match dense_span(ids.iter().copied(), ids.len()) {
        Some((lo, span)) => counting_sort(ids.iter().map(|id| (id.wide() - lo) as usize), span),
        None => {
            let mut dense: HashMap<T, usize> = HashMap::new();
            let keys: Vec<usize> = ids
                .iter()
                .map(|&id| {
                    let next = dense.len();
                    *dense.entry(id).or_insert(next)
                })
                .collect();
            counting_sort(keys.iter().copied(), dense.len())
        }
    }
}

/// Stable counting sort of rows by `keys` (each `< span`); empty keys make no group.
fn counting_sort(keys: impl Iterator<Item = usize> + Clone, span: usize) -> Grouping {
    let mut next = vec![0usize; span];
    for k in keys.clone() {
        next[k] += 1;
    }
    // Counts → first position of each key; offsets over the keys present.
    let mut offsets = vec![0];
    let mut acc = 0;
    for c in &mut next {
        if *c > 0 {
            let count = *c;
            *c = acc;
            acc += count;
            offsets.push(acc);
        }
    }
    let mut order = vec![0; acc];
    for (row, k) in keys.enumerate() {
        order[next[k]] = row;
        next[k] += 1;
    }
    Grouping {
        offsets,
        order: Some(order),
    }
}

/// Everything one call shapes, in group-contiguous order.
struct Inputs<'a> {
    rewards: &'a [f32],
    logp: Option<&'a [f32]>,
    lens: Option<&'a [u32]>,
    offsets: &'a [usize],
}

/// Splits the groups of `offsets` into at most `parts` runs of whole groups with about
/// equal rows; returns the group index where each run starts, then the number of groups.
fn split_groups(offsets: &[usize], parts: usize) -> Vec<usize> {
    let groups = offsets.len() - 1;
    let rows = offsets[groups];
    let mut cuts = vec![0];
    for k in 1..parts {
        // First group starting at or after k/parts of the rows.
        let g = offsets.partition_point(|&o| o < rows * k / parts);
        if g > cuts[cuts.len() - 1] && g < groups {
            cuts.push(g);
        }
    }
    cuts.push(groups);
    cuts
}

/// Rows per worker thread below which one thread does the whole call.
const ROWS_PER_THREAD: usize = 1 << 16;

/// A crate error and the response it names, so that the message can name the caller's row.
struct Located {
    error: Error,
    /// Position (group-contiguous order) of the offending response, when it names one.
    position: Option<usize>,
}

/// Shapes the groups `groups` into `out`, which holds exactly their rows.
fn shape_part(
    inputs: &Inputs<'_>,
    shaper: &(dyn AdvantageShaper + Sync),
    groups: Range<usize>,
    out: &mut [f32],
) -> Result<ShapingStats, Located> {
    let o = inputs.offsets;
    let rows = o[groups.start]..o[groups.end];
    let local: Cow<'_, [usize]> = if groups.start == 0 {
        Cow::Borrowed(&o[..=groups.end])
    } else {
        Cow::Owned(
            o[groups.start..=groups.end]
                .iter()
                .map(|&x| x - rows.start)
                .collect(),
        )
    };
    let shaped = (|| {
        let mut b = FlatBatch::new(&inputs.rewards[rows.clone()], &local)?;
        if let Some(l) = inputs.logp {
            b = b.with_seq_logprob(&l[rows.clone()])?;
        }
        if let Some(l) = inputs.lens {
            b = b.with_lengths(&l[rows.clone()])?;
        }
        shaper.shape_flat(&b, out)
    })();
    shaped.map_err(|error| {
        let position = match &error {
            Error::NonFiniteReward { group, index, .. }
            | Error::NonFiniteLogprob { group, index, .. } => Some(o[groups.start + group] + index),
            _ => None,
        };
        Located { error, position }
    })
}

/// Shapes every group into `out` (group-contiguous order), on up to `threads` threads
/// over disjoint runs of whole groups. Batch-wide std needs every group, so it runs on one.
fn shape_all(
    inputs: &Inputs<'_>,
    shaper: &(dyn AdvantageShaper + Sync),
    one_batch: bool,
    threads: usize,
    out: &mut [f32],
) -> Result<ShapingStats, Located> {
    let groups = inputs.offsets.len() - 1;
    let threads = if one_batch {
        1
    } else {
        threads.min(out.len() / ROWS_PER_THREAD).max(1)
    };
    if threads == 1 || groups < 2 {
        return shape_part(inputs, shaper, 0..groups, out);
    }
    let cuts = split_groups(inputs.offsets, threads);
    let results: Vec<Result<ShapingStats, Located>> = std::thread::scope(|scope| {
        let mut rest = out;
        let mut handles = Vec::with_capacity(cuts.len());
        for w in cuts.windows(2) {
            let rows = inputs.offsets[w[1]] - inputs.offsets[w[0]];
            let (mine, tail) = rest.split_at_mut(rows);
            rest = tail;
            let part = w[0]..w[1];
            handles.push(scope.spawn(move || shape_part(inputs, shaper, part, mine)));
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

/// The message of a shaping error, naming the input row and its value as given.
fn message(
    e: &Located,
    order: Option<&[usize]>,
    rewards: &Floats<'_>,
    logp: Option<&Floats<'_>>,
) -> String {
    let row = e.position.map(|p| order.map_or(p, |o| o[p]));
    match (&e.error, row) {
        (Error::NonFiniteReward { .. }, Some(i)) => format!(
            "rewards: rewards[{i}] = {:?} is not a finite float32 (use NaN for a missing reward)",
            rewards.get(i)
        ),
        (Error::NonFiniteLogprob { .. }, Some(i)) => format!(
            "seq_logprobs: seq_logprobs[{i}] = {:?} is not a finite float32",
            logp.map_or(f64::NAN, |l| l.get(i))
        ),
        (other, _) => other.to_string(),
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
/// ``threads``: worker threads for large batches (default: every core). The numpy buffers
/// are read in place, the GIL is released while shaping, and the result is written straight
/// into the returned array. Ids laid out group by group (sorted or contiguous, as TRL and
/// verl do) are the fast path; scattered ids cost a stable permutation of the rows.
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
        // int64/int32/uint32 ids are borrowed from numpy, not copied.
        let ids = IdArray::extract(group_ids)?;
        let ids = ids.ids();
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
        let one_batch = scale == StdScale::Batch;
        // The output is allocated once by numpy and written in place.
        let adv = PyArray1::<f32>::zeros(py, n, false);
        let mut adv_rw = adv.readwrite();
        let out = adv_rw
            .as_slice_mut()
            .map_err(|e| value_err("advantages", e))?;
        // Everything below reads the numpy buffers in place, without the GIL.
        let stats = detached(py, move || {
            let grouping = ids.grouping();
            let order = grouping.order.as_deref();
            let r = rewards.f32_in_order(order);
            let s = logp.as_ref().map(|l| l.f32_in_order(order));
            let lens = match (lens, order) {
                (Some(l), Some(o)) => Some(o.iter().map(|&i| l[i]).collect()),
                (l, _) => l,
            };
            let inputs = Inputs {
                rewards: &r,
                logp: s.as_deref(),
                lens: lens.as_deref(),
                offsets: &grouping.offsets,
            };
            let fail = |e: Located| message(&e, order, &rewards, logp.as_ref());
            match order {
                None => shape_all(&inputs, shaper.as_ref(), one_batch, threads, out).map_err(fail),
                Some(order) => {
                    let mut grouped = vec![0.0f32; n];
                    let stats =
                        shape_all(&inputs, shaper.as_ref(), one_batch, threads, &mut grouped)
                            .map_err(fail)?;
                    for (&p, a) in order.iter().zip(grouped) {
                        out[p] = a;
                    }
                    Ok(stats)
                }
            }
        })?;
        drop(adv_rw);
        Ok((adv, stats_dict(py, &stats)?))
    })
}
