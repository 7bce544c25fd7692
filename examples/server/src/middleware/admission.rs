//! Load shedding. At most [`Admission::max_in_flight`] API requests are served at once; one
//! more waits up to [`Admission::queue_wait`] for a slot, and is then answered at once with
//! 503 `UNAVAILABLE` and `Retry-After: 1`. When the store slows down (a collection scan on every
//! list, a disk that stalls), requests pile up here, bounded, and the ones past the bound learn
//! in seconds that they should come back, instead of each holding a connection, memory and a
//! place in the store's connection queue until the client gives up a minute later.
//!
//! The slot is held while the handler runs: a live stream (SSE) gives its slot back as soon as
//! its response starts, an upload keeps it while its body arrives. Health checks and the
//! dashboard's files take no slot.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use modelyard::Error;

use crate::error::ApiError;
use crate::state::AppState;

/// How many API requests run at once, and how long one more waits for a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// API requests served at once.
    pub max_in_flight: usize,
    /// How long a request waits for a slot before it is answered 503.
    pub queue_wait: Duration,
}

impl Default for Admission {
    fn default() -> Self {
        Self { max_in_flight: 1024, queue_wait: Duration::from_secs(5) }
    }
}

/// Serves `request` once a slot is free, or sheds it after the configured wait.
pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let slots = state.admission_slots();
    let permit = match slots.try_acquire() {
        Ok(permit) => permit,
        Err(_) => {
            let wait = state.settings().admission.queue_wait;
            match tokio::time::timeout(wait, slots.acquire()).await {
                Ok(Ok(permit)) => permit,
                // Timed out, or (never: the semaphore is not closed) closed.
                Ok(Err(_)) | Err(_) => {
                    return ApiError(Error::unavailable(
                        "the server is at capacity; retry in a moment",
                    ))
                    .into_response();
                }
            }
        }
    };
    let response = next.run(request).await;
    drop(permit);
    response
}
