//! The store: one Redis server under one key namespace, opened from a [`RedisConfig`], and how
//! it joins a [`Backend`] (cache and event bus; the job queue on request).

use std::sync::Arc;
use std::time::Duration;

use modelyard_core::{Backend, Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::RedisConfig;
use crate::error::map_error;

/// A connection to one Redis, under one key namespace. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    /// The client, for the pub/sub connections of subscriptions.
    pub(crate) client: redis::Client,
    conn: ConnectionManager,
    namespace: Arc<str>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `config.url` (`redis://host:port/db`), with every key under
    /// `config.namespace:` (`modelyard` when empty). Fails with `Unavailable` when the server
    /// cannot be reached, and with a validation error on the field `cache` when the URL does
    /// not parse.
    pub async fn open(config: &RedisConfig) -> Result<Self> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|err| Error::validation("cache", format!("bad Redis URL: {err}")))?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = client.get_connection_manager_with_config(manager).await.map_err(map_error)?;
        let namespace = if config.namespace.is_empty() {
            RedisConfig::DEFAULT_NAMESPACE
        } else {
            config.namespace.as_str()
        };
        let store = Self { client, conn, namespace: Arc::from(namespace) };
        store.create_group().await?;
        Ok(store)
    }

    /// `backend` with this store as its cache and event bus. The backend's own job queue is
    /// kept (it is durable; a queue in Redis would vanish with a flush); Redis provides one
    /// only to a backend that has none.
    pub fn attach(self, mut backend: Backend) -> Backend {
        let store = Arc::new(self);
        backend.cache = Some(store.clone());
        if backend.queue.is_none() {
            backend.queue = Some(store.clone());
        }
        backend.events = Some(store);
        backend
    }

    /// `backend` with this store as its cache, event bus **and** job queue, replacing the
    /// backend's own queue. Only for a Redis that persists (AOF) and never evicts: a flushed or
    /// restarted non-persistent Redis loses every queued run (their records stay `queued`).
    pub fn attach_with_queue(self, mut backend: Backend) -> Backend {
        let store = Arc::new(self);
        backend.queue = Some(store.clone());
        backend.cache = Some(store.clone());
        backend.events = Some(store);
        backend
    }

    /// `<namespace>:<name>`.
    pub(crate) fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.namespace)
    }

    /// A connection for one call (the manager multiplexes; clones are cheap).
    pub(crate) fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

/// Milliseconds of `d`, at least one (Redis refuses a zero expiry).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
