//! The facade's lifecycle: two opens of one sled directory in a process share its store, another
//! process is refused it, and `close()` stops the workers gracefully — a run in flight returns to
//! the queue with its epochs and the next open finishes it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use modelyard::{EpochMetrics, Modelyard, RunEvent, RunStatus, TrainParams};
use support::{StepTrainer, config, iris_model, user};

const PASSPHRASE: &str = "a long enough passphrase";

fn params(epochs: u32) -> TrainParams {
    TrainParams { epochs, ..TrainParams::default() }
}

fn epochs(history: &[EpochMetrics]) -> Vec<u32> {
    history.iter().map(|m| m.epoch).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_opens_of_one_sled_directory_share_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut with_trainer = config(dir.path(), Some(StepTrainer::quick()));
    with_trainer.training.workers = 0; // started below, once B follows the run
    let a = Modelyard::open(with_trainer).await.unwrap();
    let b = Modelyard::open(config(dir.path(), None)).await.expect("no lock error");

    user(&a, "ada").await;
    let ada_on_b = b.login("ada@example.com", PASSPHRASE).await.unwrap();
    let model = iris_model(&ada_on_b).await;
    let run = ada_on_b.train(model.id, params(3)).await.unwrap();
    let events = run.events().await.unwrap();
    a.start_workers(1).await.unwrap();
    let events: Vec<RunEvent> =
        tokio::time::timeout(Duration::from_secs(30), events.map(Result::unwrap).collect())
            .await
            .expect("B's stream sees the epochs A's worker trains");

    // B subscribed before any worker existed: every epoch reached it live, over A's event bus.
    assert!(matches!(events[0], RunEvent::Status { status: RunStatus::Queued, .. }), "{events:?}");
    let live: Vec<u32> = events.iter().filter_map(RunEvent::epoch).collect();
    assert_eq!(live, [1, 2, 3], "{events:?}");
    assert!(matches!(events.last(), Some(RunEvent::Status { status: RunStatus::Completed, .. })));
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_with_a_run_in_flight_requeues_it_and_a_reopen_finishes_it_once() {
    const EPOCHS: u32 = 8;
    let dir = tempfile::tempdir().unwrap();
    let yard = Modelyard::open(config(dir.path(), Some(StepTrainer::slow()))).await.unwrap();
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(EPOCHS)).await.unwrap();
    let mut events = run.events().await.unwrap();
    while let Some(event) = events.next().await {
        if matches!(event.unwrap(), RunEvent::Epoch { metrics } if metrics.epoch == 2) {
            break;
        }
    }

    tokio::time::timeout(Duration::from_secs(10), yard.close()).await.expect("close is prompt");
    let requeued = run.get().await.unwrap();
    assert_eq!(requeued.status, RunStatus::Queued);
    let kept = epochs(&requeued.history);
    assert!(kept.len() >= 2 && kept.len() < EPOCHS as usize, "stopped mid-run: {kept:?}");
    assert_eq!(kept, (1..=kept.len() as u32).collect::<Vec<_>>());

    let id = run.id();
    // Everything that holds the store goes, so the reopen opens sled anew.
    drop((events, run, ada, yard));
    let yard = Modelyard::open(config(dir.path(), Some(StepTrainer::quick()))).await.unwrap();
    let ada = yard.login("ada@example.com", PASSPHRASE).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(60), ada.run(id).await.unwrap().wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, RunStatus::Completed, "{:?}", done.error);
    assert_eq!(done.attempt, 2);
    assert_eq!(epochs(&done.history), (1..=EPOCHS).collect::<Vec<_>>(), "each epoch once");
    yard.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_twice_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let yard = Modelyard::open(config(dir.path(), Some(StepTrainer::quick()))).await.unwrap();
    let ada = user(&yard, "ada").await;
    yard.close().await;
    tokio::time::timeout(Duration::from_secs(5), yard.close()).await.expect("returns at once");

    assert_eq!(yard.start_workers(1).await.unwrap_err().code(), "CONFLICT");
    // The store still answers; no worker picks the run up.
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // six poll intervals
    assert_eq!(run.status().await.unwrap(), RunStatus::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_another_process_holds_is_unavailable_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut lines) =
        support::spawn_test_child("child_holding_a_directory", "MODELYARD_HOLD_DIR", dir.path());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout_at(deadline, lines.next_line()).await.unwrap().unwrap();
        if line.expect("the child opened the directory before exiting") == "holding" {
            break;
        }
    }

    let err = Modelyard::open(config(dir.path(), None)).await.err().expect("the lock is held");
    assert_eq!(err.code(), "UNAVAILABLE", "{err}");
    let named = dir.path().display().to_string();
    assert!(err.to_string().contains(&named), "{err} names {named}");
    assert!(err.to_string().contains("open in another process"), "{err} says why");

    drop(child.stdin.take()); // the child's cue to let go
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap();
    assert!(status.unwrap().success());
    let yard = Modelyard::open(config(dir.path(), None)).await.expect("free once the child exits");
    yard.close().await;
}

/// The child side of the second-process test: holds the directory open until its stdin closes.
/// Does nothing unless started by that test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_holding_a_directory() {
    let Some(dir) = std::env::var_os("MODELYARD_HOLD_DIR") else { return };
    let yard = Modelyard::open(config(std::path::Path::new(&dir), None)).await.unwrap();
    println!("\nholding");
    tokio::task::spawn_blocking(|| std::io::Read::read_to_end(&mut std::io::stdin(), &mut vec![]))
        .await
        .unwrap()
        .unwrap();
    yard.close().await;
}
