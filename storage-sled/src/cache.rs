//! The cache on the `cache` tree: each value is stored behind its expiry (milliseconds since the
//! epoch, big-endian), so an expired entry is recognised, and removed, on read.
//!
//! Cache entries are not flushed: nothing authoritative lives only here.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use modelyard_core::{Cache, Error, Result};

use crate::SledStore;
use crate::error::map_error;

/// Writes between two sweeps of expired entries, so keys never read again do not pile up.
const PURGE_EVERY: u64 = 1024;

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The expiry of an entry written now with `ttl`.
fn expiry(ttl: Duration) -> u64 {
    now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
}

/// `expiry ++ value`.
fn entry(expires_at: u64, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + value.len());
    out.extend_from_slice(&expires_at.to_be_bytes());
    out.extend_from_slice(value);
    out
}

/// Splits a stored entry into its expiry and value; a short entry counts as long expired.
fn split(stored: &[u8]) -> (u64, &[u8]) {
    match stored.split_first_chunk::<8>() {
        Some((expires_at, value)) => (u64::from_be_bytes(*expires_at), value),
        None => (0, &[]),
    }
}

/// Parses a counter's value, stored as decimal text like Redis's INCR so both backends read alike.
fn parse_counter(value: &[u8]) -> Result<u64> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Conflict("cache value is not a counter".into()))
}

impl SledStore {
    /// Removes every expired cache entry; returns how many.
    pub fn purge_expired_cache(&self) -> Result<u64> {
        let now = now_ms();
        let mut purged = 0;
        for item in self.trees.cache.iter() {
            let (key, stored) = item.map_err(map_error)?;
            if split(&stored).0 <= now {
                // Only remove what we saw: a fresh `set` in between must survive.
                let swapped = self
                    .trees
                    .cache
                    .compare_and_swap(&key, Some(&stored), None::<&[u8]>)
                    .map_err(map_error)?;
                purged += u64::from(swapped.is_ok());
            }
        }
        Ok(purged)
    }

    /// Counts a cache write and sweeps expired entries every [`PURGE_EVERY`] writes.
    fn note_cache_write(&self) -> Result<()> {
        if self.cache_writes.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY == PURGE_EVERY - 1 {
            self.purge_expired_cache()?;
        }
        Ok(())
    }
}

#[async_trait]
impl Cache for SledStore {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let cache = &self.trees.cache;
        let Some(stored) = cache.get(key).map_err(map_error)? else {
            return Ok(None);
        };
        let (expires_at, value) = split(&stored);
        if expires_at <= now_ms() {
            // Lazy expiry; a concurrent `set` wins the race and is kept.
            let _ = cache.compare_and_swap(key, Some(&stored), None::<&[u8]>).map_err(map_error)?;
            return Ok(None);
        }
        Ok(Some(Bytes::copy_from_slice(value)))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<()> {
        self.trees.cache.insert(key, entry(expiry(ttl), &value)).map_err(map_error)?;
        self.note_cache_write()
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.trees.cache.remove(key).map_err(map_error)?;
        Ok(())
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64> {
        let cache = &self.trees.cache;
        loop {
            let old = cache.get(key).map_err(map_error)?;
            let live = old.as_deref().map(split).filter(|(expires_at, _)| *expires_at > now_ms());
            // A fixed window: the expiry is set when the counter is created and kept after.
            let (expires_at, count) = match live {
                Some((expires_at, value)) => (expires_at, parse_counter(value)?.saturating_add(1)),
                None => (expiry(ttl), 1),
            };
            let new = entry(expires_at, count.to_string().as_bytes());
            if cache.compare_and_swap(key, old.as_ref(), Some(new)).map_err(map_error)?.is_ok() {
                self.note_cache_write()?;
                return Ok(count);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_their_expiry_and_value() {
        let stored = entry(42, b"hello");
        assert_eq!(split(&stored), (42, &b"hello"[..]));
        assert_eq!(split(&entry(7, b"")), (7, &b""[..]));
    }

    #[test]
    fn a_truncated_entry_reads_as_expired() {
        assert_eq!(split(b"abc").0, 0);
    }

    #[test]
    fn counters_are_decimal_text() {
        assert_eq!(parse_counter(b"41").unwrap(), 41);
        assert_eq!(parse_counter(b"x").unwrap_err().code(), "CONFLICT");
    }
}
