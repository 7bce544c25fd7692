//! `/api/model`: create from a dataset, list, read, summary, delete, predict, evaluate.

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use modelyard::{
    Evaluation, Model, ModelId, ModelRequest, ModelSummary, PredictOptions, Prediction, Records,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::PageQuery;
use crate::bearer::Authed;
use crate::error::{ApiJson, ApiQuery, ApiResult, ErrorBody, Id};

/// `{model}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelBody {
    /// The model with its summary and latest trained version.
    pub model: Model,
}

/// `{models}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelsBody {
    /// A page of the user's models, newest first.
    pub models: Vec<Model>,
    /// Pass it as `cursor` for the next page; `null` when this page ends the list.
    pub next_cursor: Option<String>,
}

/// `{summary}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryBody {
    /// Layers, output shapes and parameter counts.
    pub summary: ModelSummary,
}

/// `POST /api/model/{id}/predict` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredictBody {
    /// Rows as objects keyed by column name.
    #[schema(value_type = Vec<Object>)]
    pub rows: Records,
    /// Impute missing feature values (absent keys, `null`, `""`, `"NaN"`) as the model learned
    /// in training instead of refusing them (default false).
    #[serde(default)]
    pub allow_missing: bool,
}

/// `{predictions}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionsBody {
    /// One per row: `{label, probabilities}` or `{value}`.
    pub predictions: Vec<Prediction>,
}

/// `POST /api/model/{id}/evaluate` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateBody {
    /// A dataset holding the model's features and target.
    #[schema(value_type = String, format = Uuid)]
    pub dataset_id: modelyard::DatasetId,
}

/// Creates a model on one of the user's datasets.
#[utoipa::path(post, path = "/api/model", tag = "model", security(("bearer" = [])),
    request_body = ModelRequest,
    responses((status = 201, body = ModelBody), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn create(
    Authed(session): Authed,
    ApiJson(request): ApiJson<ModelRequest>,
) -> ApiResult<impl IntoResponse> {
    let model = session.create_model(request).await?;
    Ok((StatusCode::CREATED, Json(ModelBody { model })))
}

/// A page of the user's models, newest first (`?limit=&cursor=`).
#[utoipa::path(get, path = "/api/model", tag = "model", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = ModelsBody), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    Authed(session): Authed,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<ModelsBody>> {
    let page = session.models_page(query.limit, query.after()?).await?;
    let next_cursor = page.next_cursor.map(|cursor| cursor.to_string());
    Ok(Json(ModelsBody { models: page.items, next_cursor }))
}

/// One model.
#[utoipa::path(get, path = "/api/model/{id}", tag = "model", security(("bearer" = [])),
    params(("id" = String, Path, description = "model id")),
    responses((status = 200, body = ModelBody), (status = 404, body = ErrorBody)))]
pub async fn get(Authed(session): Authed, Id(id): Id<ModelId>) -> ApiResult<Json<ModelBody>> {
    Ok(Json(ModelBody { model: session.model(id).await? }))
}

/// Deletes a model; 409 while it trains.
#[utoipa::path(delete, path = "/api/model/{id}", tag = "model", security(("bearer" = [])),
    params(("id" = String, Path, description = "model id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(Authed(session): Authed, Id(id): Id<ModelId>) -> ApiResult<StatusCode> {
    session.delete_model(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The model's layers, output shapes and parameter counts.
#[utoipa::path(get, path = "/api/model/{id}/summary", tag = "model", security(("bearer" = [])),
    params(("id" = String, Path, description = "model id")),
    responses((status = 200, body = SummaryBody), (status = 404, body = ErrorBody)))]
pub async fn summary(Authed(session): Authed, Id(id): Id<ModelId>) -> ApiResult<Json<SummaryBody>> {
    Ok(Json(SummaryBody { summary: session.summary(id).await? }))
}

/// Predicts rows with the model's latest trained version; 409 before it is trained.
#[utoipa::path(post, path = "/api/model/{id}/predict", tag = "model", security(("bearer" = [])),
    params(("id" = String, Path, description = "model id")), request_body = PredictBody,
    responses((status = 200, body = PredictionsBody), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn predict(
    Authed(session): Authed,
    Id(id): Id<ModelId>,
    ApiJson(body): ApiJson<PredictBody>,
) -> ApiResult<Json<PredictionsBody>> {
    let options = PredictOptions { allow_missing: body.allow_missing };
    Ok(Json(PredictionsBody { predictions: session.predict_with(id, &body.rows, options).await? }))
}

/// Scores the model on a dataset.
#[utoipa::path(post, path = "/api/model/{id}/evaluate", tag = "model", security(("bearer" = [])),
    params(("id" = String, Path, description = "model id")), request_body = EvaluateBody,
    responses((status = 200, body = Evaluation), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn evaluate(
    Authed(session): Authed,
    Id(id): Id<ModelId>,
    ApiJson(body): ApiJson<EvaluateBody>,
) -> ApiResult<Json<Evaluation>> {
    Ok(Json(session.evaluate(id, body.dataset_id).await?))
}
