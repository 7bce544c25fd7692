//! Long work that waits on the runtime runs on a thread of its own, never on Tokio's blocking
//! pool.
//!
//! An upload's profile waits for the chunks the request brings; a download's rewrite and a
//! table's reading wait for the chunks the blob store reads; a training waits on the store for
//! each epoch. On a blocking-pool thread such work can hold the very threads that would produce
//! what it waits for (the sled blob store reads and writes its files on that pool), so a
//! bounded pool could deadlock, and an unbounded one grows by a thread for each job under way
//! and keeps them (its idle threads take turns, so under steady load none stays idle long
//! enough to end), each with the allocator's pages and the matrix kernels' buffers it used.
//! A thread per job is bounded by what bounds the jobs, ends with its job, gives its memory
//! back, and costs microseconds to start. The pool keeps the short calls that wait on nothing
//! but the disk or the CPU: file operations, syncs, hashes, predictions.

use crate::{Error, Result};

/// Starts `work` on a new thread called `name`, without waiting for it.
pub(crate) fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .map(drop)
        .map_err(|err| Error::unavailable(format!("cannot start a {name} thread: {err}")))
}

/// Starts `work` on a new thread called `name` at once, and gives a future of its result (so
/// that the work runs even before the future is first polled).
pub(crate) fn on_own_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = Result<T>> {
    let (done, result) = tokio::sync::oneshot::channel();
    let started = spawn(name, move || {
        // The caller may have stopped waiting (a request went away); the result has no reader.
        let _ = done.send(work());
    });
    let ended = format!("the {name} thread ended without a result");
    async move {
        started?;
        result.await.map_err(|_| Error::internal(ended))
    }
}
