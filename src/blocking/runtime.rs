//! The one tokio runtime of this process that drives every blocking handle, and the two checks
//! each blocking call makes before it blocks: not inside an async runtime, not after `fork()`.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use tokio::runtime::Handle;

use crate::{Error, Result};

/// The name of the runtime's threads, worker and blocking alike.
const THREAD_NAME: &str = "modelyard-rt";

/// How long the last handle's drop waits for the runtime's tasks and threads to stop. The
/// workers are closed by then; this bounds a drop that would otherwise wait on a stray task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The runtime the live handles share. Weak, so it shuts down when the last handle is gone and
/// the next open starts a new one.
static SHARED: Mutex<Weak<Runtime>> = Mutex::new(Weak::new());

/// A multi-threaded tokio runtime, owned by the process that started it.
pub(crate) struct Runtime {
    handle: Handle,
    /// Taken when the runtime is dropped.
    owned: Option<tokio::runtime::Runtime>,
    /// The process whose threads run it; a forked child has none of them.
    pid: u32,
}

impl Runtime {
    /// The runtime of this process: the live one, or a new one when there is none (first open,
    /// every handle dropped, or a forked child, whose parent's runtime has no threads here).
    pub(crate) fn shared() -> Result<Arc<Self>> {
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(runtime) = shared.upgrade()
            && runtime.pid == std::process::id()
        {
            return Ok(runtime);
        }
        // A forked child's stale `Weak` is replaced, never upgraded into a drop here: the
        // parent's handles copied into the child forget that runtime when they go.
        let owned = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name(THREAD_NAME)
            .build()
            .map_err(|err| Error::Unavailable(format!("cannot start the tokio runtime: {err}")))?;
        let runtime = Arc::new(Self {
            handle: owned.handle().clone(),
            owned: Some(owned),
            pid: std::process::id(),
        });
        *shared = Arc::downgrade(&runtime);
        Ok(runtime)
    }

    /// Whether this is the process the runtime was started in.
    pub(crate) fn is_forked_away(&self) -> bool {
        self.pid != std::process::id()
    }

    /// Ok when a blocking call may block here: in the runtime's own process and outside every
    /// async runtime.
    pub(crate) fn check(&self) -> Result<()> {
        self.check_process()?;
        refuse_async_context()
    }

    /// Ok in the process the runtime was started in.
    fn check_process(&self) -> Result<()> {
        if self.is_forked_away() {
            return Err(Error::Unavailable(format!(
                "this Modelyard was opened in process {} before fork(); open it again in this \
                 process",
                self.pid
            )));
        }
        Ok(())
    }

    /// Makes this runtime the current one on the calling thread until the guard is dropped.
    /// `Unavailable` in a forked child; allowed inside another runtime (a bridge's spawn).
    pub(crate) fn enter(&self) -> Result<tokio::runtime::EnterGuard<'_>> {
        self.check_process()?;
        Ok(self.handle.enter())
    }

    /// Runs `future` as a task of this runtime from anywhere, even inside another runtime's
    /// task: spawning does not block. `Unavailable` in a forked child.
    pub(crate) fn spawn_anywhere<F>(&self, future: F) -> Result<tokio::task::JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.check_process()?;
        Ok(self.handle.spawn(future))
    }

    /// Drives `future` to completion on this runtime from the calling thread, after
    /// [`Runtime::check`].
    pub(crate) fn block_on<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        self.check()?;
        self.handle.block_on(future)
    }

    /// Runs `future` as a task of this runtime, after [`Runtime::check`].
    pub(crate) fn spawn<F>(&self, future: F) -> Result<tokio::task::JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.check()?;
        Ok(self.handle.spawn(future))
    }

    /// Drops `value` inside this runtime's context, where async resources expect to be
    /// dropped; in a forked child it is forgotten instead, since its drop could wait on a lock
    /// or a thread the child does not have.
    pub(crate) fn dispose<T>(&self, value: T) {
        if self.is_forked_away() {
            std::mem::forget(value);
            return;
        }
        let _entered = self.handle.enter();
        drop(value);
    }
}

/// Shuts the runtime down without blocking where blocking is forbidden (inside an async
/// runtime, where dropping a runtime panics), and forgets it in a forked child.
impl Drop for Runtime {
    fn drop(&mut self) {
        let Some(owned) = self.owned.take() else { return };
        if self.is_forked_away() {
            std::mem::forget(owned);
        } else if Handle::try_current().is_ok() {
            owned.shutdown_background();
        } else {
            owned.shutdown_timeout(SHUTDOWN_GRACE);
        }
    }
}

/// `NotSupported` on a thread that is inside an async runtime, where blocking would deadlock or
/// panic.
pub(crate) fn refuse_async_context() -> Result<()> {
    match Handle::try_current() {
        Ok(_) => Err(Error::NotSupported(
            "a blocking call from inside an async runtime would deadlock; use \
             modelyard::Modelyard (async) there"
                .into(),
        )),
        Err(_) => Ok(()),
    }
}
