//! Login throttling with counters in the [`Cache`], by (account, client address) and by client
//! address — never by account alone, so nobody can lock the real owner out of their account by
//! failing its password from elsewhere.
//!
//! An attempt is counted *before* the password is checked: `Cache::increment` is atomic, so a
//! burst of concurrent guesses cannot all slip in before a counter is read.
//!
//! - **Account from one client**: after `max_attempts` consecutive failures each attempt must
//!   wait for a delay that doubles (1 s, 2 s, 4 s, ... up to the window). A success forgets
//!   them. The same account from another address is not slowed at all.
//! - **Client address**: a fixed budget per window over every account it tries, never reset by
//!   a success (an attacker's own account must not clear it), so it is larger.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::config::RateLimit;
use crate::{Cache, Error, Result};

/// Counts login attempts per account and per client address.
pub(crate) struct LoginLimiter {
    cache: Arc<dyn Cache>,
    per_account: RateLimit,
    per_client: RateLimit,
}

impl LoginLimiter {
    pub(crate) fn new(
        cache: Arc<dyn Cache>,
        per_account: RateLimit,
        per_client: RateLimit,
    ) -> Self {
        Self { cache, per_account, per_client }
    }

    /// Counts one attempt against the account (normalised email) from the client (`None`: a
    /// caller in this process) and against the client; `RateLimited`, with how long to wait,
    /// while the pair is backing off or once the client is over its budget.
    pub(crate) async fn admit(&self, email_key: &str, client: Option<&str>) -> Result<()> {
        if let Some(client) = client {
            self.count(&format!("ratelimit:login:ip:{client}"), self.per_client).await?;
        }
        self.back_off(&pair_key(email_key, client)).await
    }

    /// Forgets the account's failures from this client after a success.
    pub(crate) async fn forgive(&self, email_key: &str, client: Option<&str>) -> Result<()> {
        let key = pair_key(email_key, client);
        self.cache.delete(&until_key(&key)).await?;
        self.cache.delete(&key).await
    }

    /// One attempt of an (account, client) pair: refused while it waits out its last delay;
    /// past `max_attempts` consecutive failures each attempt sets the next, twice as long.
    async fn back_off(&self, key: &str) -> Result<()> {
        let until = until_key(key);
        if let Some(at) = self.cache.get(&until).await? {
            let wait_ms = millis(&at).saturating_sub(now_millis());
            if wait_ms > 0 {
                return Err(Error::RateLimited { retry_after_secs: wait_ms.div_ceil(1000) });
            }
        }
        let limit = self.per_account;
        // Counted before the password is checked: the attempt that reaches `max_attempts` sets
        // the first delay, which its success would clear.
        let failures = self.cache.increment(key, limit.window).await?;
        let free = u64::from(limit.max_attempts).saturating_sub(1);
        if let Some(over) = failures.checked_sub(free).filter(|n| *n > 0) {
            let delay = backoff(over, limit.window);
            let at = now_millis() + u64::try_from(delay.as_millis()).unwrap_or(u64::MAX / 2);
            self.cache.set(&until, Bytes::from(at.to_string()), delay).await?;
        }
        Ok(())
    }

    async fn count(&self, key: &str, limit: RateLimit) -> Result<()> {
        let attempts = self.cache.increment(key, limit.window).await?;
        let since = since_key(key);
        if attempts == 1 {
            // The counter's TTL is not readable through `Cache`: remember when the window began.
            let started = now_millis().to_string();
            self.cache.set(&since, Bytes::from(started), limit.window).await?;
        }
        if attempts > u64::from(limit.max_attempts) {
            let started = self.cache.get(&since).await?;
            return Err(Error::RateLimited { retry_after_secs: retry_after(started, limit) });
        }
        Ok(())
    }
}

/// The failure counter of an account tried from a client (`local` for in-process callers).
fn pair_key(email_key: &str, client: Option<&str>) -> String {
    format!("ratelimit:login:pair:{}:{email_key}", client.unwrap_or("local"))
}

