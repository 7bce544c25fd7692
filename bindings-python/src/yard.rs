//! `modelyard.open(...)` and the `Modelyard` it returns.

use modelyard::blocking;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use std::path::PathBuf;

use crate::errors::IntoPyResult;
use crate::session::{Session, interruptible};
use crate::views::to_py;

/// An open Modelyard. `with modelyard.open(...) as yard:` closes it at the end of the block.
#[pyclass(frozen, module = "modelyard._native")]
pub struct Modelyard {
    yard: blocking::Modelyard,
}

/// Opens a store: `open("sled://./data")` or `open(store=..., cache=..., workers=...)`; every
/// keyword is a setting of `ConfigSpec`, and an unknown one raises `ValidationError` naming it.
#[pyfunction]
#[pyo3(signature = (url=None, **settings))]
pub fn open(
    py: Python<'_>,
    url: Option<String>,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<Modelyard> {
    let spec = crate::convert::spec(url, settings)?;
    let yard = py.detach(|| blocking::Modelyard::open(spec)).into_py_result()?;
    Ok(Modelyard { yard })
}

#[pymethods]
impl Modelyard {
    /// Creates an account and returns a signed-in session.
    fn register(
        &self,
        py: Python<'_>,
        username: &str,
        email: &str,
        password: &str,
    ) -> PyResult<Session> {
        let session = py.detach(|| self.yard.register(username, email, password));
        Ok(Session::new(session.into_py_result()?))
    }

    /// Signs in.
    fn login(&self, py: Python<'_>, email: &str, password: &str) -> PyResult<Session> {
        let session = py.detach(|| self.yard.login(email, password));
        Ok(Session::new(session.into_py_result()?))
    }

    /// The session of an access token, checked now.
    fn session(&self, py: Python<'_>, token: &str) -> PyResult<Session> {
        Ok(Session::new(py.detach(|| self.yard.session(token)).into_py_result()?))
    }

    /// Backs up every account and everything it owns into the file `path` (a checksummed
    /// archive, created 0600, replacing a file there only once complete). Ctrl-C stops it and
    /// leaves no partial file.
    fn export<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.as_async().clone();
        let task = self.yard.spawn(async move { yard.export(path).await });
        to_py(py, &interruptible(py, task.into_py_result()?)?)
    }

    /// Backs up one account, found by `email`, with its whole workspace into the file `path`.
    fn export_account<'py>(
        &self,
        py: Python<'py>,
        email: String,
        path: PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.as_async().clone();
        let task = self.yard.spawn(async move { yard.export_account(&email, path).await });
        to_py(py, &interruptible(py, task.into_py_result()?)?)
    }

    /// Restores an archive of `export` into this yard's stores. The whole archive is checked
    /// first: a damaged or truncated one raises `ValidationError` (field `archive`), one whose
    /// accounts or files exist here `ConflictError`, and nothing is written. Ctrl-C stops it
    /// and removes what it wrote.
    fn import_<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.as_async().clone();
        let task = self.yard.spawn(async move { yard.import(path).await });
        to_py(py, &interruptible(py, task.into_py_result()?)?)
    }

    /// Whether the record store answers now; raises `UnavailableError` while it is down.
    fn check_ready(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.yard.check_ready()).into_py_result()
    }

    /// Stops this yard's training workers gracefully (a run in flight goes back to the queue);
    /// the yard still reads and writes. Closing twice is harmless.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.yard.close()).into_py_result()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        "<modelyard.Modelyard>".into()
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(crate::errors::not_picklable("Modelyard"))
    }
}
