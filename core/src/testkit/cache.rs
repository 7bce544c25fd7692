//! [`crate::Cache`]: bytes with a time to live, and fixed-window counters.
//!
//! TTLs here are whole seconds (some caches count in seconds) and every wait is at least half a
//! second past the expiry it checks, so slow machines do not make the tests flaky.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, sleep, sleep_until};

use super::{Fixture, offered};
use crate::Cache;

const SHORT: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(600);
/// Comfortably past [`SHORT`].
const PAST_SHORT: Duration = Duration::from_millis(2_500);

fn fresh_key() -> String {
    format!("testkit:{}", uuid::Uuid::new_v4().simple())
}

fn cache(fx: &Fixture) -> Option<&dyn Cache> {
    offered(&fx.backend.cache, "cache").map(|c| c.as_ref())
}

/// A value set under a key is what `get` returns.
pub async fn set_value_is_returned_by_get(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    let key = fresh_key();
    let value = Bytes::from_static(b"{\"id\":\"user\"}");
    cache.set(&key, value.clone(), LONG).await.expect("set");
    assert_eq!(cache.get(&key).await.expect("get"), Some(value), "get returns the value set");
}

/// A key never set is `None`.
pub async fn missing_key_is_none(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    assert_eq!(cache.get(&fresh_key()).await.expect("get"), None, "get of a missing key");
}

/// An entry is served until its TTL and is `None` after it.
pub async fn cache_entry_expires_after_ttl(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    let key = fresh_key();
    let value = Bytes::from_static(b"short-lived");
    cache.set(&key, value.clone(), SHORT).await.expect("set");
    assert_eq!(cache.get(&key).await.expect("get"), Some(value), "live before its TTL");
    sleep(PAST_SHORT).await;
    assert_eq!(cache.get(&key).await.expect("get"), None, "an expired entry must be None");
}

/// `set` over a key replaces both its value and its TTL, longer or shorter.
pub async fn set_replaces_value_and_ttl(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    let (lengthened, shortened) = (fresh_key(), fresh_key());
    let (old, new) = (Bytes::from_static(b"old"), Bytes::from_static(b"new"));
    cache.set(&lengthened, old.clone(), SHORT).await.expect("set");
    cache.set(&lengthened, new.clone(), LONG).await.expect("set again");
    cache.set(&shortened, old, LONG).await.expect("set");
    cache.set(&shortened, new.clone(), SHORT).await.expect("set again");
    assert_eq!(cache.get(&lengthened).await.expect("get"), Some(new.clone()), "the new value");

    sleep(PAST_SHORT).await;
    let lengthened = cache.get(&lengthened).await.expect("get");
    assert_eq!(lengthened, Some(new), "the second set's longer TTL replaces the first's");
    let shortened = cache.get(&shortened).await.expect("get");
    assert_eq!(shortened, None, "the second set's shorter TTL replaces the first's");
}

/// A deleted key is `None`.
pub async fn deleted_key_is_none(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    let key = fresh_key();
    cache.set(&key, Bytes::from_static(b"doomed"), LONG).await.expect("set");
    cache.delete(&key).await.expect("delete");
    assert_eq!(cache.get(&key).await.expect("get"), None, "get after delete");
}

/// Deleting a key that does not exist is `Ok`.
pub async fn deleting_missing_key_is_ok(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    cache.delete(&fresh_key()).await.expect("delete of a missing key is Ok");
}

/// A counter starts at 1 and counts up by one.
pub async fn increment_counts_from_one(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    let key = fresh_key();
    for expected in 1..=3 {
        let count = cache.increment(&key, LONG).await.expect("increment");
        assert_eq!(count, expected, "increment number {expected} returns {expected}");
    }
}

/// Counters under different keys count separately.
pub async fn counters_are_independent_per_key(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    let (a, b) = (fresh_key(), fresh_key());
    cache.increment(&a, LONG).await.expect("increment");
    cache.increment(&a, LONG).await.expect("increment");
    assert_eq!(cache.increment(&b, LONG).await.expect("increment"), 1, "b's first increment");
    assert_eq!(cache.increment(&a, LONG).await.expect("increment"), 3, "a's third increment");
}

/// The TTL is set when a counter is created and later increments do not extend it: after the
/// window the count starts again at 1 (a login rate limit must not slide).
pub async fn counter_window_is_fixed(fx: &Fixture) {
    let Some(cache) = cache(fx) else { return };
    let key = fresh_key();
    let window = Duration::from_secs(3);
    let start = Instant::now();
    assert_eq!(cache.increment(&key, window).await.expect("increment"), 1, "a new counter");

    // A sliding window would now last until 1.5 s + 3 s = 4.5 s; the fixed one ends at 3 s.
    sleep_until(start + Duration::from_millis(1_500)).await;
    assert_eq!(cache.increment(&key, window).await.expect("increment"), 2, "inside the window");

    sleep_until(start + Duration::from_millis(3_800)).await;
    let count = cache.increment(&key, window).await.expect("increment");
    assert_eq!(count, 1, "after the fixed window the counter starts over (2 means it slid)");
}

/// Concurrent increments of one counter lose none and hand out each count once.
pub async fn concurrent_increments_are_not_lost(fx: &Fixture) {
    let Some(shared) = offered(&fx.backend.cache, "cache") else { return };
    let key = fresh_key();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (cache, key) = (shared.clone(), key.clone());
            tokio::spawn(async move { cache.increment(&key, LONG).await })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.expect("increment task panicked").expect("increment"));
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u64>>(), "20 increments return 1..=20 once each");
}
