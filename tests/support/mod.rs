//! Shared test fixtures: a deterministic trainer and an opened Modelyard in a temp directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use modelyard::core::Trainer;
use modelyard::{Config, Modelyard, Session, Upload};

pub use modelyard::core::testkit::StepTrainer;

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

/// This test binary started again as a child process that runs only the test `test` (the child
/// side of a multi-process test), told `dir` through the environment variable `env`; its stdin
/// is piped (closing it can be the child's cue) and its stdout comes back as lines.
pub fn spawn_test_child(
    test: &str,
    env: &str,
    dir: &std::path::Path,
) -> (tokio::process::Child, tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>) {
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(env, dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    (child, tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout)))
}

/// The record store on database `database` of the MongoDB server at `url` (a test server's
/// URL, with or without a path and options).
pub fn mongo_store(url: &str, database: &str) -> modelyard::StoreUrl {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let hosts = base.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let url = match query {
        Some(query) => format!("{hosts}/{database}?{query}"),
        None => format!("{hosts}/{database}"),
    };
    modelyard::StoreUrl::parse(&url).unwrap()
}
