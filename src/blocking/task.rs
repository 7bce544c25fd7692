//! Bridges to other event loops: an async call running as a task that a caller waits for in
//! slices or abandons ([`Task`]), and a hold on the runtime for code that spawns onto it from
//! outside ([`RuntimeShare`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::EnterGuard;
use tokio::task::JoinHandle;

use super::OpenYard;
use super::runtime::Runtime;
use crate::{Error, Result};

/// An async call of the facade running as a task on the runtime (from
/// [`super::Modelyard::spawn`] or [`super::Session::spawn`]), for a caller that waits for it in
/// short slices — to answer Ctrl-C between them — or gives up on it. Dropping the task before
/// it ends aborts it: its future is dropped at its next await, as a server handler's is when
/// the client goes away, so an abandoned upload stores nothing.
pub struct Task<T> {
    /// `None` once its result has been taken.
    handle: Option<JoinHandle<Result<T>>>,
    /// The process the task runs in (a forked child cannot abort it).
    pid: u32,
    // Last, so that the task is aborted before the open yard it may outlive is dropped.
    open: Arc<OpenYard>,
}

impl<T: Send + 'static> Task<T> {
    pub(super) fn spawn<F>(open: Arc<OpenYard>, future: F) -> Result<Self>
    where
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let handle = open.runtime.spawn(future)?;
        Ok(Self { handle: Some(handle), pid: std::process::id(), open })
    }

    /// Waits at most `timeout`: `Some(result)` once the call has ended, `None` while it is still
    /// going (ask again: nothing is lost). After the result has been taken, `Conflict`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<T>> {
        let Some(handle) = self.handle.as_mut() else {
            return Err(Error::Conflict("this task's result was already taken".into()));
        };
        let joined = self.open.block_on(async {
            match tokio::time::timeout(timeout, handle).await {
                Ok(joined) => Ok(Some(joined)),
                Err(_elapsed) => Ok(None),
            }
        })?;
        match joined {
            None => Ok(None),
            Some(joined) => {
                self.handle = None;
                joined.map_err(Error::internal)?.map(Some)
            }
        }
    }

    /// Waits until the call ends and returns its result.
    pub fn wait(mut self) -> Result<T> {
        loop {
            if let Some(done) = self.wait_timeout(Duration::from_secs(3600))? {
                return Ok(done);
            }
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take()
            && self.pid == std::process::id()
        {
            handle.abort();
        }
    }
}

impl<T> std::fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("finished", &self.handle.is_none()).finish_non_exhaustive()
    }
}

/// A hold on this process's runtime, for code that drives the async facade
/// ([`crate::Modelyard`]) from another event loop — the Python binding's asyncio flavour does,
/// through pyo3-async-runtimes. While a share lives, the runtime runs; a future spawned onto it
/// from outside should own one, so that the runtime outlives the future.
#[derive(Clone)]
pub struct RuntimeShare {
    runtime: Arc<Runtime>,
}

impl RuntimeShare {
    /// The runtime of this process, started if none is running.
    pub fn acquire() -> Result<Self> {
        Ok(Self { runtime: Runtime::shared()? })
    }

    pub(super) fn of(runtime: Arc<Runtime>) -> Self {
        Self { runtime }
    }

    /// Makes this runtime the current one on the calling thread until the guard is dropped, so
    /// that `tokio::spawn` there places tasks on it. `Unavailable` in a child after `fork()`.
    pub fn enter(&self) -> Result<EnterGuard<'_>> {
        self.runtime.enter()
    }

    /// Runs `future` as a task of this runtime, from any thread or executor (spawning never
    /// blocks), holding a share until it ends. The handle can be awaited anywhere; dropping it
    /// detaches the task. `Unavailable` in a child after `fork()`.
    pub fn spawn<F>(&self, future: F) -> Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let held = self.clone();
        self.runtime.spawn_anywhere(async move {
            let _held = held;
            future.await
        })
    }
}

impl std::fmt::Debug for RuntimeShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeShare").finish_non_exhaustive()
    }
}
