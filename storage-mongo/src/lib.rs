//! Modelyard on MongoDB (and MongoDB-wire servers such as FerretDB), with the official `mongodb`
//! driver.
//!
//! - Records (users, datasets, models, runs, notifications) are one document each: `_id` is the
//!   record's UUID as text (UUID v7 text sorts by creation time, which gives "newest first"),
//!   `owner` the owner's UUID as text, `rev` a counter bumped on every update, and `data` the
//!   domain type serialised by serde (as JSON text, so user-chosen names such as dataset columns
//!   never become BSON field names). Users add their unique keys `email` (normalised) and
//!   `username` (lower-cased).
//! - Every change is a single-document operation: no multi-document transactions.
//!   `update_*` reads, applies the mutation and writes back with a compare on `rev`, retrying
//!   when another writer got there first, under a short per-record lock document (see [`locks`]:
//!   FerretDB does not apply a filtered update atomically, an insert on a unique `_id` it does).
//! - The job queue is the `jobs` collection, claimed with `findOneAndUpdate` (oldest `seq` first);
//!   [`queue`] has the details.
//! - Blobs are GridFS files in the `blobs` bucket, streamed both ways ([`blobs`]).
//! - The cache and the event bus are not here: Redis or the in-process defaults provide them.
//!
//! Values from users are only ever compared as BSON strings inside filters built here; no user
//! JSON is ever used as a filter or an update.

mod blobs;
mod error;
mod locks;
mod queue;
mod records;
mod users;

use std::sync::Arc;
use std::time::Duration;

use modelyard_core::{Backend, Result};
use mongodb::bson::{Document, doc};
use mongodb::options::{ClientOptions, IndexOptions, WriteConcern};
use mongodb::{Client, Collection, Database, IndexModel};

pub use error::map_error;

/// How long the driver looks for a server before an operation fails as `Unavailable`.
const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(3);
/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Every store of Modelyard on one MongoDB database. Cheap to clone.
#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    users: Collection<Document>,
    datasets: Collection<Document>,
    models: Collection<Document>,
    runs: Collection<Document>,
    notifications: Collection<Document>,
    jobs: Collection<Document>,
    counters: Collection<Document>,
    locks: Collection<Document>,
    bucket: mongodb::gridfs::GridFsBucket,
}

impl MongoStore {
    /// Connects to the server at `url` (`mongodb://host:27017/...`), uses `database`, and makes
    /// sure the indexes exist.
    ///
    /// Unless the URL says otherwise, writes use write concern `majority`, and a server that
    /// cannot be reached fails calls after a few seconds with a retryable `Unavailable`.
    pub async fn connect(url: &str, database: &str) -> Result<Self> {
        let mut options = ClientOptions::parse(url).await.map_err(map_error)?;
        options.server_selection_timeout.get_or_insert(SERVER_SELECTION_TIMEOUT);
        options.connect_timeout.get_or_insert(CONNECT_TIMEOUT);
        options.write_concern.get_or_insert_with(WriteConcern::majority);
        options.app_name.get_or_insert_with(|| "modelyard".to_owned());
        let client = Client::with_options(options).map_err(map_error)?;
        let db = client.database(database);
        let store = Self {
            users: db.collection("users"),
            datasets: db.collection("datasets"),
            models: db.collection("models"),
            runs: db.collection("runs"),
            notifications: db.collection("notifications"),
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

    /// Creates the indexes the stores rely on; creating an existing index is a no-op.
    async fn ensure_indexes(&self) -> Result<()> {
        let unique = || IndexOptions::builder().unique(true).build();
        let index = |keys: Document| IndexModel::builder().keys(keys).build();
        let unique_index =
            |keys: Document| IndexModel::builder().keys(keys).options(unique()).build();
        self.users
            .create_indexes([
                unique_index(doc! { "email": 1 }),
                unique_index(doc! { "username": 1 }),
            ])
            .await
            .map_err(map_error)?;
        for records in [&self.datasets, &self.models, &self.runs, &self.notifications] {
            records.create_index(index(doc! { "owner": 1, "_id": -1 })).await.map_err(map_error)?;
        }
        self.jobs
            .create_indexes([
                index(doc! { "state": 1, "seq": 1 }),
                index(doc! { "state": 1, "leaseUntil": 1 }),
            ])
            .await
            .map_err(map_error)?;
        Ok(())
    }

    /// This store as a [`Backend`]: records, queue and blobs; no cache or event bus.
    pub fn backend(self) -> Backend {
        let store = Arc::new(self);
        Backend {
            users: store.clone(),
            datasets: store.clone(),
            models: store.clone(),
            runs: store.clone(),
            notifications: store.clone(),
            blobs: Some(store.clone()),
            cache: None,
            queue: Some(store),
            events: None,
        }
    }
}

/// Opens Modelyard's stores on the MongoDB database `database` at `url`.
pub async fn open(url: &str, database: &str) -> Result<Backend> {
    Ok(MongoStore::connect(url, database).await?.backend())
}
