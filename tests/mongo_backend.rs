//! The facade on a MongoDB store (records, job queue, GridFS blobs) with the in-process cache and
//! event bus: register, upload iris, create a model and train it to completion. Needs
//! `MODELYARD_TEST_MONGO_URL` (FerretDB in CI); under `CI=true` its absence fails.
#![cfg(feature = "mongo")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use modelyard::{Config, Modelyard, RunEvent, RunStatus, StoreUrl, TrainParams};
use support::{IRIS, StepTrainer, iris_model, user};

fn mongo_url() -> Option<String> {
    support::test_service_url("MODELYARD_TEST_MONGO_URL", "FerretDB")
}

/// A config on a fresh database of the server at `url`, with a fixed secret and fast workers.
fn config(url: &str, database: &str) -> Config {
    let mut config = Config::new(url).unwrap();
    config.store = support::mongo_store(url, database);
    config.jwt_secret = Some(b"test-secret-test-secret-test-secret!!".to_vec());
    config.training.lease = Duration::from_secs(2);
    config.training.heartbeat = Duration::from_millis(300);
    config.training.poll_interval = Duration::from_millis(50);
    config.trainer = Some(StepTrainer::quick());
    config
}

fn fresh_database() -> String {
    format!("modelyard_facade_{}", uuid_like())
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("{:x}{:x}", nanos.as_nanos(), std::process::id())
}

async fn drop_database(url: &str, database: &str) {
    let store = modelyard_storage_mongo::MongoStore::open(
        &modelyard_storage_mongo::MongoConfig::new(url, database),
    )
    .await
    .unwrap();
    store.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_trains_to_completion_on_the_mongo_store() {
    let Some(url) = mongo_url() else { return };
    let database = fresh_database();
    let yard = Modelyard::open(config(&url, &database)).await.unwrap();
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;

    // The dataset's bytes went through GridFS and come back.
    let download = ada.download_dataset(model.dataset_id).await.unwrap();
    let dataset = download.dataset.clone();
    // The upload normalises line endings; the rows are the same.
    let stored = String::from_utf8(download.bytes().await.unwrap().to_vec()).unwrap();
    let sent = std::str::from_utf8(IRIS).unwrap();
    assert!(stored.lines().eq(sent.lines()), "{} round-trips through GridFS", dataset.name);

    let run =
        ada.train(model.id, TrainParams { epochs: 4, ..TrainParams::default() }).await.unwrap();
    let events: Vec<RunEvent> = tokio::time::timeout(
        Duration::from_secs(60),
        run.events().await.unwrap().map(Result::unwrap).collect(),
    )
    .await
    .expect("the run finishes in time");
    let epochs: Vec<u32> = events.iter().filter_map(RunEvent::epoch).collect();
    assert_eq!(epochs, [1, 2, 3, 4]);
    let finished = run.get().await.unwrap();
    assert_eq!(finished.status, RunStatus::Completed);
    assert_eq!(finished.history.len(), 4, "every epoch is in the stored run, once");

    // A second process on the same database sees the same records and signs the same tokens in.
    let other = Modelyard::open(config(&url, &database)).await.unwrap();
    let again = other.session(ada.token()).await.unwrap();
    assert_eq!(again.runs().await.unwrap().len(), 1);

    yard.close().await;
    other.close().await;
    drop_database(&url, &database).await;
}

#[tokio::test]
async fn a_mongo_store_without_jwt_secret_is_a_validation_error() {
    let mut config = Config::new("mongodb://127.0.0.1:1/modelyard").unwrap();
    config.trainer = None;
    let err = Modelyard::open(config).await.err().expect("refused");
    assert_eq!(err.field(), Some("jwt_secret"), "{err}");
}

#[tokio::test]
async fn an_unreachable_mongo_is_unavailable_not_a_hang() {
    let mut config = Config::new("mongodb://127.0.0.1:1/modelyard").unwrap();
    config.jwt_secret = Some(b"test-secret-test-secret-test-secret!!".to_vec());
    config.trainer = None;
    let err = tokio::time::timeout(Duration::from_secs(20), Modelyard::open(config))
        .await
        .expect("gives up in time")
        .err()
        .expect("cannot open");
    assert_eq!(err.code(), "UNAVAILABLE", "{err}");
    assert!(err.is_retryable());
}

#[test]
fn mongo_urls_are_checked_and_kept_as_given() {
    let parsed = StoreUrl::parse("mongodb://a:1,b:2/yard?w=majority").unwrap();
    assert_eq!((parsed.as_str(), parsed.data_dir()), ("mongodb://a:1,b:2/yard?w=majority", None));
    let shown = format!("{:?}", StoreUrl::parse("mongodb://u:s3cret@h/db").unwrap());
    assert!(!shown.contains("s3cret"), "{shown}");
    // Redis is registered, as a cache: it cannot hold the records.
    assert_eq!(StoreUrl::parse("redis://h").unwrap_err().code(), "NOT_SUPPORTED");
}
