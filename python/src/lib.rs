//! `xrpo._xrpo`: the native half of the Python package `xrpo` (see `python/README.md`).
//!
//! One job: expose the four candle-free leaf crates to Python. Rollout allocation
//! ([`alloc`]), group advantages ([`advantage`]), exemplar seeding ([`seed`]) and the
//! math/code verifiers ([`reward`]). Numeric data crosses as numpy arrays without copies
//! where the layout allows; long calls release the GIL (`Python::detach`); every entry
//! point runs under [`errors::guard`], so a Rust panic becomes `xrpo.InternalError`
//! instead of crossing into the interpreter. The Python examples live in each class's
//! docstring and run as doctests in `python/tests/test_docstrings.py`.

use pyo3::prelude::*;

mod advantage;
mod alloc;
mod errors;
mod json;
mod reward;
mod seed;

/// The native module. Import `xrpo` rather than this module directly.
#[pymodule]
fn _xrpo(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("InternalError", py.get_type::<errors::InternalError>())?;
    m.add(
        "VerificationError",
        py.get_type::<errors::VerificationError>(),
    )?;
    m.add_class::<alloc::Allocator>()?;
    m.add_class::<alloc::PyXrpoAllocator>()?;
    m.add_class::<alloc::PyFixedAllocator>()?;
    m.add_function(wrap_pyfunction!(alloc::run_step, m)?)?;
    m.add_function(wrap_pyfunction!(advantage::advantages, m)?)?;
    m.add_class::<seed::PyExemplarSeeder>()?;
    m.add_class::<reward::PyVerdict>()?;
    m.add_class::<reward::PyMathVerifier>()?;
    m.add_class::<reward::PyCodeVerifier>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
