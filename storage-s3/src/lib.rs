#![doc = include_str!("../README.md")]

mod blobs;
mod config;
mod error;

pub use blobs::S3BlobStore;
pub use config::S3Config;
