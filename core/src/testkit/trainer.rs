//! A deterministic [`Trainer`] for tests of everything around training (orchestration, servers,
//! bindings) that must not depend on a real model's numbers or speed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{
    CancelToken, Checkpoint, ColumnValues, ConfusionMatrix, EpochMetrics, Error, Evaluation,
    Prediction, Predictor, Result, Table, TableColumn, TrainedModel, Trainer, TrainingInput,
    TrainingObserver, TrainingOutcome,
};

/// A trainer whose every number follows from the epoch, so runs are checkable exactly: epoch `e`
/// has loss `1/e` and accuracy `1 - 1/(e+1)`; each epoch is `batches` sleeps of `batch_time`
/// (cancellation is checked before each); the checkpoint state is the epoch, and a resume
/// checks it. The trained model (`model.json` + a placeholder `weights.safetensors`) predicts
/// the majority class of the target; evaluation scores that constant guess.
#[derive(Debug, Clone)]
pub struct StepTrainer {
    /// Sleeps per epoch.
    pub batches: u32,
    /// Length of each sleep.
    pub batch_time: Duration,
}

impl StepTrainer {
    /// A trainer taking `batches * batch_time` per epoch.
    pub fn new(batches: u32, batch_time: Duration) -> Arc<Self> {
        Arc::new(Self { batches, batch_time })
    }

    /// 2 x 5 ms per epoch: runs finish at once.
    pub fn quick() -> Arc<Self> {
        Self::new(2, Duration::from_millis(5))
    }

    /// 10 x 40 ms per epoch: long enough to cancel, kill or shut down mid-run.
    pub fn slow() -> Arc<Self> {
        Self::new(10, Duration::from_millis(40))
    }
}

impl Trainer for StepTrainer {
    fn train(
        &self,
        input: TrainingInput<'_>,
        resume: Option<Checkpoint>,
        observer: &mut dyn TrainingObserver,
        cancel: &CancelToken,
    ) -> Result<TrainingOutcome> {
        let start = match resume {
            Some(cp) => {
                let state: [u8; 4] = cp
                    .state
                    .as_slice()
                    .try_into()
                    .map_err(|_| Error::internal("step trainer checkpoint is not 4 bytes"))?;
                let epoch = u32::from_be_bytes(state);
                if epoch != cp.epoch {
                    return Err(Error::internal(format!(
                        "checkpoint of epoch {} holds state of epoch {epoch}",
                        cp.epoch
                    )));
                }
                epoch + 1
            }
            None => 1,
        };
        for epoch in start..=input.params.epochs {
            for _ in 0..self.batches {
                if cancel.is_cancelled() {
                    return Ok(TrainingOutcome::Cancelled);
                }
                std::thread::sleep(self.batch_time);
            }
            let metrics = EpochMetrics {
                epoch,
                loss: 1.0 / f64::from(epoch),
                accuracy: Some(1.0 - 1.0 / f64::from(epoch + 1)),
                r2: None,
                val_loss: None,
                val_accuracy: None,
                val_r2: None,
                learning_rate: input.params.learning_rate,
                duration_ms: 1,
                samples_per_sec: 1.0,
            };
            observer
                .on_epoch(&metrics, &Checkpoint { epoch, state: epoch.to_be_bytes().to_vec() })?;
        }
        let target = input
            .table
            .column(&input.model.target)
            .ok_or_else(|| Error::validation("target", "missing from the table"))?;
        let model = json!({ "label": majority(target), "target": input.model.target });
        Ok(TrainingOutcome::Trained(TrainedModel {
            files: vec![
                ("model.json".into(), model.to_string().into_bytes()),
                ("weights.safetensors".into(), vec![0u8; 16]),
            ],
            metrics: BTreeMap::from([("loss".to_owned(), 1.0 / f64::from(input.params.epochs))]),
        }))
    }

    fn load(&self, files: &[(String, Vec<u8>)]) -> Result<Arc<dyn Predictor>> {
        let model = stored(files)?;
        let text = |key: &str| model[key].as_str().unwrap_or_default().to_owned();
        Ok(Arc::new(Majority { label: text("label"), target: text("target") }))
    }
}

/// What [`StepTrainer`] trains: the majority label of the target.
struct Majority {
    label: String,
    target: String,
}

impl Predictor for Majority {
    fn predict(&self, table: &Table) -> Result<Vec<Prediction>> {
        let label: std::sync::Arc<str> = self.label.as_str().into();
        Ok((0..table.rows)
            .map(|_| Prediction::Class {
                label: label.clone(),
                probabilities: BTreeMap::from([(label.clone(), 1.0)]),
            })
            .collect())
    }

    fn evaluate(&self, table: &Table) -> Result<Evaluation> {
        let label = &self.label;
        let target = table
            .column(&self.target)
            .ok_or_else(|| Error::validation("target", "missing from the table"))?;
        let actual = values(target);
        let mut labels = actual.clone();
        labels.sort();
        labels.dedup();
        let predicted = labels.iter().position(|l| l == label).unwrap_or(0);
        let mut matrix = vec![vec![0u64; labels.len()]; labels.len()];
        for value in &actual {
            let row = labels.iter().position(|l| l == value).unwrap_or(0);
            matrix[row][predicted] += 1;
        }
        let hits = actual.iter().filter(|v| *v == label).count();
        let accuracy = hits as f64 / actual.len().max(1) as f64;
        Ok(Evaluation {
            metrics: BTreeMap::from([("accuracy".to_owned(), accuracy)]),
            per_class: None,
            confusion_matrix: Some(ConfusionMatrix { labels, matrix }),
        })
    }

    fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.label.len() + self.target.len()
    }

    fn cost_per_row(&self) -> u64 {
        1
    }
}

fn stored(files: &[(String, Vec<u8>)]) -> Result<Value> {
    let (_, json) = files
        .iter()
        .find(|(name, _)| name == "model.json")
        .ok_or_else(|| Error::internal("no model.json"))?;
    Ok(serde_json::from_slice(json)?)
}

fn values(column: &TableColumn) -> Vec<String> {
    match &column.values {
        ColumnValues::Text(values) => values.iter().flatten().map(str::to_owned).collect(),
        ColumnValues::Numeric(values) => values.iter().flatten().map(|x| x.to_string()).collect(),
    }
}

fn majority(column: &TableColumn) -> String {
    let mut counts = BTreeMap::<String, usize>::new();
    for value in values(column) {
        *counts.entry(value).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, count)| *count).map(|(value, _)| value).unwrap_or_default()
}
