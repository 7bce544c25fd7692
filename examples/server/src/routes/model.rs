//! `/api/model`: create from a dataset, list, read, summary, delete, predict, evaluate.

use axum::Json;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use modelyard::core::{ClassMetrics, ConfusionMatrix};
use modelyard::{
    DatasetId, LayerSpec, Model, ModelId, ModelRequest, ModelSummary, Prediction, Task,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use crate::bearer::Authed;
use crate::error::{ApiJson, ApiResult, ErrorBody, Id};

/// `POST /api/model` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateModelBody {
    /// A name for the model.
    pub name: String,
    /// The dataset to learn from.
    #[schema(value_type = String, format = Uuid)]
    pub dataset_id: DatasetId,
    /// The column to predict.
    pub target: String,
    /// The columns to read; by default every usable column but the target.
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// `classification` or `regression`; by default inferred from the target.
    #[serde(default)]
    pub task: Option<Task>,
    /// Hidden layers: `{"type": "dense", "units": 64, "activation": "relu"}`,
    /// `{"type": "dropout", "rate": 0.2}`, `{"type": "batch_norm"}`.
    #[serde(default)]
    pub layers: Option<Vec<LayerSpec>>,
}

impl From<CreateModelBody> for ModelRequest {
    fn from(body: CreateModelBody) -> Self {
        Self {
            name: body.name,
            dataset_id: body.dataset_id,
            target: body.target,
            features: body.features,
            task: body.task,
            layers: body.layers,
        }
    }
}

/// `{model}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelBody {
    /// The model with its summary and latest trained version.
    pub model: Model,
}

/// `{models}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelsBody {
    /// The user's models, newest first.
    pub models: Vec<Model>,
}

/// `{summary}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryBody {
    /// Layers, output shapes and parameter counts.
    pub summary: ModelSummary,
}

/// `POST /api/model/{id}/predict` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PredictBody {
    /// Rows as objects keyed by column name.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
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
    pub dataset_id: DatasetId,
}

/// `{metrics, perClass?, confusionMatrix?}`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationBody {
    /// `accuracy`, `macro_f1` or `mae`, `rmse`, `r2`, and `loss`.
    pub metrics: BTreeMap<String, f64>,
    /// Precision, recall and F1 per class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_class: Option<Vec<ClassMetrics>>,
    /// `{labels, matrix}`, `matrix[actual][predicted]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confusion_matrix: Option<ConfusionMatrix>,
}

/// Creates a model on one of the user's datasets.
#[utoipa::path(post, path = "/api/model", tag = "model", security(("bearer" = [])),
    request_body = CreateModelBody,
    responses((status = 201, body = ModelBody), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn create(
    Authed(session): Authed,
    ApiJson(body): ApiJson<CreateModelBody>,
) -> ApiResult<impl IntoResponse> {
    let model = session.create_model(body.into()).await?;
    Ok((StatusCode::CREATED, Json(ModelBody { model })))
}

/// The user's models.
#[utoipa::path(get, path = "/api/model", tag = "model", security(("bearer" = [])),
    responses((status = 200, body = ModelsBody), (status = 401, body = ErrorBody)))]
pub async fn list(Authed(session): Authed) -> ApiResult<Json<ModelsBody>> {
    Ok(Json(ModelsBody { models: session.models().await? }))
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
    Ok(Json(PredictionsBody { predictions: session.predict(id, &body.rows).await? }))
}

/// Scores the model on a dataset.
#[utoipa::path(post, path = "/api/model/{id}/evaluate", tag = "model", security(("bearer" = [])),
    params(("id" = String, Path, description = "model id")), request_body = EvaluateBody,
    responses((status = 200, body = EvaluationBody), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn evaluate(
    Authed(session): Authed,
    Id(id): Id<ModelId>,
    ApiJson(body): ApiJson<EvaluateBody>,
) -> ApiResult<Json<EvaluationBody>> {
    let evaluation = session.evaluate(id, body.dataset_id).await?;
    Ok(Json(EvaluationBody {
        metrics: evaluation.metrics,
        per_class: evaluation.per_class,
        confusion_matrix: evaluation.confusion_matrix,
    }))
}
