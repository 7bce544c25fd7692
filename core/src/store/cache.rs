use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::Result;

/// Bytes with a time to live. Nothing authoritative lives only here: every reader falls back to
/// the record stores on a miss.
///
/// # Behavior
/// - `get` returns `None` for a missing or expired key.
/// - `set` replaces the value and its TTL.
/// - `delete` of a missing key is `Ok`.
/// - `increment` adds one to a counter and returns the new value; the counter's TTL is set
///   when it is created (value 1) and not extended by later increments (a fixed window).
#[async_trait]
pub trait Cache: Send + Sync {
    /// The live value under `key`.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;
    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<()>;
    /// Removes `key`.
    async fn delete(&self, key: &str) -> Result<()>;
    /// Increments the counter under `key`, creating it with `ttl`; returns the new count.
    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64>;
}
