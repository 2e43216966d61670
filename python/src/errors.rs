//! Exceptions and the panic guard shared by every entry point.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    _xrpo,
    InternalError,
    PyRuntimeError,
    "A bug in xrpo's native code (a Rust panic caught at the boundary). Please report it."
);
create_exception!(
    _xrpo,
    VerificationError,
    PyRuntimeError,
    "The verifier itself failed (e.g. no sandbox could start): not a judgement of the response."
);

/// `xrpo.InternalError` carrying a caught panic's message.
fn internal(payload: &(dyn std::any::Any + Send)) -> PyErr {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    InternalError::new_err(format!("internal error in xrpo (please report): {msg}"))
}

/// Runs `f`, turning a Rust panic into `xrpo.InternalError` (never a `PanicException`).
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(internal(payload.as_ref())),
    }
}

/// Runs `f` without the GIL, catching panics inside the detached section.
pub fn detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, String> + Send,
) -> PyResult<T> {
    let out = py.detach(|| catch_unwind(AssertUnwindSafe(f)));
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(msg)) => Err(PyValueError::new_err(msg)),
        Err(payload) => Err(internal(payload.as_ref())),
    }
}

/// `ValueError` naming the argument.
pub fn value_err(arg: &str, msg: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(format!("{arg}: {msg}"))
}

/// A non-negative integer argument: a negative value raises `ValueError` (PyO3 adds the
/// note "while processing '<argument>'"), not `OverflowError`.
#[derive(Debug, Clone, Copy)]
pub struct Count(pub usize);

impl<'a, 'py> FromPyObject<'a, 'py> for Count {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let v: i128 = obj.extract()?;
        usize::try_from(v)
            .map(Count)
            .map_err(|_| PyValueError::new_err(format!("expected a non-negative integer, got {v}")))
    }
}
