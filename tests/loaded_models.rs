//! Trained models stay loaded between predictions: one artifact read per model version, a
//! reload after a retrain, nothing kept for a deleted model or when the cache is turned off.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use modelyard::core::{
    CancelToken, Checkpoint, Predictor, Result, Trainer, TrainingInput, TrainingObserver,
    TrainingOutcome,
};
use modelyard::{Error, Modelyard, Records, RunStatus, Session, TrainParams};
use serde_json::json;
use support::{StepTrainer, iris_model, user};

/// [`StepTrainer`], counting how often a trained artifact is loaded.
struct CountingTrainer {
    inner: Arc<StepTrainer>,
    loads: AtomicUsize,
}

impl Trainer for CountingTrainer {
    fn train(
        &self,
        input: TrainingInput<'_>,
        resume: Option<Checkpoint>,
        observer: &mut dyn TrainingObserver,
        cancel: &CancelToken,
    ) -> Result<TrainingOutcome> {
        self.inner.train(input, resume, observer, cancel)
    }

    fn load(&self, files: &[(String, Vec<u8>)]) -> Result<Arc<dyn Predictor>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        self.inner.load(files)
    }
}

async fn open(loaded_models_bytes: u64) -> (Modelyard, Arc<CountingTrainer>, tempfile::TempDir) {
    let trainer =
        Arc::new(CountingTrainer { inner: StepTrainer::quick(), loads: AtomicUsize::new(0) });
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config(dir.path(), Some(trainer.clone()));
    config.loaded_models_bytes = loaded_models_bytes;
    (Modelyard::open(config).await.unwrap(), trainer, dir)
}

fn row() -> Records {
    serde_json::from_value(
        json!([{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]),
    )
    .unwrap()
}

async fn train(session: &Session, model: modelyard::ModelId) {
    let run = session.train(model, TrainParams { epochs: 2, ..TrainParams::default() }).await;
    let done = tokio::time::timeout(Duration::from_secs(30), run.unwrap().wait()).await;
    assert_eq!(done.unwrap().unwrap().status, RunStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_is_loaded_once_per_version_and_dropped_with_the_model() {
    let (yard, trainer, _dir) = open(64 * 1024 * 1024).await;
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    train(&ada, model.id).await;
    let loads = || trainer.loads.load(Ordering::SeqCst);

    for _ in 0..5 {
        assert_eq!(ada.predict(model.id, &row()).await.unwrap().len(), 1);
    }
    let dataset = ada.datasets().await.unwrap()[0].id;
    ada.evaluate(model.id, dataset).await.unwrap();
    assert_eq!(loads(), 1, "five predictions and an evaluation read the artifact once");

    // A retrain gives the model a new version: the next prediction loads it.
    train(&ada, model.id).await;
    ada.predict(model.id, &row()).await.unwrap();
    ada.predict(model.id, &row()).await.unwrap();
    assert_eq!(loads(), 2);

    // Another user's prediction with the same id is refused before anything loaded is used.
    let bob = user(&yard, "bob").await;
    assert!(matches!(bob.predict(model.id, &row()).await, Err(Error::NotFound(_))));

    // A deleted model is forgotten: it cannot predict, and a new model loads its own.
    ada.delete_model(model.id).await.unwrap();
    assert!(matches!(ada.predict(model.id, &row()).await, Err(Error::NotFound(_))));
    let other = iris_model(&ada).await;
    train(&ada, other.id).await;
    ada.predict(other.id, &row()).await.unwrap();
    assert_eq!(loads(), 3);
    yard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_memory_for_loaded_models_every_prediction_reads_the_artifact() {
    let (yard, trainer, _dir) = open(0).await;
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    train(&ada, model.id).await;
    for _ in 0..3 {
        ada.predict(model.id, &row()).await.unwrap();
    }
    assert_eq!(trainer.loads.load(Ordering::SeqCst), 3);
    yard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loaded_models_bytes_is_a_setting_of_the_spec() {
    let spec = modelyard::ConfigSpec::from_json(r#"{"loaded_models_bytes": 0}"#).unwrap();
    assert_eq!(modelyard::Config::from_spec(spec).unwrap().loaded_models_bytes, 0);
    let default = modelyard::Config::from_spec(modelyard::ConfigSpec::default()).unwrap();
    assert_eq!(default.loaded_models_bytes, 256 * 1024 * 1024);
    let err = modelyard::ConfigSpec::from_json(r#"{"loaded_models_bytes": -1}"#).unwrap_err();
    assert_eq!(err.field(), Some("loaded_models_bytes"), "{err}");
}
