//! Run histories: the `epochs` collection, one document per epoch,
//! `{ _id: "<owner>/<run>/<epoch, ten digits>", data }`. The zero-padded epoch makes `_id` order
//! epoch order, so one run's history is a range of `_id`s read on the primary index.

use async_trait::async_trait;
use futures::TryStreamExt;
use modelyard_core::{EpochMetrics, EpochPage, Error, HistoryStore, Page, Result, RunId, UserId};
use mongodb::Collection;
use mongodb::bson::{Document, doc};

use crate::error::{corrupt, map_error};
use crate::records::{back_off, contended, encode};

/// Puts of one epoch racing to insert it first: the losers retry as replacements.
const MAX_PUT_ATTEMPTS: u32 = 20;

/// The history collection.
pub(crate) struct History {
    epochs: Collection<Document>,
}

impl History {
    pub(crate) fn new(epochs: Collection<Document>) -> Self {
        Self { epochs }
    }
}

/// `<owner>/<run>/`: what every `_id` of the run's history starts with.
fn prefix(owner: UserId, run: RunId) -> String {
    format!("{owner}/{run}/")
}

/// The `_id` of one epoch.
fn epoch_id(owner: UserId, run: RunId, epoch: u32) -> String {
    format!("{}{epoch:010}", prefix(owner, run))
}

/// The filter on the run's `_id`s above `from` (an `_id` or the bare prefix).
fn range(owner: UserId, run: RunId, from: String) -> Document {
    // '0' follows '/': every `_id` with the prefix sorts below `<prefix minus '/'>0`.
    let end = format!("{owner}/{run}0");
    doc! { "_id": { "$gt": from, "$lt": end } }
}

#[async_trait]
impl HistoryStore for History {
    /// An insert, as an epoch is almost always new; a repeated epoch is then replaced by
    /// `_id`. (Inserting first also keeps the common case cheap on servers that do not use the
    /// `_id` index for a filtered write, as FerretDB v1 on SQLite: its inserts are the only
    /// writes that do not scan the collection.)
    async fn put_epoch(&self, owner: UserId, run: RunId, metrics: &EpochMetrics) -> Result<()> {
        let id = epoch_id(owner, run, metrics.epoch);
        let document = doc! { "_id": &id, "data": encode(metrics)? };
        match self.epochs.insert_one(document.clone()).await.map_err(map_error) {
            Err(Error::Conflict(_)) => {}
            other => return other.map(drop),
        }
        for attempt in 0..MAX_PUT_ATTEMPTS {
            let put = self.epochs.replace_one(doc! { "_id": &id }, document.clone()).upsert(true);
            match put.await.map_err(map_error) {
                Ok(_) => return Ok(()),
                // Another put inserted the epoch first: replace what it wrote.
                Err(Error::Conflict(_)) => back_off(attempt).await,
                Err(err) => return Err(err),
            }
        }
        Err(contended("epoch"))
    }

    /// `_id`s above the cursor's, ascending.
    async fn epochs(&self, owner: UserId, run: RunId, page: Page<u32>) -> Result<EpochPage> {
        let from = match page.after {
            Some(after) => epoch_id(owner, run, after),
            None => prefix(owner, run),
        };
        let mut find = self.epochs.find(range(owner, run, from)).sort(doc! { "_id": 1 });
        if let Some(limit) = page.limit {
            find = find.limit(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX));
        }
        let stored: Vec<Document> =
            find.await.map_err(map_error)?.try_collect().await.map_err(map_error)?;
        let epochs = stored
            .iter()
            .map(|d| {
                let data = d.get_str("data").map_err(|err| corrupt("epoch", err))?;
                serde_json::from_str(data).map_err(|err| corrupt("epoch", err))
            })
            .collect::<Result<Vec<EpochMetrics>>>()?;
        Ok(EpochPage::from_probe(epochs, page.limit))
    }

    async fn delete_epochs(&self, owner: UserId, run: RunId) -> Result<()> {
        let filter = range(owner, run, prefix(owner, run));
        self.epochs.delete_many(filter).await.map_err(map_error).map(drop)
    }
}

/// Moves the epochs of runs stored before histories were records of their own (a `history`
/// array inside the run's `data`) into `epochs`, then drops them from the run, counting them
/// in `epochsCompleted`. A run is rewritten only after its epochs are stored, and only if it
/// did not change meanwhile, so an interrupted migration resumes where it stopped. Done once
/// per database: the `counters` document `format` remembers it.
pub(crate) async fn migrate_embedded_histories(
    runs: &Collection<Document>,
    counters: &Collection<Document>,
    history: &History,
) -> Result<()> {
    let done = counters.find_one(doc! { "_id": FORMAT_DOCUMENT }).await.map_err(map_error)?;
    if done.is_some_and(|d| d.get_i64("value").unwrap_or(0) >= FORMAT) {
        return Ok(());
    }
    let mut cursor = runs.find(doc! {}).await.map_err(map_error)?;
    let mut migrated = 0usize;
    while let Some(stored) = cursor.try_next().await.map_err(map_error)? {
        let data = stored.get_str("data").map_err(|err| corrupt("run", err))?;
        let mut run: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(data).map_err(|err| corrupt("run", err))?;
        let Some(embedded) = run.remove("history") else { continue };
        let epochs: Vec<EpochMetrics> =
            serde_json::from_value(embedded).map_err(|err| corrupt("run history", err))?;
        let owner: UserId = stored
            .get_str("owner")
            .ok()
            .and_then(|owner| owner.parse().ok())
            .ok_or_else(|| corrupt("run", "no owner"))?;
        let id: RunId = stored
            .get_str("_id")
            .ok()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| corrupt("run", "no id"))?;
        for metrics in &epochs {
            history.put_epoch(owner, id, metrics).await?;
        }
        let completed = epochs.iter().map(|m| m.epoch).max().unwrap_or(0);
        run.insert("epochsCompleted".into(), completed.into());
        let mut rewritten = stored.clone();
        rewritten.insert("data", serde_json::to_string(&run)?);
        runs.replace_one(stored, rewritten).await.map_err(map_error)?;
        migrated += 1;
    }
    counters
        .replace_one(doc! { "_id": FORMAT_DOCUMENT }, doc! { "value": FORMAT })
        .upsert(true)
        .await
        .map_err(map_error)?;
    tracing::info!(runs = migrated, "MongoDB store migrated: run histories as records");
    Ok(())
}

/// The `counters` document holding the store's format.
const FORMAT_DOCUMENT: &str = "format";
/// Format 2: run histories are records of their own.
const FORMAT: i64 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_in_epoch_order_inside_the_run_range() {
        let (owner, run) = (UserId::new(), RunId::new());
        let ids: Vec<_> =
            [1u32, 9, 10, 100, 70_000, u32::MAX].map(|e| epoch_id(owner, run, e)).to_vec();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
        let end = format!("{owner}/{run}0");
        assert!(ids.iter().all(|id| prefix(owner, run) < *id && *id < end));
    }
}
