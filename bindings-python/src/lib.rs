//! `modelyard._native`: the facade's synchronous API (`modelyard::blocking`) for Python. Each
//! method is one facade call, with the GIL released, plus the conversion of its arguments and
//! result; `python/modelyard/` adds the view classes and the package around it.

mod aio;
mod convert;
mod errors;
mod interrupt;
mod run;
mod session;
mod views;
mod yard;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(yard::open, m)?)?;
    m.add_class::<yard::Modelyard>()?;
    m.add_class::<session::Session>()?;
    m.add_class::<run::Run>()?;
    m.add_class::<run::RunEvents>()?;
    aio::register(m)?;
    errors::register(m)?;
    Ok(())
}
