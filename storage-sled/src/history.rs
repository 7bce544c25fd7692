//! Run histories: the tree `run_epochs`, one entry per epoch keyed by `owner ++ run ++ epoch`
//! (the epoch big-endian, so keys sort in epoch order and a prefix scan reads one run).

use async_trait::async_trait;
use modelyard_core::{EpochMetrics, EpochPage, HistoryStore, Page, Result, RunId, UserId};

use crate::db::{self, decode, encode};
use crate::error::map_error;

/// Owner and run: the prefix of every key of one run's history.
const PREFIX: usize = 32;

/// The history tree.
pub(crate) struct History {
    db: db::Db,
    epochs: sled::Tree,
}

impl History {
    /// Opens the tree `run_epochs`.
    pub(crate) fn open(db: &db::Db) -> Result<Self> {
        Ok(Self { db: db.clone(), epochs: db::open_tree(db, "run_epochs")? })
    }
}

fn run_prefix(owner: UserId, run: RunId) -> [u8; PREFIX] {
    db::owner_key(owner, run.to_bytes())
}

fn epoch_key(owner: UserId, run: RunId, epoch: u32) -> [u8; PREFIX + 4] {
    stored_epoch_key(owner, run.to_bytes(), epoch)
}

/// The key of one epoch of the run with id bytes `run`.
pub(crate) fn stored_epoch_key(owner: UserId, run: [u8; 16], epoch: u32) -> [u8; PREFIX + 4] {
    let mut key = [0u8; PREFIX + 4];
    key[..PREFIX].copy_from_slice(&db::owner_key(owner, run));
    key[PREFIX..].copy_from_slice(&epoch.to_be_bytes());
    key
}

#[async_trait]
impl HistoryStore for History {
    /// One insert (replacing the epoch's earlier entry), flushed.
    async fn put_epoch(&self, owner: UserId, run: RunId, metrics: &EpochMetrics) -> Result<()> {
        let key = epoch_key(owner, run, metrics.epoch);
        self.epochs.insert(key, encode(metrics)?).map_err(map_error)?;
        self.db.flush().await
    }

    /// A range scan from just after the cursor to the end of the run's prefix.
    async fn epochs(&self, owner: UserId, run: RunId, page: Page<u32>) -> Result<EpochPage> {
        let entries = match page.after {
            Some(u32::MAX) => return Ok(EpochPage { epochs: Vec::new(), next: None }),
            Some(after) => {
                let end = epoch_key(owner, run, u32::MAX);
                self.epochs.range(epoch_key(owner, run, after + 1)..=end)
            }
            None => self.epochs.scan_prefix(run_prefix(owner, run)),
        };
        let want = page.limit.map_or(usize::MAX, |limit| limit.saturating_add(1));
        let mut epochs = Vec::new();
        for entry in entries.take(want) {
            let (_, value) = entry.map_err(map_error)?;
            epochs.push(decode::<EpochMetrics>(&value, "epoch")?);
        }
        Ok(EpochPage::from_probe(epochs, page.limit))
    }

    /// Removes the run's entries in one batch, flushed.
    async fn delete_epochs(&self, owner: UserId, run: RunId) -> Result<()> {
        let mut batch = sled::Batch::default();
        let mut any = false;
        for key in self.epochs.scan_prefix(run_prefix(owner, run)).keys() {
            batch.remove(key.map_err(map_error)?);
            any = true;
        }
        if !any {
            return Ok(());
        }
        self.epochs.apply_batch(batch).map_err(map_error)?;
        self.db.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_keys_sort_by_number_within_a_run() {
        let (owner, run) = (UserId::new(), RunId::new());
        let keys: Vec<_> = [1u32, 9, 10, 256, 70_000].map(|e| epoch_key(owner, run, e)).to_vec();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(keys.iter().all(|key| key.starts_with(&run_prefix(owner, run))));
    }
}
