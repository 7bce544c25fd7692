#![doc = include_str!("../README.md")]

mod backend;
mod cache;
mod config;
mod error;
mod events;
mod queue;

pub use backend::RedisStore;
pub use config::RedisConfig;

/// The URL schemes of this backend: `redis://host:6379/db`, `rediss://` (TLS), and a Unix
/// socket as `redis+unix:///path/redis.sock` or `unix:///path/redis.sock`.
pub const SCHEMES: &[&str] = &["redis", "rediss", "redis+unix", "unix"];
