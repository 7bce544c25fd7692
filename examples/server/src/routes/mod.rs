//! The REST API of DESIGN.md §9, one module per route group.

pub mod auth;
pub mod data;
pub mod files;
pub mod health;
pub mod model;
pub mod notif;
pub mod training;

use axum::response::sse::Event;

/// The Server-Sent Event a failing live stream ends with: `event: error` and the error's code,
/// message and HTTP status, the same as an error answer's.
fn error_event(err: &modelyard::Error) -> Event {
    let status = crate::error::ApiError(err.clone()).status().as_u16();
    Event::default()
        .event("error")
        .json_data(
            serde_json::json!({ "code": err.code(), "message": err.to_string(), "status": status }),
        )
        .unwrap_or_else(|_| Event::default().event("error").data("unserialisable event"))
}
