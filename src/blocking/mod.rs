//! The facade, synchronous: the same operations as [`crate::Modelyard`], [`crate::Session`] and
//! [`crate::Run`], for programs without an async runtime (and the Python binding, which calls
//! them from threads that released the GIL).
//!
//! ```no_run
//! use modelyard::blocking::Modelyard;
//! use modelyard::{ModelRequest, TrainParams, Upload};
//!
//! # fn demo() -> modelyard::Result<()> {
//! let yard = Modelyard::open("sled://./modelyard-data")?;
//! let ada = yard.register("ada", "ada@example.com", "correct horse battery")?;
//! let iris = ada.upload_dataset("iris", Upload::path("examples/data/iris.csv"))?;
//! let model = ada.create_model(ModelRequest {
//!     name: "iris mlp".into(),
//!     dataset_id: iris.id,
//!     target: "species".into(),
//!     features: None,
//!     task: None,
//!     layers: None,
//! })?;
//! let run = ada.train(model.id, TrainParams { epochs: 30, ..Default::default() })?;
//! for event in run.events()? {
//!     println!("{:?}", event?);
//! }
//! println!("{:?}", run.wait()?.status);
//! yard.close()?;
//! # Ok(()) }
//! ```
//!
//! # How it runs
//!
//! - One multi-threaded tokio runtime per process (threads named `modelyard-rt`) drives every
//!   handle. It starts with the first [`Modelyard::open`] and shuts down when the last handle —
//!   yard, session, run or event iterator — is gone.
//! - A call blocks the calling thread until the async call it wraps is done. Called from inside
//!   an async runtime, where blocking would deadlock, it returns `NotSupported` instead: use
//!   [`crate::Modelyard`] there.
//! - Every handle made from one open shares that yard. When the last of them is dropped, the
//!   yard is closed as by [`Modelyard::close`] (best effort: a drop cannot report an error).
//! - After `fork()`, a handle the parent opened returns `Unavailable` in the child (its runtime
//!   has no threads there); a new [`Modelyard::open`] in the child starts a runtime of its own.
//!   A sled store cannot be written in the child of a process that has used sled, though: sled's
//!   IO threads do not survive `fork()` either, and its writes would wait for them forever.
//!   Start such workers with `exec` (Python's `multiprocessing` "spawn" or "forkserver").

mod events;
mod run;
mod runtime;
mod session;
mod task;

pub use events::{Events, Next, NotificationEvents, RunEvents};
pub use run::Run;
pub use session::{DatasetDownload, Session};
pub use task::{RuntimeShare, Task};

use std::future::Future;
use std::sync::Arc;

use runtime::Runtime;

use crate::{IntoConfig, Result};

/// An open Modelyard, synchronous: the entry point. Cheap to clone; clones share one yard.
#[derive(Clone)]
pub struct Modelyard {
    yard: crate::Modelyard,
    // Last, so that the async handle above is dropped before the open yard it may outlive.
    open: Arc<OpenYard>,
}

impl Modelyard {
    /// Opens the store at a URL (`sled://./modelyard-data`) or with a whole [`crate::Config`],
    /// as [`crate::Modelyard::open`] does, starting this process's runtime if none is running.
    pub fn open(config: impl IntoConfig) -> Result<Self> {
        runtime::refuse_async_context()?;
        let runtime = Runtime::shared()?;
        let yard = runtime.block_on(crate::Modelyard::open(config))?;
        Ok(Self { yard: yard.clone(), open: Arc::new(OpenYard { yard: Some(yard), runtime }) })
    }

    /// Opens as [`Modelyard::open`] does, without blocking: for an async caller on any
    /// executor (the Python binding's asyncio flavour). The open runs as a task of this
    /// process's runtime, where the yard's workers then run; the handle is the same as `open`'s.
    pub async fn open_async(config: impl IntoConfig) -> Result<Self> {
        let config = config.into_config()?;
        let runtime = Runtime::shared()?;
        let opening = runtime.spawn_anywhere(crate::Modelyard::open(config))?;
        let yard = opening.await.map_err(crate::Error::internal)??;
        Ok(Self { yard: yard.clone(), open: Arc::new(OpenYard { yard: Some(yard), runtime }) })
    }

    /// The async yard behind this handle, for async code on this yard's runtime (see
    /// [`Modelyard::runtime`]). The yard stays open while this handle lives.
    pub fn as_async(&self) -> &crate::Modelyard {
        &self.yard
    }

    /// A hold on the runtime this yard runs on.
    pub fn runtime(&self) -> RuntimeShare {
        RuntimeShare::of(self.open.runtime.clone())
    }

