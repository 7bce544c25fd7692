//! Owner-scoped records (datasets, models, runs, notifications): one document per record,
//! `{ _id, owner, rev, data }`, read and written by the helpers here.

use async_trait::async_trait;
use futures::TryStreamExt;
use modelyard_core::{
    Dataset, DatasetId, DatasetStore, Error, Model, ModelId, ModelStore, Mutation, Notification,
    NotificationId, NotificationStore, Result, RunId, RunStore, TrainingRun, UserId,
};
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::MongoStore;
use crate::error::{corrupt, map_error};

/// How many times an update retries after losing a race before it gives up as `Unavailable`.
pub(crate) const MAX_UPDATE_ATTEMPTS: u32 = 10_000;

/// A record that belongs to one user.
pub(crate) trait OwnedRecord: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// What the record is called in errors (`"dataset"`).
    const KIND: &'static str;
    /// The record's id as text (the document's `_id`).
    fn id_text(&self) -> String;
    /// Whose record it is.
    fn owner(&self) -> UserId;
}

macro_rules! owned_record {
    ($type:ty, $kind:literal) => {
        impl OwnedRecord for $type {
            const KIND: &'static str = $kind;
            fn id_text(&self) -> String {
                self.id.to_string()
            }
            fn owner(&self) -> UserId {
                self.owner
            }
        }
    };
}

owned_record!(Dataset, "dataset");
owned_record!(Model, "model");
owned_record!(TrainingRun, "run");
owned_record!(Notification, "notification");

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
fn record_document<T: OwnedRecord>(record: &T, rev: i64) -> Result<Document> {
    Ok(doc! {
        "_id": record.id_text(),
        "owner": record.owner().to_string(),
        "rev": rev,
        "data": encode(record)?,
    })
}

/// Stores a new record; an existing id is `Conflict`.
async fn create<T: OwnedRecord>(records: &Collection<Document>, record: &T) -> Result<()> {
    match records.insert_one(record_document(record, 0)?).await.map_err(map_error) {
        Err(Error::Conflict(_)) => Err(Error::Conflict(format!("{} already exists", T::KIND))),
        other => other.map(|_| ()),
    }
}

/// The owner's record; another owner's record is as missing as an unknown id.
async fn get<T: OwnedRecord>(
    records: &Collection<Document>,
    owner: UserId,
    id: String,
) -> Result<T> {
    let filter = doc! { "_id": id, "owner": owner.to_string() };
    let stored = records.find_one(filter).await.map_err(map_error)?;
    decode(&stored.ok_or_else(|| Error::not_found(T::KIND))?, T::KIND)
}

/// The owner's records, newest first (UUID v7 text sorts by creation time).
async fn list<T: OwnedRecord>(records: &Collection<Document>, owner: UserId) -> Result<Vec<T>> {
    let cursor = records
        .find(doc! { "owner": owner.to_string() })
        .sort(doc! { "_id": -1 })
        .await
        .map_err(map_error)?;
    let stored: Vec<Document> = cursor.try_collect().await.map_err(map_error)?;
    stored.iter().map(|d| decode(d, T::KIND)).collect()
}

/// Applies `mutation` with a compare on `rev`, retrying when another writer changed the record
/// in between; the mutation's error aborts with nothing written.
async fn update<T: OwnedRecord>(
    store: &MongoStore,
    records: &Collection<Document>,
    owner: UserId,
    id: String,
    mutation: Mutation<'_, T>,
) -> Result<T> {
    let key = format!("{}/{id}", records.name());
    store.locked(&key, update_unlocked(records, owner, id, mutation)).await
}

