//! The training engine's contract. Core drives it; `modelyard-ml` implements it on candle.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::{DatasetSchema, EpochMetrics, Model, Result, Table, TrainParams};

/// Asks a running training to stop; the trainer checks it at least once per batch.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A trainer's whole state after an epoch: enough to continue as if never interrupted (weights,
/// optimizer state, generator state). Opaque to core, which stores it as a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The last completed epoch (1-based).
    pub epoch: u32,
    /// The trainer's serialised state.
    pub state: Vec<u8>,
}

/// Everything a training needs.
#[derive(Debug, Clone, Copy)]
pub struct TrainingInput<'a> {
    /// The model definition (features, target, task, layers).
    pub model: &'a Model,
    /// The dataset's schema (kinds, categories, stats).
    pub schema: &'a DatasetSchema,
    /// The dataset's rows.
    pub table: &'a Table,
    /// How to train.
    pub params: &'a TrainParams,
}

/// Hears about every completed epoch. Returning an error stops training with that error (the
/// worker lost its lease, the store is down).
pub trait TrainingObserver: Send {
    /// Called after each epoch with its metrics and a checkpoint to resume from.
    fn on_epoch(&mut self, metrics: &EpochMetrics, checkpoint: &Checkpoint) -> Result<()>;
}

/// How a training ended.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainingOutcome {
    /// Training ran to its last epoch or stopped early; here is the model.
    Trained(TrainedModel),
    /// The cancel token was set; training stopped within one batch.
    Cancelled,
}

/// A trained model: its files and final metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedModel {
    /// Artifact files (`weights.safetensors`, `model.json`), by name.
    pub files: Vec<(String, Vec<u8>)>,
    /// Final metrics (`loss`, `accuracy`, `val_accuracy`, `r2`...).
    pub metrics: BTreeMap<String, f64>,
}

/// One prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum Prediction {
    /// A class with the probability of every class.
    Class {
        /// The most probable class. Shared with the model's list of classes: a batch of
        /// predictions does not copy the names for every row.
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        label: Arc<str>,
        /// Probability per class label.
        #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, f64>))]
        probabilities: BTreeMap<Arc<str>, f64>,
    },
    /// A regression value.
    Value {
        /// The predicted number.
        value: f64,
    },
}

/// A model's quality on a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    /// `accuracy`, `macro_f1` (classification) or `mae`, `rmse`, `r2` (regression), and `loss`.
    pub metrics: BTreeMap<String, f64>,
    /// Precision, recall and F1 per class (classification).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_class: Option<Vec<ClassMetrics>>,
    /// Counts of (actual, predicted) pairs (classification), `matrix[actual][predicted]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confusion_matrix: Option<ConfusionMatrix>,
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassMetrics {
    /// The class label.
    pub label: String,
    /// Of rows predicted as this class, the fraction that were.
    pub precision: f64,
    /// Of rows of this class, the fraction predicted as it.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Rows of this class.
    pub support: u64,
}

/// `matrix[actual][predicted]` counts, rows and columns in `labels` order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConfusionMatrix {
    /// Class labels.
    pub labels: Vec<String>,
    /// Counts.
    pub matrix: Vec<Vec<u64>>,
}

/// The training engine. Synchronous and CPU-bound: core calls it on a blocking thread.
///
/// # Behavior
/// - `train` is deterministic for the same input (seed included) on one machine.
/// - With `resume`, training continues after `resume.epoch` as if never interrupted.
/// - `train` reports every epoch to the observer before starting the next, and stops within one
///   batch of `cancel` being set, returning `TrainingOutcome::Cancelled`.
/// - `load` reads a trained artifact's files once into a [`Predictor`], which core keeps loaded
///   between calls (bounded by bytes, keyed by the model's version).
pub trait Trainer: Send + Sync {
    /// Trains a model.
    fn train(
        &self,
        input: TrainingInput<'_>,
        resume: Option<Checkpoint>,
        observer: &mut dyn TrainingObserver,
        cancel: &CancelToken,
    ) -> Result<TrainingOutcome>;

    /// Loads a trained artifact's files for prediction and evaluation.
    fn load(&self, files: &[(String, Vec<u8>)]) -> Result<Arc<dyn Predictor>>;
}

/// A trained model loaded in memory. Synchronous and CPU-bound: core calls it on a blocking
/// thread unless the work is small ([`Predictor::cost_per_row`]).
///
/// # Behavior
/// `predict` and `evaluate` apply exactly the preprocessing fitted during training, which the
/// artifact carries. Input columns are checked: a missing feature is a `Validation` error.
pub trait Predictor: Send + Sync {
    /// Predicts every row of `table`.
    fn predict(&self, table: &Table) -> Result<Vec<Prediction>>;

    /// Scores the model on a table that includes the target column.
    fn evaluate(&self, table: &Table) -> Result<Evaluation>;

    /// Bytes it holds: what it costs to keep it loaded.
    fn memory_bytes(&self) -> usize;

    /// Multiply-adds of one row's forward pass: what predicting a row costs.
    fn cost_per_row(&self) -> u64;
}
