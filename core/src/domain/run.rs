use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::{DatasetId, ModelId, RunId, UserId};

/// One training of a model: its parameters and its lifecycle. Its per-epoch metrics are
/// records of their own (see [`crate::HistoryStore`]), so recording an epoch never rewrites the
/// epochs before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingRun {
    /// The run's id.
    pub id: RunId,
    /// Who started it.
    pub owner: UserId,
    /// The model it trains.
    pub model_id: ModelId,
    /// The dataset it trains on (the model's, at start time).
    pub dataset_id: DatasetId,
    /// How to train.
    pub params: TrainParams,
    /// Where it is in its lifecycle.
    pub status: RunStatus,
    /// How many times a worker has started it (1 on the first claim).
    pub attempt: u32,
    /// The worker holding it while running.
    pub lease: Option<Lease>,
    /// Set by a cancel request on a running run; the worker stops within one batch.
    pub cancel_requested: bool,
    /// The highest epoch recorded so far (epochs complete in order, from 1).
    #[serde(default)]
    pub epochs_completed: u32,
    /// Metrics of the finished run (`loss`, `accuracy`, `val_accuracy`, `r2`...).
    pub final_metrics: Option<BTreeMap<String, f64>>,
    /// Why it failed, for a failed run.
    pub error: Option<String>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When a worker first started it.
    pub started_at: Option<Timestamp>,
    /// When it reached a final status.
    pub finished_at: Option<Timestamp>,
}

impl TrainingRun {
    /// A new run of `model_id` on `dataset_id`, queued, with a fresh id and nothing recorded yet.
    pub fn queued(
        owner: UserId,
        model_id: ModelId,
        dataset_id: DatasetId,
        params: TrainParams,
    ) -> Self {
        Self {
            id: RunId::new(),
            owner,
            model_id,
            dataset_id,
            params,
            status: RunStatus::Queued,
            attempt: 0,
            lease: None,
            cancel_requested: false,
            epochs_completed: 0,
            final_metrics: None,
            error: None,
            created_at: crate::now(),
            started_at: None,
            finished_at: None,
        }
    }

    /// Counts epoch `epoch` as completed; a resumed attempt repeating the epoch it was in
    /// counts it once.
    pub fn complete_epoch(&mut self, epoch: u32) {
        self.epochs_completed = self.epochs_completed.max(epoch);
    }
}

/// A run's lifecycle. `Completed`, `Failed` and `Cancelled` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds it.
    Running,
    /// Trained and saved.
    Completed,
    /// Gave up, with an error.
    Failed,
    /// Stopped on request.
    Cancelled,
}

impl RunStatus {
    /// Whether the run can no longer change.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A worker's hold on a running run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    /// The holding worker's name.
    pub worker: String,
    /// When the hold lapses unless renewed by a heartbeat.
    pub until: Timestamp,
}

/// How to train. Defaults are those of a plain, well-behaved MLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct TrainParams {
    /// Passes over the training split (1..=10,000).
    pub epochs: u32,
    /// Rows per optimizer step (1..=65,536).
    pub batch_size: u32,
    /// Step size (0 < lr <= 10).
    pub learning_rate: f64,
    /// The update rule.
    pub optimizer: Optimizer,
    /// Momentum for SGD (0 <= m < 1).
    pub momentum: f64,
    /// L2 penalty (Adam, SGD) or decoupled decay (AdamW), >= 0.
    pub weight_decay: f64,
    /// Fraction of rows held out for validation, in [0, 0.9].
    pub validation_split: f64,
    /// Seeds weight initialisation, shuffling and the split: same seed, same data, same metrics.
    pub seed: u64,
    /// Stop when validation loss stops improving.
    pub early_stopping: Option<EarlyStopping>,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            epochs: 100,
            batch_size: 32,
            learning_rate: 1e-3,
            optimizer: Optimizer::Adam,
            momentum: 0.9,
            weight_decay: 0.0,
            validation_split: 0.2,
            seed: 42,
            early_stopping: None,
        }
    }
}

/// What a caller sends to start training: the model, and how to train it. Every setting left
/// out takes its [`TrainParams::default`] value. In JSON: `{"modelId": "...", "epochs": 20,
/// "batchSize": 16}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrainRequest {
    /// The model to train.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub model_id: ModelId,
    /// How to train it.
    #[serde(flatten)]
    pub params: TrainParams,
}

impl TrainRequest {
    /// Reads a request from a JSON object, naming the field at fault in the error exactly as
    /// the caller wrote it (`modelId`, `batchSize`, `earlyStopping.patience`). Unknown keys are
    /// refused: a misspelt setting must not silently train with a default.
    pub fn from_json_value(value: serde_json::Value) -> crate::Result<Self> {
        let serde_json::Value::Object(mut fields) = value else {
            return Err(crate::Error::validation("body", "expected a JSON object"));
        };
        let model_id = fields
            .remove("modelId")
            .ok_or_else(|| crate::Error::validation("modelId", "is required"))?;
        let model_id = crate::json::field_from_value("modelId", model_id)?;
        Ok(Self { model_id, params: TrainParams::from_json_map(fields)? })
    }
}

impl TrainParams {
    /// Reads training settings from a JSON object in the camelCase of the HTTP API
    /// (`batchSize`, `learningRate`); absent settings take their defaults, unknown ones are
    /// refused with the key as the error's field.
    pub fn from_json_map(
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> crate::Result<Self> {
        crate::json::refuse_unknown(&fields, TRAIN_PARAM_KEYS)?;
        crate::json::from_value(serde_json::Value::Object(fields))
    }
}

/// The JSON keys of [`TrainParams`].
pub const TRAIN_PARAM_KEYS: &[&str] = &[
    "epochs",
    "batchSize",
    "learningRate",
    "optimizer",
    "momentum",
    "weightDecay",
    "validationSplit",
    "seed",
    "earlyStopping",
];

/// Optimizers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// Stochastic gradient descent with momentum.
    Sgd,
    /// Adam.
    #[default]
    Adam,
    /// Adam with decoupled weight decay.
    Adamw,
}

/// Early stopping on validation loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping (>= 1).
    pub patience: u32,
    /// Smallest decrease that counts as improvement (>= 0).
    #[serde(default)]
    pub min_delta: f64,
}

/// Metrics of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: u32,
    /// Mean training loss.
    pub loss: f64,
    /// Training accuracy (classification).
    pub accuracy: Option<f64>,
    /// Training R² (regression).
    pub r2: Option<f64>,
    /// Validation loss.
    pub val_loss: Option<f64>,
    /// Validation accuracy (classification).
    pub val_accuracy: Option<f64>,
    /// Validation R² (regression).
    pub val_r2: Option<f64>,
    /// Learning rate used in this epoch.
    pub learning_rate: f64,
    /// Wall time of the epoch.
    pub duration_ms: u64,
    /// Training throughput.
    pub samples_per_sec: f64,
}
