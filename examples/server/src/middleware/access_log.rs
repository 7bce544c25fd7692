//! Request ids and the access log: one span per request carrying its id, one line per answer.

use std::time::Duration;

use axum::http::{HeaderName, Request, Response};
use tracing::Span;

/// The header carrying a request's id, taken from the client or generated.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id taken from a client.
const MAX_REQUEST_ID: usize = 64;

/// Whether a client's request id is taken as it is: 1 to 64 ASCII letters, digits, `-`, `_` or
/// `.` (a UUID, a trace id). Anything else — spaces, markup, `key=value` pairs that would read as
/// log fields — is dropped and a UUID generated in its place.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Removes a request id the client sent that is not [`acceptable_request_id`], so the layer
/// after this one generates one.
pub async fn drop_forged_request_id(mut request: axum::extract::Request) -> axum::extract::Request {
    if request.headers().get_all(&REQUEST_ID).iter().count() > 1
        || request
            .headers()
            .get(&REQUEST_ID)
            .is_some_and(|id| !acceptable_request_id(id.as_bytes()))
    {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// The span of one request: method, path (never the query, which may hold a token) and id. The
/// path is logged quoted and escaped: it is the client's text.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = ?request.uri().path(),
        request_id = %id,
    )
}

/// The access-log line of one answer.
pub fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        target: crate::logs::ACCESS_TARGET,
        status = response.status().as_u16(),
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        "answered"
    );
}
