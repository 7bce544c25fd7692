//! Per-client token buckets. Login and register get the strictest bucket; the facade adds its
//! own per-account and per-client limit on failed logins behind it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use modelyard::Error;

use crate::error::ApiError;
use crate::state::AppState;

/// A bucket of `burst` requests refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSpec {
    /// Requests a client may make at once.
    pub burst: u32,
    /// Requests regained per second.
    pub per_second: f64,
}

/// Clients tracked before idle buckets are swept.
const SWEEP_AT: usize = 10_000;

/// Token buckets keyed by client address.
#[derive(Debug)]
pub struct RateLimiter {
    spec: RateSpec,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A limiter with `spec` per client.
    pub fn new(spec: RateSpec) -> Self {
        Self { spec, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one request from `client`'s bucket, or says how many seconds until one is back.
    pub fn admit(&self, client: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let burst = f64::from(self.spec.burst.max(1));
        let rate = self.spec.per_second.max(f64::MIN_POSITIVE);
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= SWEEP_AT {
            // A bucket that would be full again carries no state worth keeping.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket { tokens: burst, at: now });
        let refilled = bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate;
        bucket.tokens = refilled.min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / rate).ceil();
            // Float to integer seconds: clamped to a day, so the cast cannot overflow.
            Err(wait.clamp(1.0, 86_400.0) as u64)
        }
    }
}

/// The client's address as this server sees it (no proxy headers are trusted).
pub fn client_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip())
}

/// The client's address, when the server was started with connection info.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())))
    }
}

/// Limits login and register.
pub async fn limit_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match state.auth_limiter().admit(client_ip(&request)) {
        Ok(()) => next.run(request).await,
        Err(retry_after_secs) => ApiError(Error::RateLimited { retry_after_secs }).into_response(),
    }
}

/// Limits every other API route, when configured.
pub async fn limit_api(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(limiter) = state.api_limiter() else {
        return next.run(request).await;
    };
    match limiter.admit(client_ip(&request)) {
        Ok(()) => next.run(request).await,
        Err(retry_after_secs) => ApiError(Error::RateLimited { retry_after_secs }).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_past_its_burst_is_told_when_to_retry() {
        let limiter = RateLimiter::new(RateSpec { burst: 2, per_second: 0.5 });
        let ip = IpAddr::from([10, 0, 0, 1]);
        assert!(limiter.admit(ip).is_ok());
        assert!(limiter.admit(ip).is_ok());
        assert_eq!(limiter.admit(ip), Err(2));
        // Another client has its own bucket.
        assert!(limiter.admit(IpAddr::from([10, 0, 0, 2])).is_ok());
    }
}
