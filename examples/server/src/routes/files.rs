//! `/api/files`: downloads of a dataset's CSV (formula cells neutralised by the facade) and of a
//! trained model's artifact as a zip of `weights.safetensors` and `model.json`.

use std::io::Write;

use axum::body::Body;
use axum::response::IntoResponse;
use modelyard::{DatasetId, Error, ModelId};
use zip::write::SimpleFileOptions;

use crate::bearer::Authed;
use crate::download::{attachment_headers, download_name};
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
    let (dataset, bytes) = session.download_dataset(id).await?;
    let headers =
        attachment_headers(&download_name(&dataset.name, ".csv"), "text/csv; charset=utf-8");
    Ok((headers, Body::from_stream(bytes)))
}

/// The trained model as a zip archive; 409 before a run has completed.
#[utoipa::path(get, path = "/api/files/models/{id}", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "model id")),
    responses((status = 200, content_type = "application/zip", description = "the model archive"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn model(Authed(session): Authed, Id(id): Id<ModelId>) -> ApiResult<impl IntoResponse> {
    let model = session.model(id).await?;
    let files = session.model_artifact(id).await?;
    let archive =
        tokio::task::spawn_blocking(move || zip_files(&files)).await.map_err(Error::internal)??;
    let headers = attachment_headers(&download_name(&model.name, ".zip"), "application/zip");
    Ok((headers, archive))
}

fn zip_files(files: &[(String, bytes::Bytes)]) -> Result<Vec<u8>, Error> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        writer.start_file(name.as_str(), options).map_err(Error::internal)?;
        writer.write_all(bytes).map_err(Error::internal)?;
    }
    Ok(writer.finish().map_err(Error::internal)?.into_inner())
}
