//! The default cache: moka, in memory, with a time to live per entry.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use modelyard_core::{Cache, Result};
use moka::Expiry;
use moka::future::Cache as Moka;

/// An in-process [`Cache`] on moka. Shared by the API and the workers of one process only.
#[derive(Clone)]
pub struct MokaCache {
    entries: Moka<String, Entry>,
}

#[derive(Clone)]
struct Entry {
    value: Bytes,
    expires_at: Instant,
}

struct PerEntryExpiry;

impl Expiry<String, Entry> for PerEntryExpiry {
    fn expire_after_create(&self, _: &String, entry: &Entry, now: Instant) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        now: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.expires_at.saturating_duration_since(now))
    }
}

impl MokaCache {
    /// A cache holding at most `max_entries` entries.
    pub fn new(max_entries: u64) -> Self {
        Self {
            entries: Moka::builder().max_capacity(max_entries).expire_after(PerEntryExpiry).build(),
        }
    }
}

impl Default for MokaCache {
    fn default() -> Self {
        Self::new(100_000)
    }
}

#[async_trait]
impl Cache for MokaCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        // moka evicts lazily; an entry past its time is treated as gone.
        Ok(self.entries.get(key).await.filter(|e| e.expires_at > Instant::now()).map(|e| e.value))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<()> {
        let entry = Entry { value, expires_at: Instant::now() + ttl };
        self.entries.insert(key.to_owned(), entry).await;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.entries.invalidate(key).await;
        Ok(())
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64> {
        let now = Instant::now();
        let entry = self
            .entries
            .entry(key.to_owned())
            .and_upsert_with(|current| async move {
                let live = current.map(|e| e.into_value()).filter(|e| e.expires_at > now);
                match live {
                    Some(e) => {
                        let count = parse_count(&e.value) + 1;
                        Entry { value: Bytes::from(count.to_string()), expires_at: e.expires_at }
                    }
                    None => Entry { value: Bytes::from_static(b"1"), expires_at: now + ttl },
                }
            })
            .await;
        Ok(parse_count(&entry.into_value().value))
    }
}

fn parse_count(value: &Bytes) -> u64 {
    std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}
