//! Waiting without freezing Python: every wait is cut into short slices run with the GIL
//! released, and between slices Python's signal handlers run, so Ctrl-C raises
//! `KeyboardInterrupt` within a slice instead of after the run ends.

use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// How long one slice of a wait may block before Python's signals are checked again.
pub const SLICE: Duration = Duration::from_millis(100);

/// Calls `step` with the time it may block (at most [`SLICE`], never past `timeout`) until it
/// returns `Some`, with the GIL released during each call and Python's signal handlers run
/// between calls. `Ok(None)` when `timeout` passed first; the handlers' exception (usually
/// `KeyboardInterrupt`) if one raised.
pub fn wait_in_slices<T: Send>(
    py: Python<'_>,
    timeout: Option<Duration>,
    mut step: impl FnMut(Duration) -> PyResult<Option<T>> + Send,
) -> PyResult<Option<T>> {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    loop {
        let slice = match deadline {
            Some(deadline) => SLICE.min(deadline.saturating_duration_since(Instant::now())),
            None => SLICE,
        };
        if let Some(done) = py.detach(|| step(slice))? {
            return Ok(Some(done));
        }
        py.check_signals()?;
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(None);
        }
    }
}
