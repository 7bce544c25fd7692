#![doc = include_str!("../README.md")]

mod backend;
mod blobs;
mod config;
mod error;
mod history;
mod locks;
mod queue;
mod records;
mod users;

pub use backend::MongoStore;
pub use config::MongoConfig;
pub use error::map_error;

/// The URL schemes of this backend's record store: `mongodb://host/db` and
/// `mongodb+srv://cluster/db`.
pub const SCHEMES: &[&str] = &["mongodb", "mongodb+srv"];
