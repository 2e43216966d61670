//! Exemplar seeding (`xrpo-seed`): the lexical exemplar bank as `xrpo.ExemplarSeeder`.

use std::sync::Mutex;

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use xrpo_seed::{
    BankState, ExemplarBank, ExemplarSeeder, PromptId, Provenance, RecordOutcome, Refusal,
    SeedConfig, SeededPrompt,
};

use crate::errors::{Count, detached, guard, value_err};
use crate::json;

/// A prompt id from a `str` or an `int`.
fn prompt_id(obj: &Bound<'_, PyAny>) -> PyResult<PromptId> {
    if let Ok(s) = obj.extract::<String>() {
        return Ok(PromptId(s));
    }
    if let Ok(n) = obj.extract::<i128>() {
        return Ok(PromptId(n.to_string()));
    }
    Err(PyTypeError::new_err(format!(
        "prompt_id: expected str or int, got {}",
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    )))
}

fn outcome_name(o: &RecordOutcome) -> &'static str {
    match o {
        RecordOutcome::Inserted { .. } => "inserted",
        RecordOutcome::Replaced => "replaced",
        RecordOutcome::KeptExisting => "kept_existing",
        RecordOutcome::Refused(Refusal::BlockedId) => "refused_blocked_id",
        RecordOutcome::Refused(Refusal::BlockedText) => "refused_blocked_text",
        RecordOutcome::Refused(Refusal::FullOfPinned) => "refused_full",
        RecordOutcome::Refused(_) => "refused",
        _ => "unknown",
    }
}

fn seeded_dict<'py>(py: Python<'py>, s: &SeededPrompt) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("text", &s.text)?;
    let messages = PyList::empty(py);
    for m in &s.messages {
        let md = PyDict::new(py);
        md.set_item("role", &m.role)?;
        md.set_item("content", &m.content)?;
        messages.append(md)?;
    }
    d.set_item("messages", messages)?;
    let ex = PyList::empty(py);
    for e in &s.exemplars {
        let ed = PyDict::new(py);
        ed.set_item("id", &e.id.0)?;
        ed.set_item("similarity", e.similarity)?;
        ed.set_item("truncated", e.truncated)?;
        ed.set_item("provenance", json::to_py(py, &e.provenance)?)?;
        ex.append(ed)?;
    }
    d.set_item("exemplars", ex)?;
    Ok(d)
}

/// XRPO's in-context seeding (spec §2): an exemplar bank of verified solutions with
/// lexical (character n-gram TF-IDF) retrieval. :meth:`record` every verified-correct
/// response; :meth:`seed` a prompt whose rollouts so far are all wrong to get it back with
/// up to ``k`` similar solved exemplars prepended (``None``: nothing similar enough).
///
/// Arguments: ``k`` (exemplars per seeded prompt), ``similarity_threshold`` (cosine in
/// [0, 1]), ``capacity`` (bank entries), ``solution_cap`` (characters per exemplar
/// solution, or a dict like ``{"chars": 512}``), and any other ``SeedConfig`` field as a
/// keyword (``evict_curated``, ``template={"prefix": ..., "target_solution_cue": False}``,
/// ``lexical={...}``, ``weighting``). Unknown keywords raise ValueError.
///
/// >>> import xrpo
/// >>> s = xrpo.ExemplarSeeder(k=1)
/// >>> s.record("a", "Tom has 3 apples and buys 4 more. How many apples?", "3 + 4 = 7")
/// 'inserted'
/// >>> print(s.seed("c", "Ann has 5 apples and buys 2 more. How many apples?"))
/// Problem: Tom has 3 apples and buys 4 more. How many apples?
/// Solution: 3 + 4 = 7
/// <BLANKLINE>
/// Problem: Ann has 5 apples and buys 2 more. How many apples?
/// Solution:
/// >>> s.seed("d", "Translate 'bonjour' into English.") is None
/// True
#[pyclass(module = "xrpo._xrpo", name = "ExemplarSeeder")]
pub struct PyExemplarSeeder {
    bank: Mutex<ExemplarBank>,
}