/// When a backing-off pair may try again (milliseconds since the epoch).
fn until_key(pair: &str) -> String {
    format!("ratelimit-until:{pair}")
}

/// The wait after the `over`-th failure past the free ones: 1 s, doubling, at most `window`.
fn backoff(over: u64, window: Duration) -> Duration {
    Duration::from_secs(1u64 << (over - 1).min(20)).min(window)
}

fn millis(bytes: &Bytes) -> u64 {
    std::str::from_utf8(bytes).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A separate prefix, so no email or client text can name another counter's start time.
fn since_key(counter: &str) -> String {
    format!("ratelimit-since:{counter}")
}

fn now_millis() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0)
}

/// Whole seconds until the window that began at `started` ends; the full window if unknown.
fn retry_after(started: Option<Bytes>, limit: RateLimit) -> u64 {
    let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
    let started = started
        .and_then(|bytes| std::str::from_utf8(&bytes).ok()?.parse::<u64>().ok())
        .unwrap_or_else(now_millis);
    let remaining_ms = window_ms.saturating_sub(now_millis().saturating_sub(started));
    remaining_ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::auth::test_stores::MemoryCache;

    fn limiter(max_attempts: u32) -> LoginLimiter {
        let limit = RateLimit { max_attempts, window: Duration::from_secs(60) };
        LoginLimiter::new(Arc::new(MemoryCache::default()), limit, limit)
    }

    fn wait_of(result: Result<()>) -> u64 {
        match result.unwrap_err() {
            Error::RateLimited { retry_after_secs } => retry_after_secs,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn failures_past_the_free_ones_wait_twice_as_long_each_time() {
        let window = Duration::from_secs(60);
        let limiter = LoginLimiter::new(
            Arc::new(MemoryCache::default()),
            RateLimit { max_attempts: 2, window },
            RateLimit { max_attempts: 100, window },
        );
        let ip = Some("10.0.0.1");
        for _ in 0..2 {
            limiter.admit("a@b.co", ip).await.unwrap(); // the second failure sets 1 s
        }
        assert_eq!(wait_of(limiter.admit("a@b.co", ip).await), 1);
        // The same account from another address, and another account, are not slowed.
        limiter.admit("a@b.co", Some("10.0.0.2")).await.unwrap();
        limiter.admit("c@d.co", ip).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        limiter.admit("a@b.co", ip).await.unwrap();
        assert_eq!(wait_of(limiter.admit("a@b.co", ip).await), 2);
        // A success from that client forgets its failures.
        limiter.forgive("a@b.co", ip).await.unwrap();
        limiter.admit("a@b.co", ip).await.unwrap();
    }

    #[test]
    fn delays_double_up_to_the_window() {
        let window = Duration::from_secs(900);
        let delays: Vec<u64> = (1..=12).map(|n| backoff(n, window).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
        assert_eq!(backoff(u64::MAX, window), window);
    }

    #[tokio::test]
    async fn a_success_clears_the_account_but_not_the_client() {
        let limiter = limiter(2);
        limiter.admit("a@b.co", Some("10.0.0.1")).await.unwrap();
        limiter.admit("a@b.co", Some("10.0.0.1")).await.unwrap();
        limiter.forgive("a@b.co", Some("10.0.0.1")).await.unwrap();
        // The account may try again, but this client has spent its budget.
        let err = limiter.admit("a@b.co", Some("10.0.0.1")).await.unwrap_err();
        assert_eq!(err.code(), "RATE_LIMITED");
        limiter.admit("a@b.co", Some("10.0.0.2")).await.unwrap();
    }

    #[test]
    fn retry_after_is_what_is_left_of_the_window() {
        let limit = RateLimit { max_attempts: 1, window: Duration::from_secs(60) };
        let started = Bytes::from((now_millis() - 20_000).to_string());
        assert!((39..=40).contains(&retry_after(Some(started), limit)));
        assert_eq!(retry_after(None, limit), 60);
        assert_eq!(retry_after(Some(Bytes::from_static(b"garbage")), limit), 60);
    }
}
