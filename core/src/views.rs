//! What users see of the stored records: every entry point (the Rust facade, HTTP, Python,
//! Node) returns these views, never the records themselves.
//!
//! A record carries what the platform needs to run (where a file's bytes are, which worker holds
//! a run and until when); a view carries what a user needs. The views here have the records'
//! names, so `modelyard::Dataset` is the view while `modelyard_core::Dataset` stays the record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{
    DatasetId, DatasetSchema, EpochMetrics, LayerSpec, ModelId, ModelSummary, RunId, RunStatus,
    Task, Timestamp, TrainParams, UserId,
};

/// An uploaded table with its inferred schema and column statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    /// The dataset's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: DatasetId,
    /// Who uploaded it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub owner: UserId,
    /// The name the user gave it.
    pub name: String,
    /// The uploaded file's name, sanitised.
    pub original_filename: String,
    /// Size of the stored file in bytes.
    pub size_bytes: u64,
    /// Data rows (the header excluded).
    pub row_count: u64,
    /// Columns with their inferred kinds and statistics.
    pub schema: DatasetSchema,
    /// When it was uploaded.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub uploaded_at: Timestamp,
}

impl From<crate::Dataset> for Dataset {
    fn from(record: crate::Dataset) -> Self {
        let crate::Dataset {
            id,
            owner,
            name,
            original_filename,
            blob_key: _,
            size_bytes,
            row_count,
            schema,
            uploaded_at,
        } = record;
        Self { id, owner, name, original_filename, size_bytes, row_count, schema, uploaded_at }
    }
}

/// A model definition on a dataset, and its latest trained version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// The model's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: ModelId,
    /// Who created it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub owner: UserId,
    /// The name the user gave it.
    pub name: String,
    /// The dataset it learns from.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub dataset_id: DatasetId,
    /// The column it predicts.
    pub target: String,
    /// The columns it reads.
    pub features: Vec<String>,
    /// Classification or regression.
    pub task: Task,
    /// The layers between inputs and outputs.
    pub layers: Vec<LayerSpec>,
    /// Shapes and parameter counts, like Keras `model.summary()`.
    pub summary: ModelSummary,
    /// The most recent successful training, if any.
    pub latest_version: Option<ModelVersion>,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl From<crate::Model> for Model {
    fn from(record: crate::Model) -> Self {
        let crate::Model {
            id,
            owner,
            name,
            dataset_id,
            target,
            features,
            task,
            layers,
            summary,
            latest_version,
            created_at,
        } = record;
        Self {
            id,
            owner,
            name,
            dataset_id,
            target,
            features,
            task,
            layers,
            summary,
            latest_version: latest_version.map(ModelVersion::from),
            created_at,
        }
    }
}

/// A trained version of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelVersion {
    /// The run that trained it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub run_id: RunId,
    /// The files of its artifact (`weights.safetensors`, `model.json`).
    pub files: Vec<ArtifactFile>,
    /// Final metrics of that run.
    pub metrics: BTreeMap<String, f64>,
    /// When training finished.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub trained_at: Timestamp,
}

impl From<crate::ModelVersion> for ModelVersion {
    fn from(record: crate::ModelVersion) -> Self {
        Self {
            run_id: record.run_id,
            files: record
                .artifact
                .into_iter()
                .map(|file| ArtifactFile { name: file.name, size_bytes: file.size_bytes })
                .collect(),
            metrics: record.metrics,
            trained_at: record.trained_at,
        }
    }
}

/// One file of a trained model's artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ArtifactFile {
    /// File name inside the artifact.
    pub name: String,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// One training of a model: its parameters, where it is in its lifecycle, its per-epoch history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrainingRun {
    /// The run's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: RunId,
    /// Who started it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub owner: UserId,
    /// The model it trains.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub model_id: ModelId,
    /// The dataset it trains on (the model's, at start time).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub dataset_id: DatasetId,
    /// How it trains.
    pub params: TrainParams,
    /// Where it is in its lifecycle.
    pub status: RunStatus,
    /// How many times a worker has started it (1 on the first start; more after a worker died).
    pub attempt: u32,
    /// Whether a cancel was asked for while it runs (it stops within one batch).
    pub cancel_requested: bool,
    /// One entry per completed epoch, in order, when the run is read on its own; empty in
    /// lists of runs, where `epochs_completed` says how far it got.
    pub history: Vec<EpochMetrics>,
    /// How many epochs it has completed.
    pub epochs_completed: u32,
    /// Metrics of the finished run (`loss`, `accuracy`, `val_accuracy`, `r2`...).
    pub final_metrics: Option<BTreeMap<String, f64>>,
    /// Why it failed, for a failed run.
    pub error: Option<String>,
    /// When it was queued.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// When a worker first started it.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub started_at: Option<Timestamp>,
    /// When it reached a final status.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<Timestamp>,
}

