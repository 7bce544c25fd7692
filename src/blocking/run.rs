//! A handle on one training run, synchronous, with waits that can be cut into short slices.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio::task::AbortHandle;

use super::{OpenYard, RunEvents};
use crate::{EpochMetrics, Error, Result, RunId, RunStatus, TrainingRun};

/// One training run, synchronous: read its status and history, follow it, wait for it, cancel
/// it. Cheap to clone; clones share one wait.
#[derive(Clone)]
pub struct Run {
    run: crate::Run,
    /// The wait in flight, shared by [`Run::wait`] and [`Run::wait_timeout`] and by clones.
    waiting: Arc<Mutex<Option<Waiting>>>,
    // Last, so that the async handle is dropped before the open yard it may outlive.
    open: Arc<OpenYard>,
}

/// [`crate::Run::wait`] running as a task of the runtime, so it follows the run between calls
/// and a wait cut into slices costs one subscription, not one per slice.
struct Waiting {
    result: Shared<BoxFuture<'static, Result<TrainingRun>>>,
    task: AbortHandle,
    /// The process the task runs in.
    pid: u32,
}

/// Stops the task once no handle can ask for its result (never in a forked child, where the
/// runtime it would be scheduled on has no threads).
impl Drop for Waiting {
    fn drop(&mut self) {
        if self.pid == std::process::id() {
            self.task.abort();
        }
    }
}

impl Run {
    pub(super) fn new(run: crate::Run, open: Arc<OpenYard>) -> Self {
        Self { run, waiting: Arc::default(), open }
    }

    /// The async run behind this handle, for async code on its yard's runtime.
    pub fn as_async(&self) -> &crate::Run {
        &self.run
    }

    /// The run's id.
    pub fn id(&self) -> RunId {
        self.run.id()
    }

    /// The run, read now, with its whole history.
    pub fn get(&self) -> Result<TrainingRun> {
        self.open.block_on(self.run.get())
    }

    /// Its status now.
    pub fn status(&self) -> Result<RunStatus> {
        self.open.block_on(self.run.status())
    }

    /// Per-epoch metrics so far, oldest first.
    pub fn history(&self) -> Result<Vec<EpochMetrics>> {
        self.open.block_on(self.run.history())
    }

    /// A page of the per-epoch metrics, as [`crate::Run::history_page`] gives it.
    pub fn history_page(
        &self,
        limit: Option<usize>,
        after: Option<u32>,
    ) -> Result<crate::ListPage<EpochMetrics, u32>> {
        self.open.block_on(self.run.history_page(limit, after))
    }

    /// The history as a binding's call asks for it, as [`crate::Run::history_with`] gives it.
    pub fn history_with(&self, options: &crate::HistoryOptions) -> Result<Vec<EpochMetrics>> {
        self.open.block_on(self.run.history_with(options))
    }

    /// Its history so far, then live epochs and status changes; the iterator ends after the
    /// final status.
    pub fn events(&self) -> Result<RunEvents> {
        let stream = self.open.block_on(self.run.events())?;
        Ok(RunEvents::new(stream, self.open.clone()))
    }

    /// Waits until the run ends and returns it, as [`crate::Run::wait`] does.
    pub fn wait(&self) -> Result<TrainingRun> {
        let result = self.waiting()?;
        self.open.block_on(result)
    }

    /// Waits at most `timeout` for the run to end: `Some(run)` once it has ended, `None` while
    /// it is still going. Cheap to call again and again: one wait follows the run across calls,
    /// so no status change is missed between them.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<Option<TrainingRun>> {
        let result = self.waiting()?;
        self.open.block_on(async {
            match tokio::time::timeout(timeout, result).await {
                Ok(run) => run.map(Some),
                Err(_elapsed) => Ok(None),
            }
        })
    }

    /// Asks the run to stop: a queued run ends at once, a running one within one batch.
    pub fn cancel(&self) -> Result<TrainingRun> {
        self.open.block_on(self.run.cancel())
    }

    /// The result of the wait in flight, started if there is none or the last one failed.
    fn waiting(&self) -> Result<Shared<BoxFuture<'static, Result<TrainingRun>>>> {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(waiting) = waiting.as_ref()
            && !matches!(waiting.result.peek(), Some(Err(_)))
        {
            return Ok(waiting.result.clone());
        }
        let run = self.run.clone();
        let task = self.open.runtime.spawn(async move { run.wait().await })?;
        let started = Waiting {
            task: task.abort_handle(),
            result: task.map(|joined| joined.map_err(Error::internal)?).boxed().shared(),
            pid: std::process::id(),
        };
        Ok(waiting.insert(started).result.clone())
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.run, f)
    }
}
