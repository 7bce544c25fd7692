//! The run lifecycle through the facade: queue, train, record epochs, end once, notify; cancel;
//! follow live; reclaim a dead worker's run and resume it from its checkpoint.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use modelyard::core::NotificationKind;
use modelyard::{Modelyard, RunEvent, RunStatus, TrainParams};
use support::{StepTrainer, iris_model, open_yard, user};

fn params(epochs: u32) -> TrainParams {
    TrainParams { epochs, ..TrainParams::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_records_every_epoch_saves_its_model_and_notifies() {
    let (yard, _dir) = open_yard(Some(StepTrainer::quick())).await;
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(5)).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(30), run.wait()).await.unwrap().unwrap();

    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    assert_eq!(done.attempt, 1);
    let epochs: Vec<u32> = done.history.iter().map(|m| m.epoch).collect();
    assert_eq!(epochs, [1, 2, 3, 4, 5]);
    assert_eq!(done.history[4].loss, 0.2);
    assert!(done.finished_at.is_some());

    let model = ada.model(model.id).await.unwrap();
    assert_eq!(model.latest_version.unwrap().run_id, run.id());
    let files = ada.model_files(model.id).await.unwrap();
    assert_eq!(files[0].name, "model.json");
    // The archive holds the same files, and reads back to them.
    let archive = ada.model_archive(model.id).await.unwrap();
    assert_eq!(archive.filename, "iris mlp.zip");
    assert_eq!(archive.unpack().unwrap(), files);
    assert_eq!(archive.files.len(), files.len());
    let row = serde_json::json!({"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2});
    let predictions =
        ada.predict(model.id, &vec![row.as_object().unwrap().clone()].into()).await.unwrap();
    assert_eq!(predictions.len(), 1);

    let notes = support::notifications_soon(&ada).await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, NotificationKind::RunCompleted);
    assert_eq!(notes[0].run_id, Some(run.id()));
    yard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_replay_history_then_follow_live_until_the_final_status() {
    let (yard, _dir) = open_yard(Some(StepTrainer::slow())).await;
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(3)).await.unwrap();
    let events: Vec<RunEvent> = tokio::time::timeout(
        Duration::from_secs(30),
        run.events().await.unwrap().map(Result::unwrap).collect(),
    )
    .await
    .unwrap();
    let epochs: Vec<u32> = events.iter().filter_map(RunEvent::epoch).collect();
    assert_eq!(epochs, [1, 2, 3], "each epoch once, in order: {events:?}");
    assert!(matches!(events.last(), Some(RunEvent::Status { status: RunStatus::Completed, .. })));
    yard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_running_run_stops_it_within_one_batch() {
    let (yard, _dir) = open_yard(Some(StepTrainer::slow())).await;
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(50)).await.unwrap();
    let mut events = run.events().await.unwrap();
    while let Some(event) = events.next().await {
        if matches!(event.unwrap(), RunEvent::Epoch { .. }) {
            break;
        }
    }
    run.cancel().await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), run.wait()).await.unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Cancelled);
    assert!(done.history.len() < 5, "stopped promptly, after {} epochs", done.history.len());
    assert_eq!(support::notifications_soon(&ada).await[0].kind, NotificationKind::RunCancelled);
    assert_eq!(
        run.cancel().await.unwrap_err().code(),
        "CONFLICT",
        "a finished run cannot be cancelled"
    );
    yard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_run_cancels_at_once_and_a_second_start_conflicts() {
    let (yard, _dir) = open_yard(None).await;
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(5)).await.unwrap();
    assert_eq!(run.status().await.unwrap(), RunStatus::Queued);
    let err = ada.train(model.id, params(5)).await.unwrap_err();
    assert_eq!(err.code(), "CONFLICT", "{err}");
    assert_eq!(ada.delete_model(model.id).await.unwrap_err().code(), "CONFLICT");
    assert_eq!(run.cancel().await.unwrap().status, RunStatus::Cancelled);
    ada.train(model.id, params(5)).await.expect("a new run once the first ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_training_parameters_name_their_field_and_queue_nothing() {
    let (yard, _dir) = open_yard(None).await;
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let err = ada.train(model.id, TrainParams { batch_size: 0, ..params(5) }).await.unwrap_err();
    assert_eq!(err.field(), Some("batch_size"));
    assert!(ada.runs().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_run_is_not_found() {
    let (yard, _dir) = open_yard(None).await;
    let ada = user(&yard, "ada").await;
    let bob = user(&yard, "bob").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(5)).await.unwrap();
    assert_eq!(bob.run(run.id()).await.err().unwrap().code(), "NOT_FOUND");
    assert_eq!(bob.train(model.id, params(5)).await.err().unwrap().code(), "NOT_FOUND");
    assert!(bob.runs().await.unwrap().is_empty());
}

/// A worker process killed with SIGKILL mid-training: its lease lapses, a new worker reclaims the
/// run, resumes after the last checkpoint (attempt 2) and finishes with every epoch exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_run_is_reclaimed_and_resumed_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run_id = train_in_child_and_kill(dir.path(), 3).await;
    let yard =
        Modelyard::open(support::config(dir.path(), Some(StepTrainer::quick()))).await.unwrap();
    let ada = yard.login("ada@example.com", "a long enough passphrase").await.unwrap();
    let run = ada.run(run_id).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(60), run.wait()).await.unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    assert_eq!(done.attempt, 2);
    let epochs: Vec<u32> = done.history.iter().map(|m| m.epoch).collect();
    assert_eq!(epochs, (1..=12).collect::<Vec<_>>(), "no epoch lost or repeated");
    yard.close().await;
}

