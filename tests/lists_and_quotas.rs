//! Every list pages, runs are listed without their histories, and every kind a user creates has
//! a quota (issue 13, H14): models and runs are refused past theirs, naming the setting;
//! notifications keep the newest.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use modelyard::{Modelyard, RunStatus, TrainParams};
use support::{StepTrainer, iris_model, upload_iris, user};

fn params(epochs: u32) -> TrainParams {
    TrainParams { epochs, ..TrainParams::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_a_cursor_and_refuse_bad_limits() {
    let (yard, _dir) = support::open_yard(None).await;
    let ada = user(&yard, "ada").await;
    let mut uploaded = Vec::new();
    for _ in 0..5 {
        uploaded.push(upload_iris(&ada).await.id);
    }
    let newest_first: Vec<_> = uploaded.iter().rev().copied().collect();
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = ada.datasets_page(Some(2), after).await.unwrap();
        assert!(page.items.len() <= 2);
        walked.extend(page.items.iter().map(|d| d.id));
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(walked, newest_first, "pages of two walk the five datasets newest first");
    let all = ada.datasets().await.unwrap();
    assert_eq!(all.iter().map(|d| d.id).collect::<Vec<_>>(), newest_first);
    let default = ada.datasets_page(None, None).await.unwrap();
    assert_eq!((default.items.len(), default.next_cursor), (5, None), "default limit 100");

    for limit in [0, 1_001] {
        let err = ada.datasets_page(Some(limit), None).await.unwrap_err();
        assert_eq!((err.code(), err.field()), ("VALIDATION", Some("limit")), "{limit}: {err}");
    }
    // Another user's cursor reads nothing of Ada's.
    let bob = user(&yard, "bob").await;
    let page = bob.datasets_page(Some(10), Some(uploaded[4])).await.unwrap();
    assert!(page.items.is_empty());
    // A page is a view like any other: a malformed `after` is refused naming it.
    let err = modelyard::ListOptions { limit: Some(2), after: Some("../x".into()) }
        .parse::<modelyard::DatasetId>()
        .unwrap_err();
    assert_eq!(err.field(), Some("after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_listed_without_histories_and_deleted_once_finished() {
    let (yard, _dir) = support::open_yard(Some(StepTrainer::quick())).await;
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, params(4)).await.unwrap();
    let finished = run.wait().await.unwrap();
    assert_eq!(finished.history.len(), 4, "the run itself has its history");
    assert_eq!(finished.epochs_completed, 4);

    let listed = ada.runs().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].history.is_empty(), "lists carry no history");
    assert_eq!(listed[0].epochs_completed, 4, "but say how far the run got");
    let page = ada.runs_page(Some(10), None).await.unwrap();
    assert_eq!(page.items, listed);
    assert_eq!(run.history().await.unwrap().len(), 4, "the history is one call away");
    // It pages oldest first, the cursor being the page's last epoch.
    let first = run.history_page(Some(3), None).await.unwrap();
    let numbers =
        |epochs: &[modelyard::EpochMetrics]| epochs.iter().map(|m| m.epoch).collect::<Vec<_>>();
    assert_eq!((numbers(&first.items), first.next_cursor), (vec![1, 2, 3], Some(3)));
    let rest = run.history_page(Some(3), Some(3)).await.unwrap();
    assert_eq!((numbers(&rest.items), rest.next_cursor), (vec![4], None));
    let options = modelyard::HistoryOptions { limit: None, after: Some(2) };
    assert_eq!(numbers(&run.history_with(&options).await.unwrap()), vec![3, 4]);
    let all = run.history_with(&modelyard::HistoryOptions::default()).await.unwrap();
    assert_eq!(numbers(&all), vec![1, 2, 3, 4]);
    let err = run.history_page(Some(0), None).await.unwrap_err();
    assert_eq!((err.code(), err.field()), ("VALIDATION", Some("limit")), "{err}");
    for (fields, field) in [
        (serde_json::json!({ "after": "two" }), "after"),
        (serde_json::json!({ "after": 1.5 }), "after"),
        (serde_json::json!({ "limt": 1 }), "limt"),
    ] {
        let serde_json::Value::Object(fields) = fields else { unreachable!() };
        let err = modelyard::HistoryOptions::from_json_map(fields).unwrap_err();
        assert_eq!((err.code(), err.field()), ("VALIDATION", Some(field)), "{err}");
    }

    // A run in progress cannot be deleted; a finished one can, and the model keeps its version.
    let second = ada.train(model.id, params(200)).await.unwrap();
    let err = ada.delete_run(second.id()).await.unwrap_err();
    assert_eq!(err.code(), "CONFLICT", "a queued or running run is not deleted: {err}");
    second.cancel().await.unwrap();
    assert_eq!(second.wait().await.unwrap().status, RunStatus::Cancelled);
    ada.delete_run(second.id()).await.unwrap();
    ada.delete_run(finished.id).await.unwrap();
    let err = ada.run(finished.id).await.unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
    assert!(ada.model(model.id).await.unwrap().latest_version.is_some(), "the model stays trained");
    let again = ada.delete_run(finished.id).await.unwrap_err();
    assert_eq!(again.code(), "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_and_runs_stop_at_their_quota_and_notifications_keep_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config(dir.path(), Some(StepTrainer::quick()));
    config.max_models_per_user = 1;
    config.training.max_runs_per_user = 2;
    config.training.max_notifications_per_user = 2;
    let yard = Modelyard::open(config).await.unwrap();
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;

    let request = modelyard::ModelRequest {
        name: "second".into(),
        dataset_id: model.dataset_id,
        target: "species".into(),
        features: None,
        task: None,
        layers: None,
    };
    let err = ada.create_model(request.clone()).await.unwrap_err();
    assert_eq!(err.code(), "CONFLICT");
    assert!(err.to_string().contains("max_models_per_user = 1"), "{err}");
    assert_eq!(ada.models().await.unwrap().len(), 1, "nothing stored by the refusal");

    let mut finished = Vec::new();
    for _ in 0..2 {
        let run = ada.train(model.id, params(1)).await.unwrap().wait().await.unwrap();
        assert_eq!(run.status, RunStatus::Completed);
        finished.push(run.id);
    }
    let Err(err) = ada.train(model.id, params(1)).await else {
        panic!("a third run is refused");
    };
    assert_eq!(err.code(), "CONFLICT");
    assert!(err.to_string().contains("max_runs_per_user = 2"), "{err}");
    assert_eq!(ada.runs().await.unwrap().len(), 2, "nothing stored by the refusal");
    ada.delete_run(finished[0]).await.unwrap();
    let third = ada.train(model.id, params(1)).await.unwrap().wait().await.unwrap();

    // Three runs ended, three notifications written, the newest two kept.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let notes = ada.notifications().await.unwrap();
        let about: Vec<_> = notes.iter().filter_map(|n| n.run_id).collect();
        if about == vec![third.id, finished[1]] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "notifications: {notes:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Other users have their own quotas.
    let bob = user(&yard, "bob").await;
    iris_model(&bob).await;
}
