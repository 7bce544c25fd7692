//! Modelyard's core: domain types, store traits, services and run orchestration.
//!
//! Depends on no storage adapter and on no ML framework: backends implement the traits in
//! [`store`], the training engine implements [`Trainer`].

pub mod auth;
pub mod backup;
pub mod cached;
pub mod datasets;
mod domain;
mod error;
mod ids;
pub mod json;
pub mod memo;
pub mod models;
pub mod notifications;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod text;
mod threads;
mod trainer;
pub mod training;
pub mod views;
pub mod workspace;

pub use domain::*;
pub use error::{Error, Result};
pub use ids::*;
pub use store::{
    Backend, BlobKey, BlobStore, ByteStream, Cache, Claim, DEFAULT_PAGE_LIMIT, EpochPage, Event,
    EventBus, EventKind, HistoryStore, Job, JobQueue, Listed, MAX_PAGE_LIMIT, Mutation, Page,
    Record, RecordId, RecordStore, Stores, UserStore,
};
pub use trainer::*;
