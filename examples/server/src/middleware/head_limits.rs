//! Oversized request heads answered with the JSON error body: a URI above
//! [`ConnectionLimits::max_uri_bytes`] is 414, a header block above
//! [`ConnectionLimits::max_header_bytes`] is 431. (hyper, which parses heads, has far larger
//! limits of its own, so these answers come from here, like every other error.)
//!
//! [`ConnectionLimits::max_uri_bytes`]: crate::connections::ConnectionLimits::max_uri_bytes
//! [`ConnectionLimits::max_header_bytes`]: crate::connections::ConnectionLimits::max_header_bytes

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::transport_error;
use crate::state::AppState;

/// Refuses a request whose URI or header block is larger than the server's limits.
pub async fn refuse_oversized_heads(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limits = state.settings().connections;
    let uri = request.uri().path_and_query().map_or(0, |target| target.as_str().len());
    if uri > limits.max_uri_bytes {
        return transport_error(
            StatusCode::URI_TOO_LONG,
            "URI_TOO_LONG",
            &format!(
                "the request URI is {uri} bytes, more than the {} allowed",
                limits.max_uri_bytes
            ),
        );
    }
    // As sent: `name: value\r\n` per header.
    let head: usize =
        request.headers().iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum();
    if head > limits.max_header_bytes {
        return transport_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "HEADERS_TOO_LARGE",
            &format!(
                "the request headers are {head} bytes, more than the {} allowed",
                limits.max_header_bytes
            ),
        );
    }
    next.run(request).await
}
