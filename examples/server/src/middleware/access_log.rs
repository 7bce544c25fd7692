//! Request ids and the access log: one span per request carrying its id, one line per answer.

use std::time::Duration;

use axum::http::{HeaderName, Request, Response};
use tracing::Span;

/// The header carrying a request's id, taken from the client or generated.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The span of one request: method, path (never the query, which may hold a token) and id.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

/// The access-log line of one answer.
pub fn log_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        "answered"
    );
}
