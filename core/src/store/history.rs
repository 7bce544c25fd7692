use async_trait::async_trait;

use super::Page;
use crate::{EpochMetrics, Result, RunId, UserId};

/// The per-epoch metrics of training runs, one record per (run, epoch): recording an epoch is
/// one small write, whatever the length of the run's history so far.
///
/// # Behavior
/// - Every call takes the run's owner; epochs of another owner's run are never read, listed
///   or deleted (a read of them finds none, as for a run without epochs).
/// - `put_epoch` stores the metrics of epoch `metrics.epoch` of the run, replacing an earlier
///   record of that epoch: a (run, epoch) is stored at most once. Concurrent puts of distinct
///   epochs are all kept.
/// - `epochs` reads in epoch order, oldest first: at most `page.limit` epochs numbered above
///   `page.after`; [`EpochPage::next`] is set when more follow.
/// - `delete_epochs` removes every epoch of the run; a run without epochs is no error.
/// - A write is durable when it returns.
#[async_trait]
pub trait HistoryStore: Send + Sync {
    /// Stores (or replaces) one epoch of the owner's run.
    async fn put_epoch(&self, owner: UserId, run: RunId, metrics: &EpochMetrics) -> Result<()>;
    /// A page of the owner's run's epochs, oldest first.
    async fn epochs(&self, owner: UserId, run: RunId, page: Page<u32>) -> Result<EpochPage>;
    /// Removes every epoch of the owner's run.
    async fn delete_epochs(&self, owner: UserId, run: RunId) -> Result<()>;

    /// Every epoch of the owner's run, oldest first.
    async fn all_epochs(&self, owner: UserId, run: RunId) -> Result<Vec<EpochMetrics>> {
        Ok(self.epochs(owner, run, Page::ALL).await?.epochs)
    }
}

/// One page of a run's history and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochPage {
    /// The epochs, oldest first.
    pub epochs: Vec<EpochMetrics>,
    /// The cursor of the next page (this page's last epoch number), or `None` when this page
    /// ends the history.
    pub next: Option<u32>,
}

impl EpochPage {
    /// A page from up to `limit + 1` epochs read in order: the extra one only says that another
    /// page exists.
    pub fn from_probe(epochs: Vec<EpochMetrics>, limit: Option<usize>) -> Self {
        let (epochs, next) = super::records::split_probe(epochs, limit, |m| m.epoch);
        Self { epochs, next }
    }
}
