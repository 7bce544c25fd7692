//! Modelyard's embedded default backend: every store trait on [sled], blobs as files.
//!
//! ```no_run
//! # fn main() -> modelyard_core::Result<()> {
//! let backend = modelyard_storage_sled::open("./data")?;
//! # let _ = backend;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! A data directory holds the sled database under `db/` and blob files under `blobs/`.
//! Each entity has its own tree (`users`, `datasets`, `models`, `runs`, `notifications`), with
//! index trees beside it: `users_by_email`, `users_by_username`, and `<entity>_by_owner`, whose
//! keys are `owner id ++ record id`. Run histories are the tree `run_epochs`, one entry per epoch
//! keyed by `owner id ++ run id ++ epoch`. Values are JSON.
//!
//! # Guarantees
//! - A record and its index entries are written and removed in one sled transaction: no
//!   half-written record or dangling index entry exists, even after a crash.
//! - Every create, update and delete is flushed to disk before it returns.
//! - Updates are compare-and-swap loops, so concurrent updates of one record never lose a write.
//! - A record of another owner reads exactly like a missing one (`NotFound`).
//!
//! The cache is a sled tree with per-entry expiry; the job queue is durable (see `queue.rs`).
//! There is no event bus: live events are in-process, supplied by the facade.

mod blobs;
mod cache;
mod db;
mod history;
mod options;
mod queue;
mod records;
mod users;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use modelyard_core::{Backend, Result};

pub use blobs::FileBlobStore;
pub use options::SledOptions;

/// Opens (or creates) a data directory and returns every store this backend offers.
pub fn open(path: impl AsRef<Path>) -> Result<Backend> {
    open_with(path, SledOptions::default())
}

/// [`open`] with options (the page cache's size).
pub fn open_with(path: impl AsRef<Path>, options: SledOptions) -> Result<Backend> {
    let store = SledStore::open_with(&path, options)?;
    let blobs = FileBlobStore::open(path.as_ref().join("blobs"))?;
    Ok(store.into_backend(blobs))
}

/// The sled stores: users, datasets, models, runs, notifications, cache and job queue.
///
/// Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct SledStore {
    trees: Arc<db::Trees>,
    /// Cache writes so far, to pace the sweep of expired entries.
    cache_writes: Arc<AtomicU64>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (or creates) the sled database under `<path>/db`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, SledOptions::default())
    }

    /// [`SledStore::open`] with options (the page cache's size).
    pub fn open_with(path: impl AsRef<Path>, options: SledOptions) -> Result<Self> {
        let dir = path.as_ref();
        modelyard_core::store::private_fs::create_private_dir_all(dir).map_err(|err| {
            modelyard_core::Error::unavailable(format!("data dir {}: {err}", dir.display()))
        })?;
        let store = Self {
            trees: Arc::new(db::Trees::open(&dir.join("db"), &options)?),
            cache_writes: Arc::new(AtomicU64::new(0)),
        };
        store.purge_expired_cache()?;
        Ok(store)
    }

    /// Writes everything to disk; returns once it is durable.
    pub async fn flush(&self) -> Result<()> {
        self.trees.db.flush().await
    }

    /// The bundle of stores, with `blobs` as the blob store and no event bus.
    pub fn into_backend(self, blobs: FileBlobStore) -> Backend {
        let store = Arc::new(self);
        Backend {
            users: store.clone(),
            datasets: store.trees.datasets.clone(),
            models: store.trees.models.clone(),
            runs: store.trees.runs.clone(),
            history: store.trees.history.clone(),
            notifications: store.trees.notifications.clone(),
            blobs: Some(Arc::new(blobs)),
            cache: Some(store.clone()),
            queue: Some(store),
            events: None,
        }
    }
}
