//! Verifiers (`xrpo-reward`): `MathVerifier`, `CodeVerifier` and their `Verdict`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use xrpo_reward::code::{CodeConfig, CodeTests, CodeVerifier};
use xrpo_reward::math::{MathConfig, MathVerifier};
use xrpo_reward::{Outcome, Reference, Verdict, Verifier};

use crate::errors::{VerificationError, guard};
use crate::json;

/// The verdict of one verification: ``correct``, ``reward`` (1.0/0.0, or a fraction with
/// partial credit), ``outcome`` (``"correct"``, ``"wrong"`` or ``"unverifiable"``: the
/// response could not be judged, e.g. the gold does not parse; trainers leave it out of the
/// baseline instead of scoring it 0), ``extracted`` (the answer or code taken from the
/// response, or None), ``reason`` (``"passed"``, ``"wrong_answer"``, ``"no_answer"``,
/// ``"unparseable_gold"``, ``"runtime_error"``, ``"timeout"``, ...) and ``detail``.
///
/// >>> import xrpo
/// >>> v = xrpo.MathVerifier().verify("so $\\boxed{0.75}$", "\\frac{3}{4}")
/// >>> v.correct, v.reward, v.outcome, v.extracted, v.reason
/// (True, 1.0, 'correct', '0.75', 'passed')
/// >>> v.score   # None when unverifiable
/// 1.0
#[pyclass(module = "xrpo._xrpo", name = "Verdict", frozen)]
pub struct PyVerdict {
    inner: Verdict,
}

fn snake<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".into(),
    }
}

#[pymethods]
impl PyVerdict {
    /// Whether the response was judged right.
    #[getter]
    fn correct(&self) -> bool {
        self.inner.correct()
    }
    /// The reward (0.0 when unverifiable: use :attr:`score` to tell).
    #[getter]
    fn reward(&self) -> f32 {
        self.inner.reward
    }
    /// The reward, or None when the outcome is ``"unverifiable"`` (TRL's "no reward").
    #[getter]
    fn score(&self) -> Option<f32> {
        (self.inner.outcome != Outcome::Unverifiable).then_some(self.inner.reward)
    }
    /// ``"correct"``, ``"wrong"`` or ``"unverifiable"``.
    #[getter]
    fn outcome(&self) -> String {
        snake(&self.inner.outcome)
    }
    /// The extracted final answer (or code), if any.
    #[getter]
    fn extracted(&self) -> Option<String> {
        self.inner.extracted.clone()
    }
    /// Why, in snake_case.
    #[getter]
    fn reason(&self) -> String {
        snake(&self.inner.reason)
    }
    /// Free-text detail (e.g. a stderr tail, the sandbox isolation level).
    #[getter]
    fn detail(&self) -> String {
        self.inner.detail.clone()
    }
    /// All fields as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        guard(|| {
            let d = json::to_py(py, &self.inner)?;
            d.set_item("correct", self.inner.correct())?;
            Ok(d)
        })
    }
    fn __repr__(&self) -> String {
        let extracted = match &self.inner.extracted {
            Some(e) => format!("{e:?}"),
            None => "None".into(),
        };
        format!(
            "Verdict(outcome={:?}, reward={:?}, extracted={extracted}, reason={:?})",
            snake(&self.inner.outcome),
            self.inner.reward,
            snake(&self.inner.reason)
        )
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyVerdict>()
            .map(|o| o.get().inner == self.inner)
            .unwrap_or(false)
    }
}

fn math_reference(arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Reference> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Reference::Math {
            answer: s.to_str()?.to_owned(),
        });
    }
    if let Ok(n) = obj.extract::<i64>() {
        return Ok(Reference::Math {
            answer: n.to_string(),
        });
    }
    Err(PyTypeError::new_err(format!(
        "{arg}: a math reference is the gold answer as str (or int), got {}",
        obj.get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_default()
    )))
}

fn code_reference(arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<Reference> {
    let tests: CodeTests = if let Ok(s) = obj.cast::<PyString>() {
        serde_json::from_str(s.to_str()?).map_err(|e| {
            PyValueError::new_err(format!(
                "{arg}: not a JSON code-test object ({e}); expected {{\"tests\", \"entry_point\"[, \"prefix\"]}} or {{\"stdio\": [{{\"input\", \"output\"}}]}}"
            ))
        })?
    } else if obj.is_instance_of::<PyDict>() {
        json::from_py(arg, obj).map_err(|e| {
            PyValueError::new_err(format!(
                "{e}; expected {{\"tests\", \"entry_point\"[, \"prefix\"]}} or {{\"stdio\": [{{\"input\", \"output\"}}]}}"
            ))
        })?
    } else {
        return Err(PyTypeError::new_err(format!(
            "{arg}: a code reference is a dict (or its JSON text), got {}",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        )));
    };
    Ok(Reference::Code(tests))
}

/// Shared by both verifiers: one verification, and a GIL-free parallel batch.
fn verify_one(
    py: Python<'_>,
    v: &(dyn Verifier + Sync),
    response: String,
    reference: Reference,
) -> PyResult<PyVerdict> {
    let out = crate::errors::detached(py, move || Ok(v.verify(&response, &reference)))?;
    out.map(|inner| PyVerdict { inner })
        .map_err(|e| VerificationError::new_err(e.to_string()))
}

fn verify_many(
    py: Python<'_>,
    v: &(dyn Verifier + Sync),
    responses: &Bound<'_, PyAny>,
    references: &Bound<'_, PyAny>,
    read: fn(&str, &Bound<'_, PyAny>) -> PyResult<Reference>,
) -> PyResult<Vec<PyVerdict>> {
    if responses.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "responses: expected a list of str, got a single str (use verify())",
        ));
    }
    let responses: Vec<String> = responses
        .extract()
        .map_err(|_| PyTypeError::new_err("responses: expected a sequence of str"))?;
    let refs: Vec<Reference> = if references.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(
            "references: expected a sequence (one reference per response), got a single str",
        ));
    } else {
        references
            .try_iter()
            .map_err(|_| PyTypeError::new_err("references: expected a sequence"))?
            .enumerate()
            .map(|(i, r)| read(&format!("references[{i}]"), &r?))
            .collect::<PyResult<_>>()?
    };
    if refs.len() != responses.len() {
        return Err(PyValueError::new_err(format!(
            "references: {} references for {} responses",
            refs.len(),
            responses.len()
        )));
    }
    let results = crate::errors::detached(py, move || {
        let items: Vec<(&str, &Reference)> = responses
            .iter()
            .map(String::as_str)
            .zip(refs.iter())
            .collect();
        Ok(v.verify_batch(&items))
    })?;
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.map(|inner| PyVerdict { inner }).map_err(|e| {
                VerificationError::new_err(format!("responses[{i}]: verifier failed: {e}"))
            })
        })
        .collect()
}