impl PyExemplarSeeder {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, ExemplarBank>> {
        self.bank
            .try_lock()
            .map_err(|_| PyRuntimeError::new_err("the seeder is busy (used from another thread)"))
    }

    fn with<T>(&self, f: impl FnOnce(&mut ExemplarBank) -> T) -> PyResult<T> {
        let mut g = self.lock()?;
        Ok(f(&mut g))
    }
}

#[pymethods]
impl PyExemplarSeeder {
    #[new]
    #[pyo3(signature = (k=Count(2), similarity_threshold=0.1, capacity=Count(65_536), solution_cap=None, **config))]
    fn new(
        py: Python<'_>,
        k: Count,
        similarity_threshold: f32,
        capacity: Count,
        solution_cap: Option<&Bound<'_, PyAny>>,
        config: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        guard(|| {
            let d = json::kwargs_dict(py, config);
            d.set_item("k", k.0)?;
            d.set_item("similarity_threshold", similarity_threshold)?;
            d.set_item("capacity", capacity.0)?;
            if let Some(cap) = solution_cap {
                if let Ok(n) = cap.extract::<usize>() {
                    let c = PyDict::new(py);
                    c.set_item("chars", n)?;
                    d.set_item("solution_cap", c)?;
                } else {
                    d.set_item("solution_cap", cap)?;
                }
            }
            let cfg: SeedConfig = json::from_py("config", d.as_any())?;
            let bank = ExemplarBank::lexical(cfg).map_err(|e| value_err("config", e))?;
            Ok(Self {
                bank: Mutex::new(bank),
            })
        })
    }

