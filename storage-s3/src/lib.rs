#![doc = include_str!("../README.md")]

mod backend;
mod blobs;
mod config;
mod error;

pub use backend::S3Store;
pub use config::S3Config;

/// The URL schemes of this backend's blob store: `s3://bucket/prefix`.
pub const SCHEMES: &[&str] = &["s3"];
