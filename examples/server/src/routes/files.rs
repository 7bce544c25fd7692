//! `/api/files`: downloads of a dataset's CSV (formula cells neutralised by the facade) and of a
//! trained model's artifact as a zip of `weights.safetensors` and `model.json`.

use axum::body::Body;
use axum::response::IntoResponse;
use modelyard::{DatasetId, ModelId};

use crate::bearer::Authed;
use crate::download::attachment_headers;
use crate::error::{ApiResult, ErrorBody, Id};

/// The dataset as CSV, streamed.
#[utoipa::path(get, path = "/api/files/datasets/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "dataset id")),
    responses((status = 200, content_type = "text/csv", description = "the CSV"),
        (status = 404, body = ErrorBody)))]
pub async fn dataset(
    Authed(session): Authed,
    Id(id): Id<DatasetId>,
) -> ApiResult<impl IntoResponse> {
    let download = session.download_dataset(id).await?;
    let headers = attachment_headers(&download.filename, "text/csv; charset=utf-8");
    Ok((headers, Body::from_stream(download.csv)))
}

/// The trained model as a zip archive; 409 before a run has completed.
#[utoipa::path(get, path = "/api/files/models/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "model id")),
    responses((status = 200, content_type = "application/zip", description = "the model archive"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn model(Authed(session): Authed, Id(id): Id<ModelId>) -> ApiResult<impl IntoResponse> {
    let archive = session.model_archive(id).await?;
    Ok((attachment_headers(&archive.filename, "application/zip"), archive.zip))
}
