//! `/api/training`: start, list, read, history, cancel, and live events over Server-Sent Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use modelyard::{EpochMetrics, RunEvent, RunId, TrainRequest, TrainingRun};
use serde::Serialize;
use utoipa::ToSchema;

use super::PageQuery;
use crate::bearer::{Authed, StreamAuthed};
use crate::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};
use crate::state::AppState;

/// `{run}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunBody {
    /// The run with its status and history.
    pub run: TrainingRun,
}

/// `{runs}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunsBody {
    /// A page of the user's runs, newest first.
    pub runs: Vec<TrainingRun>,
    /// Pass it as `cursor` for the next page; `null` when this page ends the list.
    pub next_cursor: Option<String>,
}

/// `{history, nextCursor}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryBody {
    /// A page of the completed epochs, oldest first.
    pub history: Vec<EpochMetrics>,
    /// Pass it as `cursor` for the next page (the page's last epoch number); `null` when this
    /// page ends the history.
    pub next_cursor: Option<String>,
}

/// Queues a training run of a model; 409 if the model already has an active run. Settings
/// left out take their defaults; unknown keys are refused.
#[utoipa::path(post, path = "/api/training/start", tag = "training", security(("bearer" = [])),
    request_body = TrainRequest,
    responses((status = 202, body = RunBody), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start(
    Authed(session): Authed,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    let request = TrainRequest::from_json_value(body)?;
    let run = session.train(request.model_id, request.params).await?;
    Ok((StatusCode::ACCEPTED, Json(RunBody { run: run.get().await? })))
}

/// A page of the user's runs, newest first (`?limit=&cursor=`). Runs come without their per-epoch history (`epochsCompleted` says how far each got; `/api/training/{id}/history` has the epochs).
#[utoipa::path(get, path = "/api/training", tag = "training", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = RunsBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    Authed(session): Authed,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<RunsBody>> {
    let page = session.runs_page(query.limit, query.after()?).await?;
    let next_cursor = page.next_cursor.map(|cursor| cursor.to_string());
    Ok(Json(RunsBody { runs: page.items, next_cursor }))
}

/// One run.
#[utoipa::path(get, path = "/api/training/{id}", tag = "training", security(("bearer" = [])),
    params(("id" = String, Path, description = "run id")),
    responses((status = 200, body = RunBody), (status = 404, body = ErrorBody)))]
pub async fn get(Authed(session): Authed, Id(id): Id<RunId>) -> ApiResult<Json<RunBody>> {
    Ok(Json(RunBody { run: session.run(id).await?.get().await? }))
}

/// A page of a run's per-epoch metrics so far, oldest first (`?limit=&cursor=`).
#[utoipa::path(get, path = "/api/training/{id}/history", tag = "training",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "run id"), PageQuery),
    responses((status = 200, body = HistoryBody), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn history(
    Authed(session): Authed,
    Id(id): Id<RunId>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<HistoryBody>> {
    let page = session.run(id).await?.history_page(query.limit, query.after()?).await?;
    let next_cursor = page.next_cursor.map(|epoch| epoch.to_string());
    Ok(Json(HistoryBody { history: page.items, next_cursor }))
}

/// Asks a run to stop: a queued run ends at once, a running one within one batch.
#[utoipa::path(post, path = "/api/training/{id}/cancel", tag = "training",
    security(("bearer" = [])), params(("id" = String, Path, description = "run id")),
    responses((status = 202, body = RunBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn cancel(Authed(session): Authed, Id(id): Id<RunId>) -> ApiResult<impl IntoResponse> {
    let run = session.run(id).await?.cancel().await?;
    Ok((StatusCode::ACCEPTED, Json(RunBody { run })))
}

/// Deletes a finished run; 409 while it is queued or running (cancel it first).
#[utoipa::path(delete, path = "/api/training/{id}", tag = "training", security(("bearer" = [])),
    params(("id" = String, Path, description = "run id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(Authed(session): Authed, Id(id): Id<RunId>) -> ApiResult<StatusCode> {
    session.delete_run(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Live progress as Server-Sent Events: the history so far as `epoch` events, then live `epoch`
/// and `status` events; the stream ends after the final status. The token may be sent as
/// `?access_token=` for `EventSource`.
#[utoipa::path(get, path = "/api/training/{id}/events", tag = "training",
    security(("bearer" = [])), params(("id" = String, Path, description = "run id")),
    responses((status = 200, content_type = "text/event-stream",
        description = "`event: epoch` with the epoch's metrics, `event: status` with `{status, error}`"),
        (status = 404, body = ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    StreamAuthed(session): StreamAuthed,
    Id(id): Id<RunId>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let events = session.run(id).await?.events().await?;
    let shutdown = state.shutdown_token().clone().cancelled_owned();
    let stream = events.map(|event| Ok(run_event(event))).take_until(shutdown);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn run_event(event: modelyard::Result<RunEvent>) -> Event {
    let result = match event {
        Ok(RunEvent::Epoch { metrics }) => Event::default().event("epoch").json_data(&metrics),
        Ok(RunEvent::Status { status, error }) => Event::default()
            .event("status")
            .json_data(serde_json::json!({ "status": status, "error": error })),
        Err(err) => return super::error_event(&err),
    };
    result.unwrap_or_else(|_| Event::default().event("error").data("unserialisable event"))
}
