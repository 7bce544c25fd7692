//! The default cache: moka, in memory, with a time to live per entry.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use modelyard_core::memo::ENTRY_OVERHEAD_BYTES;
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
    /// The default bound: users, models and finished runs of a few thousand active accounts,
    /// and their sign-in counters.
    pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

    /// A cache taking at most about `max_bytes` of memory (keys, values and a fixed cost per
    /// entry); the least used entries make room for new ones.
    pub fn new(max_bytes: u64) -> Self {
        let weigh = |key: &String, entry: &Entry| {
            u32::try_from(key.len() + entry.value.len() + ENTRY_OVERHEAD_BYTES).unwrap_or(u32::MAX)
        };
        Self {
            entries: Moka::builder()
                .max_capacity(max_bytes)
                .weigher(weigh)
                .expire_after(PerEntryExpiry)
                .build(),
        }
    }
}

impl Default for MokaCache {
    /// [`MokaCache::DEFAULT_MAX_BYTES`].
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_BYTES)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn the_bound_is_in_bytes_not_entries() {
        let cache = MokaCache::new(1024 * 1024);
        let value = Bytes::from(vec![7u8; 64 * 1024]);
        for i in 0..64 {
            cache.set(&format!("k{i}"), value.clone(), Duration::from_secs(60)).await.unwrap();
        }
        cache.entries.run_pending_tasks().await;
        let mut kept = 0;
        for i in 0..64 {
            kept += usize::from(cache.get(&format!("k{i}")).await.unwrap().is_some());
        }
        // 64 values of 64 KiB do not fit in 1 MiB: at most 15 of them (and their keys) do.
        assert!((1..=15).contains(&kept), "{kept} of 64 values of 64 KiB kept in 1 MiB");
    }
}