/// [`update`]'s work, once the record's lock is held.
async fn update_unlocked<T: OwnedRecord>(
    records: &Collection<Document>,
    owner: UserId,
    id: String,
    mutation: Mutation<'_, T>,
) -> Result<T> {
    let owner_text = owner.to_string();
    for attempt in 0..MAX_UPDATE_ATTEMPTS {
        let filter = doc! { "_id": &id, "owner": &owner_text };
        let stored = records.find_one(filter).await.map_err(map_error)?;
        let stored = stored.ok_or_else(|| Error::not_found(T::KIND))?;
        let rev = rev_of(&stored, T::KIND)?;
        let mut changed: T = decode(&stored, T::KIND)?;
        mutation(&mut changed)?;
        if changed.id_text() != id || changed.owner() != owner {
            return Err(Error::internal(format!(
                "a {} update may not change its id or owner",
                T::KIND
            )));
        }
        let replaced = records
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

/// Removes the owner's record.
async fn delete<T: OwnedRecord>(
    records: &Collection<Document>,
    owner: UserId,
    id: String,
) -> Result<()> {
    let deleted = records
        .delete_one(doc! { "_id": id, "owner": owner.to_string() })
        .await
        .map_err(map_error)?;
    if deleted.deleted_count == 0 { Err(Error::not_found(T::KIND)) } else { Ok(()) }
}

#[async_trait]
impl DatasetStore for MongoStore {
    async fn create_dataset(&self, dataset: &Dataset) -> Result<()> {
        create(&self.datasets, dataset).await
    }

    async fn get_dataset(&self, owner: UserId, id: DatasetId) -> Result<Dataset> {
        get(&self.datasets, owner, id.to_string()).await
    }

    async fn list_datasets(&self, owner: UserId) -> Result<Vec<Dataset>> {
        list(&self.datasets, owner).await
    }

    async fn delete_dataset(&self, owner: UserId, id: DatasetId) -> Result<()> {
        delete::<Dataset>(&self.datasets, owner, id.to_string()).await
    }
}

#[async_trait]
impl ModelStore for MongoStore {
    async fn create_model(&self, model: &Model) -> Result<()> {
        create(&self.models, model).await
    }

    async fn get_model(&self, owner: UserId, id: ModelId) -> Result<Model> {
        get(&self.models, owner, id.to_string()).await
    }

    async fn list_models(&self, owner: UserId) -> Result<Vec<Model>> {
        list(&self.models, owner).await
    }

    async fn update_model(
        &self,
        owner: UserId,
        id: ModelId,
        mutation: Mutation<'_, Model>,
    ) -> Result<Model> {
        update(self, &self.models, owner, id.to_string(), mutation).await
    }

    async fn delete_model(&self, owner: UserId, id: ModelId) -> Result<()> {
        delete::<Model>(&self.models, owner, id.to_string()).await
    }
}

#[async_trait]
impl RunStore for MongoStore {
    async fn create_run(&self, run: &TrainingRun) -> Result<()> {
        create(&self.runs, run).await
    }

    async fn get_run(&self, owner: UserId, id: RunId) -> Result<TrainingRun> {
        get(&self.runs, owner, id.to_string()).await
    }

    async fn list_runs(&self, owner: UserId) -> Result<Vec<TrainingRun>> {
        list(&self.runs, owner).await
    }

    async fn update_run(
        &self,
        owner: UserId,
        id: RunId,
        mutation: Mutation<'_, TrainingRun>,
    ) -> Result<TrainingRun> {
        update(self, &self.runs, owner, id.to_string(), mutation).await
    }
}

#[async_trait]
impl NotificationStore for MongoStore {
    async fn create_notification(&self, notification: &Notification) -> Result<()> {
        create(&self.notifications, notification).await
    }

    async fn list_notifications(&self, owner: UserId) -> Result<Vec<Notification>> {
        list(&self.notifications, owner).await
    }

    async fn mark_read(&self, owner: UserId, id: NotificationId) -> Result<Notification> {
        let mut mark = |n: &mut Notification| {
            n.read = true;
            Ok(())
        };
        update(self, &self.notifications, owner, id.to_string(), &mut mark).await
    }
}
