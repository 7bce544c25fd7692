//! The store traits: what a backend implements. Each is object-safe and used as `Arc<dyn ...>`.
//!
//! Records change only through single-record atomic updates (`update_*` with a mutation): no
//! multi-record transactions, so every backend, MongoDB-compatible servers without transactions
//! included, behaves the same.

mod blobs;
mod cache;
mod events;
mod history;
pub mod private_fs;
mod queue;
mod records;

pub use blobs::*;
pub use cache::*;
pub use events::*;
pub use history::*;
pub use queue::*;
pub use records::*;

use std::sync::Arc;

/// A read-modify-write step applied atomically to one record by an `update_*` method.
///
/// It may run more than once when the backend retries after a concurrent change; it must only
/// change the record it is given. Returning an error aborts the update and writes nothing.
pub type Mutation<'a, T> = &'a mut (dyn FnMut(&mut T) -> crate::Result<()> + Send);

/// Everything a deployment stores, as one bundle of trait objects.
///
/// A backend crate returns a [`Backend`]; the facade fills what it lacks with in-process defaults.
#[derive(Clone)]
pub struct Stores {
    /// Accounts.
    pub users: Arc<dyn UserStore>,
    /// Dataset records.
    pub datasets: Arc<dyn RecordStore<crate::Dataset>>,
    /// Model records.
    pub models: Arc<dyn RecordStore<crate::Model>>,
    /// Training runs.
    pub runs: Arc<dyn RecordStore<crate::TrainingRun>>,
    /// The runs' per-epoch metrics, one record per (run, epoch).
    pub history: Arc<dyn HistoryStore>,
    /// Notifications.
    pub notifications: Arc<dyn RecordStore<crate::Notification>>,
    /// File bytes: datasets, artifacts, checkpoints.
    pub blobs: Arc<dyn BlobStore>,
    /// Bytes with a time to live: the read-through cache and the login rate-limit counters.
    pub cache: Arc<dyn Cache>,
    /// Training jobs waiting for and held by workers.
    pub queue: Arc<dyn JobQueue>,
    /// Live progress and notification events.
    pub events: Arc<dyn EventBus>,
}

/// What a backend crate provides: the record stores always, the rest where it has them.
#[derive(Clone)]
pub struct Backend {
    /// Accounts.
    pub users: Arc<dyn UserStore>,
    /// Dataset records.
    pub datasets: Arc<dyn RecordStore<crate::Dataset>>,
    /// Model records.
    pub models: Arc<dyn RecordStore<crate::Model>>,
    /// Training runs.
    pub runs: Arc<dyn RecordStore<crate::TrainingRun>>,
    /// The runs' per-epoch metrics, one record per (run, epoch).
    pub history: Arc<dyn HistoryStore>,
    /// Notifications.
    pub notifications: Arc<dyn RecordStore<crate::Notification>>,
    /// File bytes, if the backend stores them.
    pub blobs: Option<Arc<dyn BlobStore>>,
    /// A cache, if the backend has one.
    pub cache: Option<Arc<dyn Cache>>,
    /// A job queue, if the backend has one.
    pub queue: Option<Arc<dyn JobQueue>>,
    /// An event bus, if the backend has one.
    pub events: Option<Arc<dyn EventBus>>,
}
