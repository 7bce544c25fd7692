use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::{BlobKey, DatasetId, ModelId, RunId, UserId};

/// A model definition on a dataset, and its latest trained version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Model {
    /// The model's id.
    pub id: ModelId,
    /// Who created it.
    pub owner: UserId,
    /// The name the user gave it.
    pub name: String,
    /// The dataset it learns from.
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
    pub created_at: Timestamp,
}

impl Model {
    /// The files of the latest trained version (none before training).
    pub fn artifact_files(&self) -> impl Iterator<Item = &ArtifactFile> {
        self.latest_version.iter().flat_map(|version| &version.artifact)
    }

    /// The dataset columns it reads to train or be evaluated: its features and its target.
    pub fn columns(&self) -> Vec<String> {
        self.features.iter().chain(std::iter::once(&self.target)).cloned().collect()
    }
}

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A class label, with probabilities.
    Classification,
    /// A number.
    Regression,
}

/// One hidden layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LayerSpec {
    /// A fully connected layer.
    Dense {
        /// Output width.
        units: u32,
        /// Applied after the affine map.
        #[serde(default)]
        activation: Activation,
    },
    /// Zeroes a fraction of activations while training.
    Dropout {
        /// Fraction dropped, in [0, 1).
        rate: f64,
    },
    /// Normalises activations over the batch.
    BatchNorm,
}

/// Activation functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, x).
    #[default]
    Relu,
    /// Gaussian error linear unit.
    Gelu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// Identity.
    Linear,
}

/// The architecture when a user gives none: two ReLU layers of 64 and 32 units.
pub fn default_layers() -> Vec<LayerSpec> {
    vec![
        LayerSpec::Dense { units: 64, activation: Activation::Relu },
        LayerSpec::Dense { units: 32, activation: Activation::Relu },
    ]
}

/// A model's structure with shapes and parameter counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelSummary {
    /// Width of the encoded input (numeric features count 1, categorical ones their one-hot width).
    pub input_width: u64,
    /// One row per layer, the output layer last.
    pub layers: Vec<LayerSummary>,
    /// Parameters in all layers.
    pub total_params: u64,
    /// Parameters updated by the optimizer.
    pub trainable_params: u64,
}

/// One row of a [`ModelSummary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LayerSummary {
    /// `dense_1`, `dropout_1`, `output`...
    pub name: String,
    /// `Dense (relu)`, `Dropout (0.2)`, `BatchNorm`.
    pub kind: String,
    /// Output shape with the batch dimension first (`None`).
    pub output_shape: Vec<Option<u64>>,
    /// Parameters in this layer.
    pub params: u64,
    /// Of which trainable.
    pub trainable_params: u64,
}

/// A trained version of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelVersion {
    /// The run that trained it.
    pub run_id: RunId,
    /// The artifact's files, each in the blob store.
    pub artifact: Vec<ArtifactFile>,
    /// Final metrics of that run.
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// When training finished.
    pub trained_at: Timestamp,
}

/// One file of a trained model artifact (`weights.safetensors`, `model.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactFile {
    /// File name inside the artifact.
    pub name: String,
    /// Where its bytes are.
    pub blob_key: BlobKey,
    /// Size in bytes.
    pub size_bytes: u64,
}