impl From<crate::TrainingRun> for TrainingRun {
    fn from(record: crate::TrainingRun) -> Self {
        let crate::TrainingRun {
            id,
            owner,
            model_id,
            dataset_id,
            params,
            status,
            attempt,
            lease: _,
            cancel_requested,
            epochs_completed,
            final_metrics,
            error,
            created_at,
            started_at,
            finished_at,
        } = record;
        Self {
            id,
            owner,
            model_id,
            dataset_id,
            params,
            status,
            attempt,
            cancel_requested,
            epochs_completed,
            history: Vec::new(),
            final_metrics,
            error,
            created_at,
            started_at,
            finished_at,
        }
    }
}

impl TrainingRun {
    /// The run with its history (its epoch records, read separately).
    pub fn with_history(record: crate::TrainingRun, history: Vec<EpochMetrics>) -> Self {
        Self { history, ..Self::from(record) }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{ArtifactFile as StoredFile, BlobKey, Lease};

    fn json_keys(value: &serde_json::Value, keys: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    keys.push(key.clone());
                    json_keys(inner, keys);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| json_keys(i, keys)),
            _ => {}
        }
    }

    fn assert_no_internals(value: &impl Serialize) {
        let json = serde_json::to_value(value).unwrap();
        let mut keys = Vec::new();
        json_keys(&json, &mut keys);
        for internal in ["blobKey", "blob_key", "lease", "worker", "passwordHash", "tokenVersion"] {
            assert!(!keys.iter().any(|k| k == internal), "{internal} in {json}");
        }
    }

    #[test]
    fn a_running_run_view_shows_no_lease() {
        let mut run = crate::TrainingRun::queued(
            UserId::new(),
            ModelId::new(),
            DatasetId::new(),
            TrainParams::default(),
        );
        run.status = RunStatus::Running;
        run.lease = Some(Lease { worker: "host-4242-1".into(), until: crate::now() });
        let stored = serde_json::to_string(&run).unwrap();
        assert!(stored.contains("host-4242-1"), "the record keeps its lease");
        let view = TrainingRun::from(run);
        assert_no_internals(&view);
        assert!(!serde_json::to_string(&view).unwrap().contains("4242"));
    }

    #[test]
    fn a_trained_model_view_shows_its_files_without_blob_keys() {
        let key = BlobKey::parse("artifacts/secret-key/weights.safetensors").unwrap();
        let record = crate::Model {
            id: ModelId::new(),
            owner: UserId::new(),
            name: "m".into(),
            dataset_id: DatasetId::new(),
            target: "y".into(),
            features: vec!["x".into()],
            task: Task::Regression,
            layers: crate::default_layers(),
            summary: ModelSummary {
                input_width: 1,
                layers: Vec::new(),
                total_params: 0,
                trainable_params: 0,
            },
            latest_version: Some(crate::ModelVersion {
                run_id: RunId::new(),
                artifact: vec![StoredFile {
                    name: "weights.safetensors".into(),
                    blob_key: key,
                    size_bytes: 12,
                }],
                metrics: BTreeMap::new(),
                trained_at: crate::now(),
            }),
            created_at: crate::now(),
        };
        let view = Model::from(record);
        assert_no_internals(&view);
        let version = view.latest_version.unwrap();
        assert_eq!(
            version.files,
            [ArtifactFile { name: "weights.safetensors".into(), size_bytes: 12 }]
        );
        assert!(!serde_json::to_string(&version).unwrap().contains("secret-key"));
    }
}
