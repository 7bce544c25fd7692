//! The REST API of DESIGN.md §9, one module per route group.

pub mod auth;
pub mod data;
pub mod files;
pub mod health;
pub mod model;
pub mod notif;
pub mod training;

use axum::response::sse::Event;
use serde::Deserialize;
use utoipa::IntoParams;

/// `?limit=&cursor=` of a list: a page of at most `limit` items, newest first, starting after
/// the `nextCursor` of the page before.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageQuery {
    /// Items to return (default 100, at most 1000).
    pub limit: Option<usize>,
    /// The `nextCursor` of the page before; absent for the first page.
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The cursor as the id it is; anything else is a `Validation` error on `cursor`.
    pub fn after<Id: std::str::FromStr>(&self) -> Result<Option<Id>, modelyard::Error> {
        self.cursor
            .as_deref()
            .map(|cursor| {
                cursor.parse().map_err(|_| {
                    modelyard::Error::validation("cursor", "not a cursor this list gave out")
                })
            })
            .transpose()
    }
}

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
