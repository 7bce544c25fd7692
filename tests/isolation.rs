//! Security checklist item 17 at the facade: user B reaching for anything of user A's — dataset,
//! model, run, artifact or notification — gets NotFound, exactly as if it did not exist, and
//! nothing of A's changes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use modelyard::{RunStatus, TrainParams};
use support::{StepTrainer, iris_model, notifications_soon, open_yard, upload_iris, user};

fn not_found<T>(result: modelyard::Result<T>, what: &str) {
    match result {
        Ok(_) => panic!("{what}: user B reached user A's record"),
        Err(err) => assert_eq!(err.code(), "NOT_FOUND", "{what}: {err}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_records_are_not_found_by_any_operation() {
    let (yard, _dir) = open_yard(Some(StepTrainer::quick())).await;
    let ada = user(&yard, "ada").await;
    let bob = user(&yard, "bob").await;
    let model = iris_model(&ada).await;
    let dataset = model.dataset_id;
    let run =
        ada.train(model.id, TrainParams { epochs: 2, ..TrainParams::default() }).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(30), run.wait()).await.unwrap().unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    let note = notifications_soon(&ada).await.remove(0);
    let bobs_dataset = upload_iris(&bob).await;

    not_found(bob.dataset(dataset).await, "dataset");
    not_found(bob.preview(dataset, 5).await, "preview");
    not_found(bob.download_dataset(dataset).await, "download");
    not_found(bob.delete_dataset(dataset).await, "delete dataset");
    not_found(
        bob.create_model(modelyard::ModelRequest {
            name: "stolen".into(),
            dataset_id: dataset,
            target: "species".into(),
            features: None,
            task: None,
            layers: None,
        })
        .await,
        "model on another user's dataset",
    );
    not_found(bob.model(model.id).await, "model");
    not_found(bob.summary(model.id).await, "summary");
    not_found(bob.model_files(model.id).await, "artifact");
    not_found(bob.model_archive(model.id).await, "archive");
    not_found(bob.predict_csv(model.id, b"sepal_length\n1\n").await, "predict csv");
    not_found(bob.predict(model.id, &vec![serde_json::Map::new()].into()).await, "predict");
    not_found(bob.evaluate(model.id, bobs_dataset.id).await, "evaluate with B's dataset");
    not_found(ada.evaluate(model.id, bobs_dataset.id).await, "evaluate on B's dataset");
    not_found(bob.delete_model(model.id).await, "delete model");
    not_found(bob.train(model.id, TrainParams::default()).await, "train");
    not_found(bob.run(run.id()).await, "run");
    not_found(bob.mark_read(note.id).await, "mark read");

    assert!(bob.models().await.unwrap().is_empty());
    assert!(bob.runs().await.unwrap().is_empty());
    assert!(bob.notifications().await.unwrap().is_empty());
    assert_eq!(bob.datasets().await.unwrap().len(), 1);
    // Nothing of A's changed.
    assert!(ada.dataset(dataset).await.is_ok());
    assert!(ada.model(model.id).await.unwrap().latest_version.is_some());
    assert!(!ada.notifications().await.unwrap()[0].read);
    yard.close().await;
}
