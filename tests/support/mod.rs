//! Shared test fixtures: a deterministic trainer and an opened Modelyard in a temp directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use modelyard::core::{
    CancelToken, Checkpoint, ColumnValues, EpochMetrics, Error, Evaluation, Prediction, Result,
    Table, TrainedModel, Trainer, TrainingInput, TrainingObserver, TrainingOutcome,
};
use modelyard::{Config, Modelyard, Session, Upload};

/// A trainer whose every number follows from the epoch, so runs are checkable exactly: epoch `e`
/// has loss `1/e`; each epoch is `batches` batches of `batch_time`; the checkpoint state is the
/// epoch; predictions are the majority class of the target.
pub struct StepTrainer {
    pub batches: u32,
    pub batch_time: Duration,
}

impl StepTrainer {
    pub fn quick() -> Arc<Self> {
        Arc::new(Self { batches: 2, batch_time: Duration::from_millis(5) })
    }

    pub fn slow() -> Arc<Self> {
        Arc::new(Self { batches: 10, batch_time: Duration::from_millis(40) })
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
                let epoch = u32::from_be_bytes(cp.state.try_into().expect("4-byte state"));
                assert_eq!(epoch, cp.epoch);
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
        let label = majority(input.table.column(&input.model.target).expect("target column"));
        let metrics = BTreeMap::from([("loss".to_owned(), 1.0 / f64::from(input.params.epochs))]);
        Ok(TrainingOutcome::Trained(TrainedModel {
            files: vec![("model.json".into(), format!("{{\"label\":{label:?}}}").into_bytes())],
            metrics,
        }))
    }

    fn predict(&self, files: &[(String, Vec<u8>)], table: &Table) -> Result<Vec<Prediction>> {
        let (_, json) = files
            .iter()
            .find(|(n, _)| n == "model.json")
            .ok_or_else(|| Error::internal("no model.json"))?;
        let model: serde_json::Value = serde_json::from_slice(json)?;
        let label = model["label"].as_str().unwrap_or_default().to_owned();
        Ok((0..table.rows)
            .map(|_| Prediction::Class {
                label: label.clone(),
                probabilities: BTreeMap::from([(label.clone(), 1.0)]),
            })
            .collect())
    }

    fn evaluate(&self, _files: &[(String, Vec<u8>)], _table: &Table) -> Result<Evaluation> {
        Err(Error::NotSupported("the step trainer does not evaluate".into()))
    }
}

fn majority(column: &modelyard::core::TableColumn) -> String {
    let mut counts = BTreeMap::<String, usize>::new();
    match &column.values {
        ColumnValues::Text(values) => {
            values.iter().flatten().for_each(|v| *counts.entry(v.clone()).or_default() += 1)
        }
        ColumnValues::Numeric(values) => {
            values.iter().flatten().for_each(|v| *counts.entry(v.to_string()).or_default() += 1)
        }
    }
    counts.into_iter().max_by_key(|(_, c)| *c).map(|(v, _)| v).unwrap_or_default()
}

/// A config for a fresh data directory, with a fixed secret and fast worker timings.
pub fn config(dir: &std::path::Path, trainer: Option<Arc<dyn Trainer>>) -> Config {
    let mut config = Config::new(&format!("sled://{}", dir.display())).unwrap();
    config.jwt_secret = Some(b"test-secret-test-secret-test-secret!!".to_vec());
    config.training.lease = Duration::from_secs(2);
    config.training.heartbeat = Duration::from_millis(300);
    config.training.poll_interval = Duration::from_millis(50);
    config.trainer = trainer;
    config
}

/// A Modelyard in a temp directory, with `trainer` and one worker.
pub async fn open_yard(trainer: Option<Arc<dyn Trainer>>) -> (Modelyard, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let yard = Modelyard::open(config(dir.path(), trainer)).await.unwrap();
    (yard, dir)
}

/// Registers `name` and signs in.
pub async fn user(yard: &Modelyard, name: &str) -> Session {
    yard.register(name, &format!("{name}@example.com"), "a long enough passphrase").await.unwrap()
}

pub const IRIS: &[u8] = include_bytes!("../../examples/data/iris.csv");

pub async fn upload_iris(session: &Session) -> modelyard::Dataset {
    session.upload_dataset("iris", Upload::bytes("iris.csv", IRIS)).await.unwrap()
}

pub async fn iris_model(session: &Session) -> modelyard::Model {
    let dataset = upload_iris(session).await;
    session
        .create_model(modelyard::ModelRequest {
            name: "iris mlp".into(),
            dataset_id: dataset.id,
            target: "species".into(),
            features: None,
            task: None,
            layers: None,
        })
        .await
        .unwrap()
}

/// The user's notifications once there are any: the worker writes the end-of-run notification
/// right after the final status, so a caller that saw the status may be a moment early.
pub async fn notifications_soon(session: &Session) -> Vec<modelyard::core::Notification> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let notes = session.notifications().await.unwrap();
        if !notes.is_empty() || tokio::time::Instant::now() > deadline {
            return notes;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The URL of a test service from `var` (`MODELYARD_TEST_REDIS_URL`...), or `None` after saying
/// the test skips. Under `CI=true` a missing service fails: CI starts every service it tests.
pub fn test_service_url(var: &str, started_by: &str) -> Option<String> {
    let url = std::env::var(var).ok();
    assert!(
        url.is_some() || std::env::var("CI").as_deref() != Ok("true"),
        "{var} is not set under CI=true: scripts/test starts {started_by}"
    );
    if url.is_none() {
        println!("skipped: {var} is not set");
    }
    url
}
