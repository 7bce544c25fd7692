//! Owner-scoped records (datasets, models, runs, notifications), every kind alike: one document
//! per record, `{ _id, owner, rev, data }`. [`Records`] is the crate's one
//! [`RecordStore`] implementation.

use std::marker::PhantomData;

use async_trait::async_trait;
use futures::TryStreamExt;
use modelyard_core::{Error, Listed, Mutation, Page, Record, RecordStore, Result, UserId};
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::MongoStore;
use crate::error::{corrupt, map_error};

/// How many times an update retries after losing a race before it gives up as `Unavailable`.
pub(crate) const MAX_UPDATE_ATTEMPTS: u32 = 10_000;

/// The serialised form of a record, kept in the document's `data` field.
pub(crate) fn encode<T: Serialize>(record: &T) -> Result<String> {
    Ok(serde_json::to_string(record)?)
}

/// The record in a stored document.
pub(crate) fn decode<T: DeserializeOwned>(stored: &Document, what: &str) -> Result<T> {
    let data = stored.get_str("data").map_err(|err| corrupt(what, err))?;
    serde_json::from_str(data).map_err(|err| corrupt(what, err))
}

/// The `rev` of a stored document.
pub(crate) fn rev_of(stored: &Document, what: &str) -> Result<i64> {
    match stored.get("rev") {
        Some(Bson::Int64(rev)) => Ok(*rev),
        Some(Bson::Int32(rev)) => Ok(i64::from(*rev)),
        other => Err(corrupt(what, format!("rev is {other:?}"))),
    }
}

/// Lets the update loop's other contenders run before trying again.
pub(crate) async fn back_off(attempt: u32) {
    if attempt > 3 {
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempt.min(20)))).await;
    } else {
        tokio::task::yield_now().await;
    }
}

/// The error after too many lost races.
pub(crate) fn contended(what: &str) -> Error {
    Error::unavailable(format!("the {what} is changing too often to update; try again"))
}

/// The document of a new record.
fn record_document<T: Record>(record: &T, rev: i64) -> Result<Document> {
    Ok(doc! {
        "_id": record.id().to_string(),
        "owner": record.owner().to_string(),
        "rev": rev,
        "data": encode(record)?,
    })
}

/// The records of one kind, in one collection.
pub(crate) struct Records<T> {
    /// For the per-record update locks.
    store: MongoStore,
    records: Collection<Document>,
    kind: PhantomData<fn() -> T>,
}

impl<T: Record> Records<T> {
    /// The records kept in `records`.
    pub(crate) fn new(store: MongoStore, records: Collection<Document>) -> Self {
        Self { store, records, kind: PhantomData }
    }

    /// [`RecordStore::update`]'s work, once the record's lock is held.
    async fn update_unlocked(
        &self,
        owner: UserId,
        id: String,
        mutation: Mutation<'_, T>,
    ) -> Result<T> {
        let owner_text = owner.to_string();
        for attempt in 0..MAX_UPDATE_ATTEMPTS {
            let filter = doc! { "_id": &id, "owner": &owner_text };
            let stored = self.records.find_one(filter).await.map_err(map_error)?;
            let stored = stored.ok_or_else(|| Error::not_found(T::KIND))?;
            let rev = rev_of(&stored, T::KIND)?;
            let mut changed: T = decode(&stored, T::KIND)?;
            mutation(&mut changed)?;
            if changed.id().to_string() != id || changed.owner() != owner {
                return Err(Error::internal(format!(
                    "a {} update may not change its id or owner",
                    T::KIND
                )));
            }
            let replaced = self
                .records
                .replace_one(
                    doc! { "_id": &id, "owner": &owner_text, "rev": rev },
                    record_document(&changed, rev + 1)?,
                )
                .await
                .map_err(map_error)?;
            if replaced.matched_count == 1 {
                return Ok(changed);
            }
            // Someone changed (or deleted) it between our read and write: start over.
            back_off(attempt).await;
        }
        Err(contended(T::KIND))
    }
}

#[async_trait]
impl<T: Record> RecordStore<T> for Records<T> {
    /// Stores a new record; an existing id is `Conflict`.
    async fn insert(&self, record: &T) -> Result<()> {
        match self.records.insert_one(record_document(record, 0)?).await.map_err(map_error) {
            Err(Error::Conflict(_)) => Err(Error::Conflict(format!("{} already exists", T::KIND))),
            other => other.map(|_| ()),
        }
    }

    /// The owner's record; another owner's record is as missing as an unknown id.
    async fn get(&self, owner: UserId, id: T::Id) -> Result<T> {
        let filter = doc! { "_id": id.to_string(), "owner": owner.to_string() };
        let stored = self.records.find_one(filter).await.map_err(map_error)?;
        decode(&stored.ok_or_else(|| Error::not_found(T::KIND))?, T::KIND)
    }

    /// Newest first by `_id` (UUID v7 text sorts by creation time), on the `owner_1__id_-1`
    /// index, starting below the cursor.
    async fn list(&self, owner: UserId, page: Page<T::Id>) -> Result<Listed<T>> {
        let mut filter = doc! { "owner": owner.to_string() };
        if let Some(after) = page.after {
            filter.insert("_id", doc! { "$lt": after.to_string() });
        }
        let mut find = self.records.find(filter).sort(doc! { "_id": -1 });
        if let Some(limit) = page.limit {
            // The one past the limit only says whether another page exists.
            find = find.limit(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX));
        }
        let stored: Vec<Document> =
            find.await.map_err(map_error)?.try_collect().await.map_err(map_error)?;
        let records = stored.iter().map(|d| decode(d, T::KIND)).collect::<Result<Vec<T>>>()?;
        Ok(Listed::from_probe(records, page.limit))
    }

    async fn count(&self, owner: UserId) -> Result<u64> {
        self.records.count_documents(doc! { "owner": owner.to_string() }).await.map_err(map_error)
    }

    /// Applies `mutation` with a compare on `rev`, retrying when another writer changed the
    /// record in between; the mutation's error aborts with nothing written.
    async fn update(&self, owner: UserId, id: T::Id, mutation: Mutation<'_, T>) -> Result<T> {
        let id = id.to_string();
        let key = format!("{}/{id}", self.records.name());
        self.store.locked(&key, self.update_unlocked(owner, id, mutation)).await
    }

    /// Removes the owner's record.
    async fn delete(&self, owner: UserId, id: T::Id) -> Result<()> {
        let deleted = self
            .records
            .delete_one(doc! { "_id": id.to_string(), "owner": owner.to_string() })
            .await
            .map_err(map_error)?;
        if deleted.deleted_count == 0 { Err(Error::not_found(T::KIND)) } else { Ok(()) }
    }
}
