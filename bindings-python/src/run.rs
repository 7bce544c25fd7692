//! `Run` and its live `RunEvents`: waits cut into slices so Ctrl-C and other threads get through.

use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use modelyard::blocking::{self, Next, RunEvents as Events};
use pyo3::exceptions::{PyStopIteration, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::types::PyBool;

use crate::errors::IntoPyResult;
use crate::interrupt::wait_in_slices;
use crate::views::to_py;

/// One training run: its status and history, its live events, a wait for its end, a cancel.
#[pyclass(frozen, module = "modelyard._native")]
pub struct Run {
    run: blocking::Run,
}

impl Run {
    pub fn new(run: blocking::Run) -> Self {
        Self { run }
    }

    /// Hands every event of the run to `progress` (or to a progress bar, for `True`) until the
    /// run's final status or the deadline.
    fn follow(
        &self,
        py: Python<'_>,
        deadline: Option<Instant>,
        progress: Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let callback = if progress.is_instance_of::<PyBool>() {
            if !progress.is_truthy()? {
                return Ok(());
            }
            py.import("modelyard._progress")?.call_method1("bar", (self.get(py)?,))?
        } else {
            progress
        };
        let mut events = py.detach(|| self.run.events()).into_py_result()?;
        loop {
            let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            let next = wait_in_slices(py, left, |slice| match events.next_timeout(slice) {
                Next::Item(event) => Ok(Some(Some(event.into_py_result()?))),
                Next::Ended => Ok(Some(None)),
                Next::TimedOut => Ok(None),
            })?;
            match next {
                Some(Some(event)) => {
                    callback.call1((to_py(py, &event)?,))?;
                }
                // Ended, or the deadline passed: the wait that follows tells which.
                Some(None) | None => return Ok(()),
            }
        }
    }
}

#[pymethods]
impl Run {
    /// The run's id.
    #[getter]
    fn id(&self) -> String {
        self.run.id().to_string()
    }

    /// The run, read now.
    fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &py.detach(|| self.run.get()).into_py_result()?)
    }

    /// Its status now: `"queued"`, `"running"`, `"completed"`, `"failed"` or `"cancelled"`.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &py.detach(|| self.run.status()).into_py_result()?)
    }

    /// Per-epoch metrics so far, read now.
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &py.detach(|| self.run.history()).into_py_result()?)
    }

    /// One page of the per-epoch metrics, oldest first: at most `limit` (default 100, at most
    /// 1,000) epochs after epoch number `after` (the last epoch of the page before).
    #[pyo3(signature = (*, limit=None, after=None))]
    fn history_page<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let page = py.detach(|| self.run.history_page(limit, after)).into_py_result()?;
        to_py(py, &page.items)
    }

    /// Its history so far, then live epochs and status changes; the iterator ends after the
    /// final status.
    fn events(&self, py: Python<'_>) -> PyResult<RunEvents> {
        let events = py.detach(|| self.run.events()).into_py_result()?;
        Ok(RunEvents { events: Mutex::new(events) })
    }

    /// Waits until the run ends and returns it; `TimeoutError` if `timeout` seconds pass first.
    /// `progress` follows the run meanwhile: a callable gets every event (`RunEvent`), `True`
    /// shows a progress bar (tqdm's when it is installed, else a line on stderr). Ctrl-C
    /// interrupts the wait (not the run).
    #[pyo3(signature = (timeout=None, *, progress=None))]
    fn wait<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
        progress: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = crate::convert::timeout(timeout)?;
        let deadline = timeout.map(|timeout| Instant::now() + timeout);
        if let Some(progress) = progress {
            self.follow(py, deadline, progress)?;
        }
        let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let finished =
            wait_in_slices(py, left, |slice| self.run.wait_timeout(slice).into_py_result())?;
        match finished {
            Some(run) => to_py(py, &run),
            None => Err(PyTimeoutError::new_err(format!(
                "run {} still going after {:?}",
                self.run.id(),
                timeout.unwrap_or_default()
            ))),
        }
    }

    /// Its history as a pandas DataFrame, one row per epoch (needs pandas).
    fn history_frame<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.get(py)?.call_method0("history_frame")
    }

    /// Asks the run to stop (a running one stops within one batch) and returns it.
    fn cancel<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &py.detach(|| self.run.cancel()).into_py_result()?)
    }

    fn __repr__(&self) -> String {
        format!("<modelyard.Run id={}>", self.run.id())
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(crate::errors::not_picklable("Run"))
    }
}

/// A run's live events (`RunEvent` views), in order: an iterator that ends after the final
/// status. Each `next()` waits with the GIL released and lets Ctrl-C through.
#[pyclass(frozen, module = "modelyard._native")]
pub struct RunEvents {
    events: Mutex<Events>,
}

#[pymethods]
impl RunEvents {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // The lock is taken with the GIL released, so a second thread reading the same
        // iterator waits its turn instead of deadlocking on the GIL.
        let next = wait_in_slices(py, None, |slice| {
            let mut events = self.events.lock().unwrap_or_else(PoisonError::into_inner);
            match events.next_timeout(slice) {
                Next::Item(event) => Ok(Some(Some(event.into_py_result()?))),
                Next::Ended => Ok(Some(None)),
                Next::TimedOut => Ok(None),
            }
        })?;
        match next.flatten() {
            Some(event) => to_py(py, &event),
            None => Err(PyStopIteration::new_err(())),
        }
    }
}
