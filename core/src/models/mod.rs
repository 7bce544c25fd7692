//! Models: definitions validated against their dataset's schema, summaries, prediction and
//! evaluation through the configured [`Trainer`].

mod cost;
mod loaded;
mod spec;
mod summary;

pub use cost::{CostLimits, TrainingCost};
pub use loaded::DEFAULT_LOADED_MODELS_BYTES;
pub use spec::{ModelRequest, ResolvedSpec, feature_width, resolve_spec};
pub use summary::summarize;

use std::sync::Arc;

use bytes::Bytes;
use futures::future::try_join_all;

use crate::datasets::Records;
use crate::{
    DatasetId, Error, Evaluation, Listed, Model, ModelId, ModelSummary, ModelVersion, Page,
    Prediction, Predictor, Result, Stores, Trainer, UserId, datasets, now,
};
use loaded::LoadedModels;

/// Creates, reads, deletes, predicts with and evaluates models.
#[derive(Clone)]
pub struct ModelService {
    stores: Stores,
    trainer: Option<Arc<dyn Trainer>>,
    limits: CostLimits,
    loaded: LoadedModels,
    /// Models one user may have.
    max_models_per_user: u64,
}

/// Models one user may have, by default.
pub const DEFAULT_MAX_MODELS_PER_USER: u64 = 200;

impl ModelService {
    /// A service over `stores` refusing models beyond `limits`; prediction and evaluation need
    /// a `trainer`. Trained models stay loaded for prediction within `loaded_models_bytes`
    /// (least recently used first out; 0 reads the artifact on every call). One user may have
    /// `max_models_per_user` models.
    pub fn new(
        stores: Stores,
        trainer: Option<Arc<dyn Trainer>>,
        limits: CostLimits,
        loaded_models_bytes: u64,
        max_models_per_user: u64,
    ) -> Self {
        let loaded = LoadedModels::new(loaded_models_bytes);
        Self { stores, trainer, limits, loaded, max_models_per_user }
    }

    /// Validates `request` against its dataset and stores the model.
    pub async fn create(&self, owner: UserId, request: ModelRequest) -> Result<Model> {
        let dataset = self.stores.datasets.get(owner, request.dataset_id).await?;
        let spec = resolve_spec(&request, &dataset.schema)?;
        self.limits.check_model(&spec.summary, dataset.row_count)?;
        let have = self.stores.models.count(owner).await?;
        if have >= self.max_models_per_user {
            return Err(Error::Conflict(format!(
                "you have {have} models, the most one user may have (max_models_per_user = {}): \
                 delete one first",
                self.max_models_per_user
            )));
        }
        let model = Model {
            id: ModelId::new(),
            owner,
            name: spec.name,
            dataset_id: dataset.id,
            target: spec.target,
            features: spec.features,
            task: spec.task,
            summary: spec.summary,
            layers: spec.layers,
            latest_version: None,
            created_at: now(),
        };
        self.stores.models.insert(&model).await?;
        Ok(model)
    }

    /// The owner's models, newest first.
    pub async fn list(&self, owner: UserId) -> Result<Vec<Model>> {
        self.stores.models.list_all(owner).await
    }

    /// A page of the owner's models, newest first.
    pub async fn list_page(&self, owner: UserId, page: Page<ModelId>) -> Result<Listed<Model>> {
        self.stores.models.list(owner, page).await
    }

    /// One of the owner's models.
    pub async fn get(&self, owner: UserId, id: ModelId) -> Result<Model> {
        self.stores.models.get(owner, id).await
    }

    /// A model's layer-by-layer summary.
    pub async fn summary(&self, owner: UserId, id: ModelId) -> Result<ModelSummary> {
        Ok(self.get(owner, id).await?.summary)
    }

    /// Deletes a model and its trained files; refused while one of its runs is queued or running.
    pub async fn delete(&self, owner: UserId, id: ModelId) -> Result<()> {
        let model = self.get(owner, id).await?;
        let runs = self.stores.runs.list_all(owner).await?;
        if let Some(run) = runs.iter().find(|r| r.model_id == id && !r.status.is_final()) {
            return Err(Error::Conflict(format!(
                "model has an active training run {} ({:?}); cancel it first",
                run.id, run.status
            )));
        }
        self.remove(&model).await
    }

    /// Deletes a model record, its loaded copy and its trained files, with no questions asked
    /// (erasing a workspace removes the runs first).
    pub(crate) async fn remove_owned(&self, model: Model) -> Result<()> {
        self.remove(&model).await
    }

    async fn remove(&self, model: &Model) -> Result<()> {
        self.stores.models.delete(model.owner, model.id).await?;
        self.loaded.remove(model.id);
        for file in model.artifact_files() {
            if let Err(err) = self.stores.blobs.delete(&file.blob_key).await {
                tracing::warn!(%err, key = %file.blob_key, "orphaned artifact blob");
            }
        }
        Ok(())
    }

    /// The trained artifact's files, by name (`weights.safetensors`, `model.json`).
    pub async fn artifact(&self, owner: UserId, id: ModelId) -> Result<Vec<(String, Bytes)>> {
        let model = self.get(owner, id).await?;
        self.files(&model.latest_version.ok_or_else(not_trained)?).await
    }