/// With one attempt allowed, the reclaimed run fails with a reason instead of running again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_fails_with_a_reason_after_max_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let run_id = train_in_child_and_kill(dir.path(), 2).await;
    let mut config = support::config(dir.path(), Some(StepTrainer::quick()));
    config.training.max_attempts = 1;
    let yard = Modelyard::open(config).await.unwrap();
    let ada = yard.login("ada@example.com", "a long enough passphrase").await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(60), ada.run(run_id).await.unwrap().wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, RunStatus::Failed);
    assert!(done.error.unwrap().contains("interrupted"));
    assert_eq!(support::notifications_soon(&ada).await[0].kind, NotificationKind::RunFailed);
    yard.close().await;
}

/// Starts a child process that trains a 12-epoch run, waits until `epochs` epochs are recorded,
/// kills it with SIGKILL and returns the run's id.
async fn train_in_child_and_kill(dir: &std::path::Path, epochs: usize) -> modelyard::RunId {
    let (mut child, mut lines) =
        support::spawn_test_child("child_worker", "MODELYARD_CHILD_DIR", dir);
    let mut run_id = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while let Ok(Ok(Some(line))) = tokio::time::timeout_at(deadline, lines.next_line()).await {
        if let Some(id) = line.strip_prefix("run ") {
            run_id = Some(id.parse().unwrap());
        }
        if line == format!("epoch {epochs}") {
            break;
        }
    }
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    run_id.expect("the child started a run")
}

/// The child side of the kill tests; does nothing unless started by them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_worker() {
    let Some(dir) = std::env::var_os("MODELYARD_CHILD_DIR") else { return };
    let trainer =
        std::sync::Arc::new(StepTrainer { batches: 5, batch_time: Duration::from_millis(40) });
    let yard =
        Modelyard::open(support::config(std::path::Path::new(&dir), Some(trainer))).await.unwrap();
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(12)).await.unwrap();
    println!("\nrun {}", run.id());
    let mut events = run.events().await.unwrap();
    while let Some(Ok(event)) = events.next().await {
        if let RunEvent::Epoch { metrics } = event {
            println!("\nepoch {}", metrics.epoch);
        }
    }
}
