//! Python objects <-> serde types through the standard `json` module (configs and
//! checkpoint state only: small, not on a hot path).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Deserializes a Python object (dict, list, number, string) into `T`; errors name `arg`.
pub fn from_py<T: DeserializeOwned>(arg: &str, obj: &Bound<'_, PyAny>) -> PyResult<T> {
    let py = obj.py();
    let text: String = py
        .import("json")?
        .call_method1("dumps", (obj,))
        .map_err(|e| PyTypeError::new_err(format!("{arg}: not JSON-serialisable ({e})")))?
        .extract()?;
    serde_json::from_str(&text).map_err(|e| PyValueError::new_err(format!("{arg}: {e}")))
}

/// Serializes `value` into Python objects (dicts, lists, numbers, strings).
pub fn to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| PyValueError::new_err(format!("cannot serialise: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// Keyword arguments as a dict (empty when none were given).
pub fn kwargs_dict<'py>(
    py: Python<'py>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> Bound<'py, PyDict> {
    kwargs.cloned().unwrap_or_else(|| PyDict::new(py))
}
