//! `/healthz` (the process answers) and `/readyz` (it accepts work: not shutting down).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// `{status}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// `ok`, `ready` or `draining`.
    pub status: &'static str,
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = StatusBody)))]
pub async fn healthz() -> Json<StatusBody> {
    Json(StatusBody { status: "ok" })
}

/// Readiness: 200 once the store is open and the server listens, 503 while shutting down.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = StatusBody), (status = 503, body = StatusBody)))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<StatusBody>) {
    if state.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, Json(StatusBody { status: "draining" }))
    } else {
        (StatusCode::OK, Json(StatusBody { status: "ready" }))
    }
}
