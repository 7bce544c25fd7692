//! What one user owns, taken as a whole: erasing it when the account is deleted.

use crate::datasets::DatasetService;
use crate::models::ModelService;
use crate::training::checkpoint_key;
use crate::{Error, Page, Record, RecordStore, Result, Stores, UserId};

/// How many records are read per round while erasing.
const ERASE_PAGE: usize = 100;

/// What [`WorkspaceService::erase`] removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// Training runs (with their histories and checkpoints).
    pub runs: u64,
    /// Models (with their trained files).
    pub models: u64,
    /// Datasets (with their files).
    pub datasets: u64,
    /// Notifications.
    pub notifications: u64,
}

impl Erased {
    /// Whether nothing was left to erase.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A user's records and files as one workspace.
#[derive(Clone)]
pub struct WorkspaceService {
    stores: Stores,
    datasets: DatasetService,
    models: ModelService,
}

impl WorkspaceService {
    /// A service over a deployment's stores and the services that own each kind's files.
    pub fn new(stores: Stores, datasets: DatasetService, models: ModelService) -> Self {
        Self { stores, datasets, models }
    }

    /// Removes everything `owner` has, in every store: runs first (a run in training loses
    /// its record, so its worker stops at the next epoch or heartbeat and leaves no
    /// checkpoint), then models and their trained files, datasets and their files, and
    /// notifications. Records another caller removes meanwhile are skipped; calling it again
    /// finishes what a failed call left.
    pub async fn erase(&self, owner: UserId) -> Result<Erased> {
        let runs = drain(&self.stores.runs, owner, |run| async move {
            self.stores.runs.delete(owner, run.id).await?;
            self.stores.history.delete_epochs(owner, run.id).await?;
            if let Err(err) = self.stores.blobs.delete(&checkpoint_key(run.id)?).await {
                tracing::warn!(%err, run = %run.id, "checkpoint of an erased run not removed");
            }
            Ok(())
        })
        .await?;
        let models = drain(&self.stores.models, owner, |m| self.models.remove_owned(m)).await?;
        let datasets =
            drain(&self.stores.datasets, owner, |d| self.datasets.remove_owned(d)).await?;
        let notifications = drain(&self.stores.notifications, owner, |n| async move {
            self.stores.notifications.delete(owner, n.id).await
        })
        .await?;
        Ok(Erased { runs, models, datasets, notifications })
    }
}

/// Removes the owner's records of one kind, a page at a time, with `remove`; returns how many
/// it removed. A record already gone (`NotFound`) is not counted.
async fn drain<T, F, Fut>(
    store: &std::sync::Arc<dyn RecordStore<T>>,
    owner: UserId,
    remove: F,
) -> Result<u64>
where
    T: Record,
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let mut removed = 0;
    let mut gone = std::collections::BTreeSet::new();
    loop {
        let page = store.list(owner, Page::first(ERASE_PAGE)).await?;
        if page.records.is_empty() {
            return Ok(removed);
        }
        for record in page.records {
            let id = record.id();
            match remove(record).await {
                Ok(()) => removed += 1,
                // Removed meanwhile by someone else; listed again, the store is inconsistent.
                Err(Error::NotFound(_)) if gone.insert(id) => {}
                Err(Error::NotFound(_)) => {
                    return Err(Error::internal(format!(
                        "{} {id} is listed but not found",
                        T::KIND
                    )));
                }
                Err(err) => return Err(err),
            }
        }
    }
}
