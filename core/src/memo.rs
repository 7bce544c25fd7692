//! Decoded values remembered next to the exact bytes they were decoded from.
//!
//! Stores hand back bytes (JSON from sled, a cache entry from Redis) and the hot paths decode
//! the same few records again and again: the signed-in user on every request, the models on
//! every list. A [`DecodeMemo`] keeps the last decoded value per key together with its source
//! bytes, and returns a clone only when the bytes just read are *identical*. Correctness does
//! not depend on invalidation: the store is still read every time, so a change made by any
//! process shows at once; only the parsing is skipped.

use std::any::Any;
use std::hash::Hash;
use std::sync::Arc;

/// Values decoded from more bytes than this are not remembered.
const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// What a moka entry costs besides the bytes it holds: moka's node, timer and queue entries,
/// the key and the boxes around the value (a generous round figure). Every byte-bounded moka
/// cache of the project counts it.
pub const ENTRY_OVERHEAD_BYTES: usize = 256;

/// The decoded value's heap, at most this many times its source bytes. Records decoded from
/// JSON take about as much as their text: numbers shrink to 8 bytes, short strings grow to a
/// 24-byte header and a block (`core/tests/memo_weight.rs` holds the records to it).
pub const DECODED_BYTES_PER_SOURCE_BYTE: usize = 2;

/// The memory an entry for a `T` decoded from `source_bytes` bytes is counted as: the bytes
/// kept to compare with, the decoded value's heap and inline size, and the entry itself.
pub fn entry_bytes<T>(source_bytes: usize) -> usize {
    source_bytes * (1 + DECODED_BYTES_PER_SOURCE_BYTE)
        + std::mem::size_of::<T>()
        + ENTRY_OVERHEAD_BYTES
}

/// A bounded memo of decoded values keyed by `K`, checked against their source bytes.
pub struct DecodeMemo<K> {
    entries: moka::sync::Cache<K, Arc<Entry>>,
}

struct Entry {
    bytes: Box<[u8]>,
    value: Box<dyn Any + Send + Sync>,
    /// [`entry_bytes`] of this entry.
    weight: u32,
}

impl<K: Hash + Eq + Send + Sync + 'static> DecodeMemo<K> {
    /// A memo taking up to about `max_bytes` of memory, each entry counted as [`entry_bytes`].
    pub fn new(max_bytes: u64) -> Self {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &K, entry: &Arc<Entry>| entry.weight)
            .build();
        Self { entries }
    }

    /// `decode(bytes)`, or a clone of the value last decoded for `key` if that came from the
    /// very same bytes. Errors are returned, never remembered.
    pub fn decode<T, E>(
        &self,
        key: K,
        bytes: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, E>,
    ) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
    {
        if bytes.len() > MAX_ENTRY_BYTES {
            return decode(bytes);
        }
        if let Some(entry) = self.entries.get(&key)
            && *entry.bytes == *bytes
            && let Some(value) = entry.value.downcast_ref::<T>()
        {
            return Ok(value.clone());
        }
        let value = decode(bytes)?;
        let weight = u32::try_from(entry_bytes::<T>(bytes.len())).unwrap_or(u32::MAX);
        let entry = Entry { bytes: bytes.into(), value: Box::new(value.clone()), weight };
        self.entries.insert(key, Arc::new(entry));
        Ok(value)
    }

    /// Drops what is remembered for `key` (memory only: a stale entry is never returned).
    pub fn forget(&self, key: &K) {
        self.entries.invalidate(key);
    }
}

impl<K> std::fmt::Debug for DecodeMemo<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecodeMemo").field("entries", &self.entries.entry_count()).finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::DecodeMemo;

    fn parse(calls: &AtomicUsize) -> impl Fn(&[u8]) -> Result<String, String> + '_ {
        move |bytes| {
            calls.fetch_add(1, Ordering::SeqCst);
            String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())
        }
    }

    #[test]
    fn same_bytes_decode_once_changed_bytes_decode_again() {
        let memo = DecodeMemo::new(1 << 20);
        let calls = AtomicUsize::new(0);
        assert_eq!(memo.decode(1u8, b"alpha", parse(&calls)).unwrap(), "alpha");
        assert_eq!(memo.decode(1u8, b"alpha", parse(&calls)).unwrap(), "alpha");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Another process changed the record: the new bytes win at once.
        assert_eq!(memo.decode(1u8, b"alphb", parse(&calls)).unwrap(), "alphb");
        assert_eq!(memo.decode(1u8, b"alpha", parse(&calls)).unwrap(), "alpha");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn errors_are_not_remembered_and_types_do_not_mix() {
        let memo = DecodeMemo::new(1 << 20);
        let calls = AtomicUsize::new(0);
        assert!(memo.decode(2u8, &[0xff], parse(&calls)).is_err());
        assert!(memo.decode(2u8, &[0xff], parse(&calls)).is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        memo.decode(3u8, b"7", parse(&calls)).unwrap();
        let as_number = memo.decode(3u8, b"7", |b| {
            std::str::from_utf8(b).unwrap().parse::<u32>().map_err(|e| e.to_string())
        });
        assert_eq!(as_number.unwrap(), 7);
        memo.forget(&3u8);
        memo.decode(3u8, b"7", parse(&calls)).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn large_values_are_decoded_every_time() {
        let memo = DecodeMemo::new(1 << 20);
        let calls = AtomicUsize::new(0);
        let big = vec![b'x'; super::MAX_ENTRY_BYTES + 1];
        memo.decode(4u8, &big, parse(&calls)).unwrap();
        memo.decode(4u8, &big, parse(&calls)).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
