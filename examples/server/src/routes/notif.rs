//! `/api/notif`: the user's notifications, marking one read, and a live stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use modelyard::{Notification, NotificationId};
use serde::Serialize;
use utoipa::ToSchema;

use super::PageQuery;
use crate::bearer::{Authed, StreamAuthed};
use crate::error::{ApiQuery, ApiResult, ErrorBody, Id};
use crate::state::AppState;

/// `{notifications}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsBody {
    /// A page of the user's notifications, newest first.
    pub notifications: Vec<Notification>,
    /// Pass it as `cursor` for the next page; `null` when this page ends the list.
    pub next_cursor: Option<String>,
}

/// A page of the user's notifications, newest first (`?limit=&cursor=`).
#[utoipa::path(get, path = "/api/notif", tag = "notif", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = NotificationsBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    Authed(session): Authed,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<NotificationsBody>> {
    let page = session.notifications_page(query.limit, query.after()?).await?;
    let next_cursor = page.next_cursor.map(|cursor| cursor.to_string());
    Ok(Json(NotificationsBody { notifications: page.items, next_cursor }))
}

/// Marks a notification read.
#[utoipa::path(post, path = "/api/notif/{id}/read", tag = "notif", security(("bearer" = [])),
    params(("id" = String, Path, description = "notification id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn mark_read(
    Authed(session): Authed,
    Id(id): Id<NotificationId>,
) -> ApiResult<StatusCode> {
    session.mark_read(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New notifications as Server-Sent Events named `notification`. The token may be sent as
/// `?access_token=` for `EventSource`.
#[utoipa::path(get, path = "/api/notif/events", tag = "notif", security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream",
        description = "`event: notification` with the notification"),
        (status = 401, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    StreamAuthed(session): StreamAuthed,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let notifications = session.notification_events().await?;
    let shutdown = state.shutdown_token().clone().cancelled_owned();
    let stream = notifications
        .map(|note| {
            Ok(match note {
                Ok(note) => {
                    Event::default().event("notification").json_data(&note).unwrap_or_else(|_| {
                        Event::default().event("error").data("unserialisable event")
                    })
                }
                Err(err) => super::error_event(&err),
            })
        })
        .take_until(shutdown);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
