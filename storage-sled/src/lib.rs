#![doc = include_str!("../README.md")]

mod backend;
mod blobs;
mod cache;
mod config;
mod db;
mod error;
mod history;
mod queue;
mod records;
mod users;

pub use backend::SledStore;
pub use blobs::FileBlobStore;
pub use config::SledConfig;

/// The URL scheme of this backend's record store: `sled://<directory>` (also `sled:relative`).
pub const SCHEMES: &[&str] = &["sled"];
