//! `/healthz` (the process answers) and `/readyz` (it accepts work: not shutting down, and its
//! record store answers).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// `{status}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// `ok`, `ready`, `draining` or `unavailable`.
    pub status: &'static str,
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = StatusBody)))]
pub async fn healthz() -> Json<StatusBody> {
    Json(StatusBody { status: "ok" })
}

/// Readiness: 200 while the server listens and its record store answers; 503 `draining` while
/// shutting down, 503 `unavailable` while the record store cannot be reached (MongoDB down), so
/// a load balancer routes elsewhere. `/healthz` stays 200 meanwhile: the process lives and
/// recovers by itself when the store returns.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = StatusBody), (status = 503, body = StatusBody)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<StatusBody>) {
    if state.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(StatusBody { status: "draining" }));
    }
    match state.yard().check_ready().await {
        Ok(()) => (StatusCode::OK, Json(StatusBody { status: "ready" })),
        Err(err) => {
            tracing::warn!(%err, "not ready: the record store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, Json(StatusBody { status: "unavailable" }))
        }
    }
}