    /// Runs an async call as a task on this yard's runtime, to wait for in slices or abandon
    /// (see [`Task`]). The yard stays open while the task lives.
    pub fn spawn<T, F>(&self, future: F) -> Result<Task<T>>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        Task::spawn(self.open.clone(), future)
    }

    /// Starts `count` more training workers in this process. `Conflict` once this yard is
    /// closed.
    pub fn start_workers(&self, count: usize) -> Result<()> {
        self.open.block_on(self.yard.start_workers(count))
    }

    /// Stops this yard's training workers gracefully and waits for them, as
    /// [`crate::Modelyard::close`] does: a run in flight goes back to the queue with its
    /// epochs. This yard's handles still read and write the store; closing again does nothing.
    pub fn close(&self) -> Result<()> {
        self.open.block_on(async {
            self.yard.close().await;
            Ok(())
        })
    }

    /// Backs up every account and everything it owns into the file `archive`, as
    /// [`crate::Modelyard::export`] does.
    pub fn export(&self, archive: impl AsRef<std::path::Path>) -> Result<crate::BackupSummary> {
        self.open.block_on(self.yard.export(archive))
    }

    /// Backs up one account, found by email, with its workspace, as
    /// [`crate::Modelyard::export_account`] does.
    pub fn export_account(
        &self,
        email: &str,
        archive: impl AsRef<std::path::Path>,
    ) -> Result<crate::BackupSummary> {
        self.open.block_on(self.yard.export_account(email, archive))
    }

    /// Restores an archive into this yard's stores, as [`crate::Modelyard::import`] does:
    /// checked whole first, nothing written when it is refused.
    pub fn import(&self, archive: impl AsRef<std::path::Path>) -> Result<crate::BackupSummary> {
        self.open.block_on(self.yard.import(archive))
    }

    /// Whether the record store answers now; `Unavailable` while it is down.
    pub fn check_ready(&self) -> Result<()> {
        self.open.block_on(self.yard.check_ready())
    }

    /// Creates an account and returns a signed-in session.
    pub fn register(&self, username: &str, email: &str, password: &str) -> Result<Session> {
        let session = self.open.block_on(self.yard.register(username, email, password))?;
        Ok(Session::new(session, self.open.clone()))
    }

    /// Signs in.
    pub fn login(&self, email: &str, password: &str) -> Result<Session> {
        let session = self.open.block_on(self.yard.login(email, password))?;
        Ok(Session::new(session, self.open.clone()))
    }

    /// Signs in on behalf of a network client, rate-limited per account and per client.
    pub fn login_from(&self, email: &str, password: &str, client: Option<&str>) -> Result<Session> {
        let session = self.open.block_on(self.yard.login_from(email, password, client))?;
        Ok(Session::new(session, self.open.clone()))
    }

    /// The session of an access token, checked now (signature, expiry, revocation).
    pub fn session(&self, token: &str) -> Result<Session> {
        let session = self.open.block_on(self.yard.session(token))?;
        Ok(Session::new(session, self.open.clone()))
    }
}

impl std::fmt::Debug for Modelyard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Modelyard").finish_non_exhaustive()
    }
}

/// One open yard and the runtime driving it, shared by every handle made from that open.
/// Dropped with the last of them: it closes the yard, then releases the runtime.
struct OpenYard {
    /// Kept for the close on drop (handles call their own clones); taken there.
    yard: Option<crate::Modelyard>,
    runtime: Arc<Runtime>,
}

impl OpenYard {
    /// Drives one async call to its end from the calling thread, after the runtime's checks.
    fn block_on<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        self.runtime.block_on(future)
    }
}

/// Closes the yard as [`Modelyard::close`] does, where it can block: inline, or on a thread of
/// its own when dropped inside an async runtime. In a forked child the yard is forgotten.
impl Drop for OpenYard {
    fn drop(&mut self) {
        let Some(yard) = self.yard.take() else { return };
        if self.runtime.is_forked_away() {
            std::mem::forget(yard);
            return;
        }
        if runtime::refuse_async_context().is_ok() {
            close(&self.runtime, yard);
            return;
        }
        let runtime = self.runtime.clone();
        let closing = std::thread::Builder::new()
            .name("modelyard-close".into())
            .spawn(move || close(&runtime, yard));
        if let Err(err) = closing {
            tracing::warn!(%err, "no thread to close the Modelyard on: its workers just stop");
        }
    }
}

/// Closes `yard` and drops it inside the runtime, on a thread that may block. Never panics.
fn close(runtime: &Runtime, yard: crate::Modelyard) {
    let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async move {
            yard.close().await;
            drop(yard);
            Ok(())
        })
    }));
    match closed {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(%err, "the Modelyard was dropped without closing"),
        Err(_) => tracing::warn!("closing the dropped Modelyard panicked"),
    }
}