    /// Records a verified-correct ``solution`` to ``prompt``. Returns what happened:
    /// ``"inserted"``, ``"replaced"`` (shorter solution), ``"kept_existing"``,
    /// ``"refused_blocked_id"``, ``"refused_blocked_text"`` (evaluation prompt) or
    /// ``"refused_full"``. ``step`` is kept as provenance; ``curated=True`` pre-loads a
    /// pinned exemplar (``source`` names its origin).
    ///
    /// >>> import xrpo
    /// >>> s = xrpo.ExemplarSeeder()
    /// >>> s.record(1, "What is 2 + 2?", "2 + 2 = 4", step=3), len(s)
    /// ('inserted', 1)
    #[pyo3(signature = (prompt_id, prompt, solution, *, step=0, curated=false, source=None))]
    #[allow(clippy::too_many_arguments)] // the Python signature: keyword-only extras
    fn record(
        &self,
        py: Python<'_>,
        prompt_id: &Bound<'_, PyAny>,
        prompt: String,
        solution: String,
        step: u64,
        curated: bool,
        source: Option<String>,
    ) -> PyResult<&'static str> {
        guard(|| {
            let id = self::prompt_id(prompt_id)?;
            let provenance = if curated {
                Provenance::Curated { source }
            } else {
                Provenance::Training { step }
            };
            let mut g = self.lock()?;
            let bank: &mut ExemplarBank = &mut g;
            let out = detached(py, move || {
                bank.record(&id, &prompt, &solution, provenance)
                    .map_err(|e| e.to_string())
            })?;
            Ok(outcome_name(&out))
        })
    }

    /// The seeded prompt text for ``prompt`` (up to ``k`` solved exemplars of *other*
    /// prompts, most similar first, then the prompt), or ``None`` when no exemplar clears
    /// the similarity threshold.
    ///
    /// >>> import xrpo
    /// >>> xrpo.ExemplarSeeder().seed(0, "What is 2 + 3?") is None   # empty bank
    /// True
    fn seed(
        &self,
        py: Python<'_>,
        prompt_id: &Bound<'_, PyAny>,
        prompt: String,
    ) -> PyResult<Option<String>> {
        guard(|| Ok(self.seed_inner(py, prompt_id, prompt)?.map(|s| s.text)))
    }

    /// Like :meth:`seed`, with the details: a dict with ``text``, ``messages`` (the same
    /// exemplars as few-shot chat turns) and ``exemplars`` (``id``, ``similarity``,
    /// ``truncated``, ``provenance``), or ``None``.
    ///
    /// >>> import xrpo
    /// >>> s = xrpo.ExemplarSeeder(k=1)
    /// >>> _ = s.record("a", "What is 12 + 30?", "42")
    /// >>> d = s.seed_detailed("b", "What is 12 + 31?")
    /// >>> d["exemplars"][0]["id"], [m["role"] for m in d["messages"]]
    /// ('a', ['user', 'assistant', 'user'])
    fn seed_detailed<'py>(
        &self,
        py: Python<'py>,
        prompt_id: &Bound<'py, PyAny>,
        prompt: String,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        guard(|| {
            self.seed_inner(py, prompt_id, prompt)?
                .map(|s| seeded_dict(py, &s))
                .transpose()
        })
    }

    /// Blocks prompt texts (e.g. the evaluation set, compared after normalisation): they
    /// are never recorded, and stored entries with these texts are purged. Returns how
    /// many entries were purged.
    ///
    /// >>> import xrpo
    /// >>> s = xrpo.ExemplarSeeder()
    /// >>> s.block(["What is 6 times 7?"])
    /// 0
    /// >>> s.record("e", "what is 6 times  7?", "42")
    /// 'refused_blocked_text'
    fn block(&self, texts: Vec<String>) -> PyResult<usize> {
        guard(|| self.with(|b| b.block_texts(texts)))
    }

    /// Blocks prompt ids (str or int); returns how many stored entries were purged.
    ///
    /// >>> import xrpo
    /// >>> s = xrpo.ExemplarSeeder(); _ = s.record(7, "What is 1 + 1?", "2")
    /// >>> s.block_ids([7]), len(s)
    /// (1, 0)
    fn block_ids(&self, ids: &Bound<'_, PyAny>) -> PyResult<usize> {
        guard(|| {
            let ids: Vec<PromptId> = ids
                .try_iter()
                .map_err(|_| PyTypeError::new_err("ids: expected an iterable of str or int"))?
                .map(|o| prompt_id(&o?))
                .collect::<PyResult<_>>()?;
            self.with(|b| b.block_ids(ids))
        })
    }

    /// Bank counters (``inserted``, ``replaced``, ``evicted``, ``refused_blocked``,
    /// ``seed_calls``, ``seeded``, ...) as a dict.
    ///
    /// >>> import xrpo
    /// >>> xrpo.ExemplarSeeder().stats()["seed_calls"]
    /// 0
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let s = self.with(|b| b.stats().clone())?;
            json::to_py(py, &s)
        })
    }

    /// The whole bank as a JSON-ready dict, for checkpoints (blocked texts are stored as
    /// fingerprints, never as text).
    ///
    /// >>> import json, xrpo
    /// >>> s = xrpo.ExemplarSeeder(); _ = s.record("a", "What is 2 + 2?", "4")
    /// >>> t = xrpo.ExemplarSeeder(); t.restore(json.loads(json.dumps(s.state()))); len(t)
    /// 1
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let s = self.with(|b| b.state())?;
            json::to_py(py, &s)
        })
    }

    /// Replaces this bank by a state written by :meth:`state` (its configuration included).
    fn restore(&self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(|| {
            let s: BankState = json::from_py("state", state)?;
            let bank = ExemplarBank::lexical_from_state(s).map_err(|e| value_err("state", e))?;
            self.with(|b| *b = bank)
        })
    }

    fn __len__(&self) -> PyResult<usize> {
        guard(|| self.with(|b| b.len()))
    }

    fn __repr__(&self) -> PyResult<String> {
        guard(|| {
            self.with(|b| {
                format!(
                    "<xrpo.ExemplarSeeder: {} exemplars, k={}>",
                    b.len(),
                    b.config().k
                )
            })
        })
    }
}

impl PyExemplarSeeder {
    fn seed_inner(
        &self,
        py: Python<'_>,
        prompt_id: &Bound<'_, PyAny>,
        prompt: String,
    ) -> PyResult<Option<SeededPrompt>> {
        let id = self::prompt_id(prompt_id)?;
        let mut g = self.lock()?;
        let bank: &mut ExemplarBank = &mut g;
        detached(py, move || {
            bank.seed(&id, &prompt).map_err(|e| e.to_string())
        })
    }
}
