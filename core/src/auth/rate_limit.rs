//! Login throttling with fixed-window counters in the [`Cache`].
//!
//! An attempt is counted *before* the password is checked: `Cache::increment` is atomic, so a
//! burst of concurrent guesses cannot all slip in before a counter is read. The account counter
//! is deleted on success, so it holds consecutive failures; the client counter is never reset
//! by a success (an attacker's own account must not clear it) and so has a larger budget. A
//! lockout ends with its window: the real user is never locked out for longer than that.

use std::sync::Arc;

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

    /// Counts one attempt against the account (normalised email) and the client, if known;
    /// `RateLimited` once either is over its budget for the current window.
    pub(crate) async fn admit(&self, email_key: &str, client: Option<&str>) -> Result<()> {
        self.count(&account_key(email_key), self.per_account).await?;
        if let Some(client) = client {
            self.count(&format!("ratelimit:login:ip:{client}"), self.per_client).await?;
        }
        Ok(())
    }

    /// Forgets the account's attempts after a success, so only consecutive failures count.
    pub(crate) async fn forgive(&self, email_key: &str) -> Result<()> {
        self.cache.delete(&account_key(email_key)).await
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

fn account_key(email_key: &str) -> String {
    format!("ratelimit:login:email:{email_key}")
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

    #[tokio::test]
    async fn attempts_beyond_the_budget_are_refused_with_a_retry_after() {
        let limiter = limiter(3);
        for _ in 0..3 {
            limiter.admit("a@b.co", None).await.unwrap();
        }
        match limiter.admit("a@b.co", None).await.unwrap_err() {
            Error::RateLimited { retry_after_secs } => {
                assert!((1..=60).contains(&retry_after_secs))
            }
            other => panic!("{other:?}"),
        }
        // Another account is unaffected.
        limiter.admit("c@d.co", None).await.unwrap();
    }

    #[tokio::test]
    async fn a_success_clears_the_account_but_not_the_client() {
        let limiter = limiter(2);
        limiter.admit("a@b.co", Some("10.0.0.1")).await.unwrap();
        limiter.admit("a@b.co", Some("10.0.0.1")).await.unwrap();
        limiter.forgive("a@b.co").await.unwrap();
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
