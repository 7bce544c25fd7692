//! The store: one MongoDB database, opened from a [`MongoConfig`], and the [`Backend`] it
//! provides (records, history, job queue and blobs; no cache or event bus).

use std::sync::Arc;
use std::time::Duration;

use modelyard_core::{Backend, Result};
use mongodb::bson::{Document, doc};
use mongodb::options::{ClientOptions, IndexOptions, WriteConcern};
use mongodb::{Client, Collection, Database, IndexModel};

use crate::MongoConfig;
use crate::error::map_error;
use crate::history;
use crate::records::Records;

/// How long the driver looks for a server before an operation fails as `Unavailable`.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(3);
/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Every store of Modelyard on one MongoDB database. Cheap to clone.
#[derive(Clone)]
pub struct MongoStore {
    pub(crate) db: Database,
    pub(crate) users: Collection<Document>,
    pub(crate) datasets: Collection<Document>,
    pub(crate) models: Collection<Document>,
    pub(crate) runs: Collection<Document>,
    pub(crate) notifications: Collection<Document>,
    pub(crate) epochs: Collection<Document>,
    pub(crate) jobs: Collection<Document>,
    pub(crate) counters: Collection<Document>,
    pub(crate) locks: Collection<Document>,
    pub(crate) bucket: mongodb::gridfs::GridFsBucket,
}

impl MongoStore {
    /// Connects to the server of `config.url`, uses `config.database`, and makes sure the
    /// indexes exist.
    ///
    /// Unless the URL says otherwise, writes use write concern `majority`, and a server that
    /// cannot be reached fails calls after a few seconds with a retryable `Unavailable`.
    pub async fn open(config: &MongoConfig) -> Result<Self> {
        let mut options = ClientOptions::parse(&config.url).await.map_err(map_error)?;
        options.server_selection_timeout.get_or_insert(SERVER_SELECTION_TIMEOUT);
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        options.write_concern.get_or_insert_with(WriteConcern::majority);
        options.app_name.get_or_insert_with(|| "modelyard".to_owned());
        let client = Client::with_options(options).map_err(map_error)?;
        let db = client.database(&config.database);
        let store = Self {
            users: db.collection("users"),
            datasets: db.collection("datasets"),
            models: db.collection("models"),
            runs: db.collection("runs"),
            notifications: db.collection("notifications"),
            epochs: db.collection("epochs"),
            jobs: db.collection("jobs"),
            counters: db.collection("counters"),
            locks: db.collection("locks"),
            bucket: db.gridfs_bucket(
                mongodb::options::GridFsBucketOptions::builder()
                    .bucket_name("blobs".to_owned())
                    .build(),
            ),
            db,
        };
        store.ensure_indexes().await?;
        let history = history::History::new(store.epochs.clone());
        history::migrate_embedded_histories(&store.runs, &store.counters, &history).await?;
        Ok(store)
    }

    /// The database this store uses.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Removes the whole database (tests use one database each).
    pub async fn drop_database(&self) -> Result<()> {
        self.db.drop().await.map_err(map_error)
    }

    /// Creates the indexes the stores rely on, those that do not exist yet. (FerretDB v1.24
    /// drops the connection on a `createIndexes` repeating an existing compound index, so
    /// existing ones are listed first rather than re-created.)
    async fn ensure_indexes(&self) -> Result<()> {
        let users = [(doc! { "email": 1 }, true), (doc! { "username": 1 }, true)];
        ensure(&self.users, &users).await?;
        for records in [&self.datasets, &self.models, &self.runs, &self.notifications] {
            ensure(records, &[(doc! { "owner": 1, "_id": -1 }, false)]).await?;
        }
        let jobs =
            [(doc! { "state": 1, "seq": 1 }, false), (doc! { "state": 1, "leaseUntil": 1 }, false)];
        ensure(&self.jobs, &jobs).await
    }

    /// This store as a [`Backend`]: records, queue and blobs; no cache or event bus.
    pub fn backend(self) -> Backend {
        let store = Arc::new(self);
        Backend {
            users: store.clone(),
            datasets: Arc::new(Records::new((*store).clone(), store.datasets.clone())),
            models: Arc::new(Records::new((*store).clone(), store.models.clone())),
            runs: Arc::new(Records::new((*store).clone(), store.runs.clone())),
            history: Arc::new(history::History::new(store.epochs.clone())),
            notifications: Arc::new(Records::new((*store).clone(), store.notifications.clone())),
            blobs: Some(store.clone()),
            cache: None,
            queue: Some(store),
            events: None,
        }
    }
}

/// The default name of the index on `keys`, as servers name it (`owner_1__id_-1`).
fn index_name(keys: &Document) -> String {
    keys.iter().map(|(field, order)| format!("{field}_{order}")).collect::<Vec<_>>().join("_")
}

/// Creates those of `indexes` (keys, unique) that `collection` does not have yet.
async fn ensure(collection: &Collection<Document>, indexes: &[(Document, bool)]) -> Result<()> {
    let existing = match collection.list_index_names().await {
        Ok(names) => names,
        // A collection that does not exist yet has no indexes.
        Err(err) if matches!(err.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == 26) => {
            Vec::new()
        }
        Err(err) => return Err(map_error(err)),
    };
    for (keys, unique) in indexes {
        let name = index_name(keys);
        if existing.contains(&name) {
            continue;
        }
        let options = IndexOptions::builder().name(name).unique(*unique).build();
        let model = IndexModel::builder().keys(keys.clone()).options(options).build();
        collection.create_index(model).await.map_err(map_error)?;
    }
    Ok(())
}
