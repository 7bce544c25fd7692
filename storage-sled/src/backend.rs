//! The store: one data directory, opened from a [`SledConfig`], and the [`Backend`] it provides
//! (records, history, cache, job queue and files; no event bus).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use modelyard_core::{Backend, Error, Result};

use crate::{FileBlobStore, SledConfig, db};

/// The sled stores of one data directory: users, datasets, models, runs, notifications, run
/// histories, cache, job queue, and the files beside them.
///
/// Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct SledStore {
    pub(crate) trees: Arc<db::Trees>,
    /// Cache writes so far, to pace the sweep of expired entries.
    pub(crate) cache_writes: Arc<AtomicU64>,
    blobs: FileBlobStore,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (or creates, 0700) the data directory `config.path`: the database under `db/`,
    /// files under `blobs/`. It waits up to two seconds for a handle closed a moment ago to
    /// release the database; a directory another process holds is `Unavailable`, naming it.
    /// Synchronous: sled opens without a runtime.
    pub fn open(config: &SledConfig) -> Result<Self> {
        let dir = &config.path;
        modelyard_core::store::private_fs::create_private_dir_all(dir)
            .map_err(|err| Error::unavailable(format!("data dir {}: {err}", dir.display())))?;
        let store = Self {
            trees: Arc::new(db::Trees::open(&dir.join("db"), config)?),
            cache_writes: Arc::new(AtomicU64::new(0)),
            blobs: FileBlobStore::open(dir.join("blobs"))?,
        };
        store.purge_expired_cache()?;
        Ok(store)
    }

    /// Writes everything to disk; returns once it is durable.
    pub async fn flush(&self) -> Result<()> {
        self.trees.db.flush().await
    }

    /// Every store this backend provides; no event bus (the facade's in-process one serves).
    pub fn backend(self) -> Backend {
        let blobs = Arc::new(self.blobs.clone());
        let store = Arc::new(self);
        Backend {
            users: store.clone(),
            datasets: store.trees.datasets.clone(),
            models: store.trees.models.clone(),
            runs: store.trees.runs.clone(),
            history: store.trees.history.clone(),
            notifications: store.trees.notifications.clone(),
            blobs: Some(blobs),
            cache: Some(store.clone()),
            queue: Some(store),
            events: None,
        }
    }
}
