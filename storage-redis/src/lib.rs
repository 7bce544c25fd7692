//! Modelyard on Redis: the [`Cache`](modelyard_core::Cache) (SET with PX per the cache policy, which also holds the token
//! denylist and the login rate-limit counters), the [`JobQueue`](modelyard_core::JobQueue) on a stream with a consumer
//! group, and the [`EventBus`](modelyard_core::EventBus) on pub/sub.
//!
//! Redis holds no record: pair it with a record store (sled, MongoDB) through
//! [`RedisStore::attach`]. Every key lives under one namespace prefix, so several deployments
//! (or tests) can share one server.
//!
//! **Nothing authoritative lives only here** (SECURITY-CHECKLIST 25). [`RedisStore::attach`]
//! gives Redis the cache and the event bus, and the job queue only to a record store that has
//! none: a store with its own durable queue (MongoDB's `jobs` collection, sled's tree) keeps it,
//! so a Redis restart, `FLUSHALL` or eviction never loses a queued run. The stream queue stays
//! available for an explicit choice ([`RedisStore::attach_with_queue`]), for deployments whose
//! Redis is persistent (AOF) and sized not to evict; the conformance suite tests it.
//!
//! Connections go through redis-rs's `ConnectionManager`, which reconnects on its own: a
//! restarted Redis costs the calls made while it is down (`Unavailable`, retryable), not a
//! restart of Modelyard.

mod cache;
mod events;
mod queue;

use std::sync::Arc;
use std::time::Duration;

use modelyard_core::{Backend, Error, Result};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A connection to one Redis, under one key namespace. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    client: redis::Client,
    conn: ConnectionManager,
    namespace: Arc<str>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("namespace", &self.namespace).finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`), with every key under `namespace:`
    /// (`modelyard` when empty). Fails with `Unavailable` when the server cannot be reached.
    pub async fn connect(url: &str, namespace: &str) -> Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|err| Error::validation("redis", format!("bad Redis URL: {err}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = client.get_connection_manager_with_config(config).await.map_err(redis_error)?;
        let namespace = if namespace.is_empty() { "modelyard" } else { namespace };
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
    fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.namespace)
    }

    /// A connection for one call (the manager multiplexes; clones are cheap).
    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

/// Maps a Redis failure: anything about reaching the server is `Unavailable` (retryable), the
/// rest `Internal`.
pub(crate) fn redis_error(err: redis::RedisError) -> Error {
    if err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
    {
        Error::unavailable(format!("redis: {err}"))
    } else {
        Error::internal(format!("redis: {err}"))
    }
}

/// Milliseconds of `d`, at least one (Redis refuses a zero expiry).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