/// Math answer verifier: extracts the last final answer (``\boxed{}``, ``$…$``, "The
/// answer is", ``####``, ...) and compares it with the gold (extracted the same way)
/// exactly or numerically. Keywords are ``MathConfig`` fields (``precision``,
/// ``rel_tol``, ``targets=["latex", "expr", "choice"]``, ``boxed_priority``, ...);
/// unknown ones raise ValueError.
///
/// >>> import xrpo
/// >>> m = xrpo.MathVerifier()
/// >>> [v.correct for v in m.verify_batch(["#### 42", "The answer is 41."], ["42", "42"])]
/// [True, False]
/// >>> m.verify("\\boxed{1}", "see the figure").outcome
/// 'unverifiable'
#[pyclass(module = "xrpo._xrpo", name = "MathVerifier", frozen)]
pub struct PyMathVerifier {
    inner: MathVerifier,
}

#[pymethods]
impl PyMathVerifier {
    #[new]
    #[pyo3(signature = (**config))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        guard(|| {
            let cfg: MathConfig = json::from_py("config", json::kwargs_dict(py, config).as_any())?;
            cfg.validate()
                .map_err(|e| PyValueError::new_err(format!("config: {e}")))?;
            Ok(Self {
                inner: MathVerifier::new(cfg)
                    .map_err(|e| PyValueError::new_err(format!("config: {e}")))?,
            })
        })
    }

    /// Verifies one ``response`` against the gold answer ``reference`` (str).
    fn verify(
        &self,
        py: Python<'_>,
        response: String,
        reference: &Bound<'_, PyAny>,
    ) -> PyResult<PyVerdict> {
        guard(|| {
            let r = math_reference("reference", reference)?;
            verify_one(py, &self.inner, response, r)
        })
    }

    /// Verifies many responses in parallel on all cores, without the GIL; one
    /// :class:`Verdict` per response, in input order.
    fn verify_batch(
        &self,
        py: Python<'_>,
        responses: &Bound<'_, PyAny>,
        references: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<PyVerdict>> {
        guard(|| verify_many(py, &self.inner, responses, references, math_reference))
    }
}

/// Sandboxed Python code verifier: runs the response's last fenced ``python`` block
/// against assert-style tests (``{"tests": ..., "entry_point": ..., "prefix": ...}``,
/// HumanEval) or stdin/stdout cases (``{"stdio": [{"input": ..., "output": ...}]}``).
/// Keywords are ``CodeConfig`` fields (``min_isolation="rlimits"|"namespaces"``,
/// ``limits={"timeout_ms": 2000}``, ``partial_credit``, ``python``, ``workers``). Raises
/// :class:`VerificationError` when no acceptable sandbox can start here (fail closed).
///
/// >>> import xrpo
/// >>> c = xrpo.CodeVerifier(min_isolation="rlimits", max_isolation="rlimits")
/// >>> c.verify("```python\nprint(sum(map(int, input().split())))\n```",
/// ...          {"stdio": [{"input": "2 3\n", "output": "5\n"}]}).correct
/// True
#[pyclass(module = "xrpo._xrpo", name = "CodeVerifier", frozen)]
pub struct PyCodeVerifier {
    inner: CodeVerifier,
}

#[pymethods]
impl PyCodeVerifier {
    #[new]
    #[pyo3(signature = (**config))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        guard(|| {
            let cfg: CodeConfig = json::from_py("config", json::kwargs_dict(py, config).as_any())?;
            cfg.validate()
                .map_err(|e| PyValueError::new_err(format!("config: {e}")))?;
            let inner = crate::errors::detached(py, move || Ok(CodeVerifier::new(cfg)))?
                .map_err(|e| VerificationError::new_err(e.to_string()))?;
            Ok(Self { inner })
        })
    }

    /// The isolation level in force (``"namespaces"`` or ``"rlimits"``).
    #[getter]
    fn isolation(&self) -> String {
        self.inner.isolation().to_string()
    }

    /// Verifies one ``response`` against ``reference`` (a test dict or its JSON text).
    fn verify(
        &self,
        py: Python<'_>,
        response: String,
        reference: &Bound<'_, PyAny>,
    ) -> PyResult<PyVerdict> {
        guard(|| {
            let r = code_reference("reference", reference)?;
            verify_one(py, &self.inner, response, r)
        })
    }

    /// Verifies many responses in parallel (the sandbox's worker pool), without the GIL;
    /// one :class:`Verdict` per response, in input order.
    fn verify_batch(
        &self,
        py: Python<'_>,
        responses: &Bound<'_, PyAny>,
        references: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<PyVerdict>> {
        guard(|| verify_many(py, &self.inner, responses, references, code_reference))
    }
}