    /// Predicts rows given as records (JSON objects keyed by column name).
    pub async fn predict(
        &self,
        owner: UserId,
        id: ModelId,
        rows: &Records,
        options: PredictOptions,
    ) -> Result<Vec<Prediction>> {
        if rows.is_empty() {
            return Err(Error::validation("rows", "give at least one row"));
        }
        if rows.len() > MAX_PREDICT_ROWS {
            return Err(Error::validation(
                "rows",
                format!("at most {MAX_PREDICT_ROWS} rows per request"),
            ));
        }
        let model = self.trained(owner, id).await?;
        let dataset = self.stores.datasets.get(owner, model.dataset_id).await?;
        let table = datasets::table_from_records(
            rows,
            &dataset.schema,
            &model.features,
            options.allow_missing,
        )?;
        let predictor = self.predictor(&model).await?;
        run_model(predictor, table.rows, move |p| p.predict(&table)).await
    }

    /// Predicts rows given as a CSV document with a header.
    pub async fn predict_csv(
        &self,
        owner: UserId,
        id: ModelId,
        csv: &[u8],
        options: PredictOptions,
    ) -> Result<Vec<Prediction>> {
        let model = self.trained(owner, id).await?;
        let dataset = self.stores.datasets.get(owner, model.dataset_id).await?;
        let table = datasets::parse_table_columns(csv, &dataset.schema, &model.features)?;
        if !options.allow_missing {
            datasets::refuse_missing(&table)?;
        }
        let predictor = self.predictor(&model).await?;
        run_model(predictor, table.rows, move |p| p.predict(&table)).await
    }

    /// Scores the model on one of the owner's datasets, which must hold its features and target.
    pub async fn evaluate(
        &self,
        owner: UserId,
        id: ModelId,
        dataset_id: DatasetId,
    ) -> Result<Evaluation> {
        let model = self.get(owner, id).await?;
        let dataset = self.stores.datasets.get(owner, dataset_id).await?;
        let columns = model.columns();
        let table =
            datasets::read_stored_table(self.stores.blobs.as_ref(), &dataset, Some(&columns))
                .await?;
        let predictor = self.predictor(&model).await?;
        run_model(predictor, table.rows, move |p| p.evaluate(&table)).await
    }

    /// One of the owner's models, which must have been trained (`Conflict` before that, so the
    /// caller learns it before any complaint about the rows).
    async fn trained(&self, owner: UserId, id: ModelId) -> Result<Model> {
        let model = self.get(owner, id).await?;
        if model.latest_version.is_none() {
            return Err(not_trained());
        }
        Ok(model)
    }

    /// The files of a trained version, by name.
    async fn files(&self, version: &ModelVersion) -> Result<Vec<(String, Bytes)>> {
        try_join_all(version.artifact.iter().map(|file| async move {
            let bytes = self.stores.blobs.get_bytes(&file.blob_key).await?;
            Ok::<_, Error>((file.name.clone(), bytes))
        }))
        .await
    }

    /// The model's latest version, loaded: from the cache, or read and kept there.
    async fn predictor(&self, model: &Model) -> Result<Arc<dyn Predictor>> {
        let version = model.latest_version.as_ref().ok_or_else(not_trained)?;
        if let Some(predictor) = self.loaded.get(model.id, version.run_id) {
            return Ok(predictor);
        }
        let files: Vec<(String, Vec<u8>)> =
            self.files(version).await?.into_iter().map(|(n, b)| (n, b.to_vec())).collect();
        let trainer = self.trainer()?;
        let predictor = tokio::task::spawn_blocking(move || trainer.load(&files))
            .await
            .map_err(Error::internal)??;
        self.loaded.insert(model.id, version.run_id, predictor.clone());
        Ok(predictor)
    }

    fn trainer(&self) -> Result<Arc<dyn Trainer>> {
        self.trainer
            .clone()
            .ok_or_else(|| Error::NotSupported("this deployment has no trainer configured".into()))
    }
}

/// Multiply-adds small enough to compute on the calling task: a few rows of a typical model take
/// microseconds, less than handing them to a blocking thread and back would.
const INLINE_COST: u64 = 200_000;

/// Runs `work` on `rows` rows with `predictor`: inline when small, else on a blocking thread.
async fn run_model<T: Send + 'static>(
    predictor: Arc<dyn Predictor>,
    rows: usize,
    work: impl FnOnce(&dyn Predictor) -> Result<T> + Send + 'static,
) -> Result<T> {
    if (rows as u64).saturating_mul(predictor.cost_per_row()) <= INLINE_COST {
        return work(predictor.as_ref());
    }
    tokio::task::spawn_blocking(move || work(predictor.as_ref())).await.map_err(Error::internal)?
}

/// How a prediction reads its rows; as JSON, `{"allowMissing": true}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PredictOptions {
    /// Lets missing feature values through (an absent key or column, `null`, an empty cell or a
    /// marker such as `"NaN"`), imputed as the model learned in training. By default they are
    /// refused, each named: a prediction must not silently answer for a value the caller forgot.
    pub allow_missing: bool,
}

impl PredictOptions {
    /// Missing feature values are imputed instead of refused.
    pub fn allow_missing() -> Self {
        Self { allow_missing: true }
    }

    /// Options from a JSON object (a JavaScript options argument): an unknown key is refused,
    /// naming it and the key it most likely meant.
    pub fn from_json_map(fields: serde_json::Map<String, serde_json::Value>) -> Result<Self> {
        crate::json::refuse_unknown(&fields, &["allowMissing"])?;
        crate::json::from_value(serde_json::Value::Object(fields))
    }
}

/// The most rows one predict call takes.
pub const MAX_PREDICT_ROWS: usize = 10_000;

fn not_trained() -> Error {
    Error::Conflict("the model has no trained version yet: train it first".into())
}
