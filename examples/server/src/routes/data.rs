//! `/api/data`: datasets — streamed multipart upload, list, read, preview, delete.

use axum::Json;
use axum::extract::State;
use axum::extract::multipart::{Field, Multipart, MultipartRejection};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use futures::StreamExt;
use modelyard::{Dataset, DatasetId, Error, Preview, Upload};
use serde::{Deserialize, Serialize};
use tokio_stream::wrappers::ReceiverStream;
use utoipa::{IntoParams, ToSchema};

use super::PageQuery;
use crate::bearer::Authed;
use crate::error::{ApiError, ApiQuery, ApiResult, ErrorBody, Id};
use crate::state::AppState;

/// Room for multipart boundaries and part headers on top of the file itself.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// Longest dataset name accepted in a form field before core's own checks.
const MAX_NAME_FIELD_BYTES: usize = 4 * 1024;

/// `{dataset}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatasetBody {
    /// The dataset with its schema and column statistics.
    pub dataset: Dataset,
}

/// `{datasets}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatasetsBody {
    /// A page of the user's datasets, newest first.
    pub datasets: Vec<Dataset>,
    /// Pass it as `cursor` for the next page; `null` when this page ends the list.
    pub next_cursor: Option<String>,
}

/// `{columns, rows}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewBody {
    /// Header cells.
    pub columns: Vec<String>,
    /// Rows of cells as written in the file.
    pub rows: Vec<Vec<String>>,
}

impl From<Preview> for PreviewBody {
    fn from(preview: Preview) -> Self {
        Self { columns: preview.columns, rows: preview.rows }
    }
}

/// `?limit=` of a preview.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PreviewQuery {
    /// Rows to return (default 20; clamped by the server's maximum).
    pub limit: Option<usize>,
}

/// The multipart form of an upload, for the OpenAPI document.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The dataset's name; send it before `file` (defaults to the file name).
    name: Option<String>,
    /// The CSV file.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// Uploads a CSV: the file streams into the facade, which checks, profiles and stores it or
/// stores nothing.
#[utoipa::path(post, path = "/api/data", tag = "data", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = DatasetBody), (status = 400, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    Authed(session): Authed,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<impl IntoResponse> {
    let limit = state.settings().max_upload_bytes;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit.saturating_add(MULTIPART_OVERHEAD)) {
        return Err(too_large(limit));
    }
    let mut multipart = multipart.map_err(|rejection| {
        ApiError(Error::UnsupportedMediaType(format!(
            "send the dataset as multipart/form-data: {}",
            rejection.body_text()
        )))
    })?;
    let mut name: Option<String> = None;
    let mut dataset: Option<Dataset> = None;
    // The form is read to its end: a second `name` or `file` part makes it ambiguous, and an
    // ambiguous form stores nothing (a dataset made from its first file is deleted again).
    let outcome: ApiResult<()> = async {
        while let Some(field) =
            multipart.next_field().await.map_err(|e| multipart_error(&e, limit))?
        {
            match field.name() {
                Some(part @ ("name" | "file")) if dataset.is_some() => {
                    return Err(twice(part, "after the file"));
                }
                Some("name") if name.is_some() => return Err(twice("name", "twice")),
                Some("name") => name = Some(small_text(field).await?),
                Some("file") => {
                    let filename = field.file_name().unwrap_or_default().to_owned();
                    dataset =
                        Some(stream_file(&session, name.as_deref(), filename, field, limit).await?);
                }
                // Unknown parts are drained and ignored.
                _ => {}
            }
        }
        Ok(())
    }
    .await;
    match (outcome, dataset) {
        (Ok(()), Some(dataset)) => Ok((StatusCode::CREATED, Json(DatasetBody { dataset }))),
        (Ok(()), None) => Err(Error::validation("file", "the form has no `file` part").into()),
        (Err(err), stored) => {
            if let Some(dataset) = stored
                && let Err(undo) = session.delete_dataset(dataset.id).await
            {
                tracing::warn!(%undo, dataset = %dataset.id, "ambiguous upload not undone");
            }
            Err(err)
        }
    }
}

/// The error for a form part sent more than once (`where_` says how).
fn twice(part: &str, where_: &str) -> ApiError {
    ApiError(Error::validation(
        part,
        format!("the form has a `{part}` part {where_}: send one `name` and then one `file`"),
    ))
}

/// Feeds the file part to the facade chunk by chunk; the facade stops at its size limit, and
/// the part stops being read as soon as the facade has answered.
async fn stream_file(
    session: &modelyard::Session,
    name: Option<&str>,
    filename: String,
    mut field: Field<'_>,
    limit: u64,
) -> ApiResult<Dataset> {
    let (tx, rx) = tokio::sync::mpsc::channel::<modelyard::Result<Bytes>>(8);
    let upload = Upload::Stream { filename, data: ReceiverStream::new(rx).boxed() };
    let pump = async move {
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => break,
                Err(err) => Err(multipart_error(&err, limit).0),
            };
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                break;
            }
        }
    };
    let (result, ()) = tokio::join!(session.upload_dataset(name, upload), pump);
    Ok(result?)
}

async fn small_text(mut field: Field<'_>) -> ApiResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e, 0))? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_NAME_FIELD_BYTES {
            return Err(Error::validation("name", "is too long").into());
        }
    }
    String::from_utf8(bytes).map_err(|_| Error::validation("name", "is not UTF-8").into())
}

fn multipart_error(err: &axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(limit)
    } else {
        ApiError(Error::validation("file", err.body_text()))
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError(Error::PayloadTooLarge(format!("uploads are limited to {limit} bytes")))
}

/// A page of the user's datasets, newest first (`?limit=&cursor=`).
#[utoipa::path(get, path = "/api/data", tag = "data", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = DatasetsBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    Authed(session): Authed,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<DatasetsBody>> {
    let page = session.datasets_page(query.limit, query.after()?).await?;
    let next_cursor = page.next_cursor.map(|cursor| cursor.to_string());
    Ok(Json(DatasetsBody { datasets: page.items, next_cursor }))
}

/// One dataset.
#[utoipa::path(get, path = "/api/data/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "dataset id")),
    responses((status = 200, body = DatasetBody), (status = 404, body = ErrorBody)))]
pub async fn get(Authed(session): Authed, Id(id): Id<DatasetId>) -> ApiResult<Json<DatasetBody>> {
    Ok(Json(DatasetBody { dataset: session.dataset(id).await? }))
}

/// Deletes a dataset; 409 while a model uses it.
#[utoipa::path(delete, path = "/api/data/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "dataset id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(Authed(session): Authed, Id(id): Id<DatasetId>) -> ApiResult<StatusCode> {
    session.delete_dataset(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The dataset's first rows.
#[utoipa::path(get, path = "/api/data/{id}/preview", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "dataset id"), PreviewQuery),
    responses((status = 200, body = PreviewBody), (status = 404, body = ErrorBody)))]
pub async fn preview(
    Authed(session): Authed,
    Id(id): Id<DatasetId>,
    ApiQuery(query): ApiQuery<PreviewQuery>,
) -> ApiResult<Json<PreviewBody>> {
    Ok(Json(session.preview(id, query.limit.unwrap_or(20)).await?.into()))
}
