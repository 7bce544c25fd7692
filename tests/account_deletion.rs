//! Deleting an account removes everything it owned, in every store (issue 13, H6): its running
//! run stops at once (the worker is free for other users), and none of its records or files
//! are left — checked by listing the blob store itself and counting the owner's records
//! straight in the backend, on sled and on MongoDB (GridFS).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use modelyard::core::{Backend, UserId};
use modelyard::{Config, Modelyard, RunStatus, TrainParams};
use support::{StepTrainer, iris_model, user};

const PASSWORD: &str = "a long enough passphrase";

/// What the scenario leaves for the checks.
struct Left {
    ada: UserId,
    bob: UserId,
    /// Blob keys that existed before Ada made anything (Bob's dataset).
    bobs_first_blobs: BTreeSet<String>,
    bob_model: modelyard::ModelId,
    /// Ada's finished run and her long run, each with epochs recorded.
    ada_runs: [modelyard::RunId; 2],
    /// Bob's run.
    bob_run: modelyard::RunId,
}

fn params(epochs: u32) -> TrainParams {
    TrainParams { epochs, ..TrainParams::default() }
}

/// Bob uploads and creates a model; Ada trains a model, leaves a 2,000-epoch run running and
/// another queued, has notifications; Ada deletes her account; Bob then trains, and his run
/// must not wait behind hers.
async fn scenario<F, Fut>(yard: &Modelyard, blobs: F) -> Left
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = BTreeSet<String>>,
{
    let bob = user(yard, "bob").await;
    let bob_model = iris_model(&bob).await;
    let bobs_first_blobs = blobs().await;

    let ada = user(yard, "ada").await;
    let ada_id = ada.me().await.unwrap().id;
    let model = iris_model(&ada).await;
    let trained = ada.train(model.id, params(2)).await.unwrap().wait().await.unwrap();
    assert_eq!(trained.status, RunStatus::Completed);
    let long = ada.train(model.id, params(2_000)).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while long.get().await.unwrap().history.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the long run never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = iris_model(&ada).await;
    let queued = ada.train(second.id, params(3)).await.unwrap();
    assert_eq!(queued.status().await.unwrap(), RunStatus::Queued, "one worker, busy");
    assert!(!support::notifications_soon(&ada).await.is_empty(), "Ada has notifications");
    let before = blobs().await;
    assert!(
        before.iter().any(|key| key.starts_with(&format!("models/{}/", model.id))),
        "Ada's trained files are in the blob store: {before:?}"
    );
    assert!(before.len() >= bobs_first_blobs.len() + 4, "and her datasets and checkpoint");

    let wrong = ada.delete_account("not the password").await.unwrap_err();
    assert_eq!(wrong.code(), "UNAUTHORIZED");
    assert_eq!(blobs().await, before, "a refused deletion erases nothing");
    ada.delete_account(PASSWORD).await.unwrap();
    let login = yard.login("ada@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(login.code(), "UNAUTHORIZED");

    // With Ada's 2,000 epochs still going, Bob's run would wait minutes for the one worker.
    let started = std::time::Instant::now();
    let bobs_run = bob.train(bob_model.id, params(2)).await.unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(30), bobs_run.wait())
        .await
        .expect("Bob's run waited behind the deleted account's run")
        .unwrap();
    assert_eq!(finished.status, RunStatus::Completed);
    println!("Bob's 2-epoch run finished {:?} after Ada left", started.elapsed());

    // Nothing of Ada's is left in the blob store: what remains is Bob's.
    let after = blobs().await;
    let bobs_model_files = format!("models/{}/", bob_model.id);
    // Bob's checkpoint goes a moment after his run reads as completed.
    let bobs_checkpoint = format!("checkpoints/{}", finished.id);
    let strays: Vec<&String> = after
        .iter()
        .filter(|key| !bobs_first_blobs.contains(*key) && !key.starts_with(&bobs_model_files))
        .filter(|key| **key != bobs_checkpoint)
        .collect();
    assert!(strays.is_empty(), "blobs left after the account was deleted: {strays:?}");
    assert!(after.is_superset(&bobs_first_blobs), "Bob's files stay");
    Left {
        ada: ada_id,
        bob: bob.me().await.unwrap().id,
        bobs_first_blobs,
        bob_model: bob_model.id,
        ada_runs: [trained.id, long.id()],
        bob_run: finished.id,
    }
}

/// Ada has no record left of any kind; Bob keeps his.
async fn assert_records(backend: &Backend, left: &Left) {
    assert_eq!(backend.datasets.count(left.ada).await.unwrap(), 0, "Ada's datasets");
    assert_eq!(backend.models.count(left.ada).await.unwrap(), 0, "Ada's models");
    assert_eq!(backend.runs.count(left.ada).await.unwrap(), 0, "Ada's runs");
    assert_eq!(backend.notifications.count(left.ada).await.unwrap(), 0, "Ada's notifications");
    let user = backend.users.get_user(left.ada).await.unwrap_err();
    assert_eq!(user.code(), "NOT_FOUND", "Ada's account");
    assert_eq!(backend.datasets.count(left.bob).await.unwrap(), 1, "Bob's dataset");
    let bobs = backend.models.get(left.bob, left.bob_model).await.unwrap();
    assert!(bobs.latest_version.is_some(), "Bob's model is trained");
    assert_eq!(backend.runs.count(left.bob).await.unwrap(), 1, "Bob's run");
    for run in left.ada_runs {
        let epochs = backend.history.all_epochs(left.ada, run).await.unwrap();
        assert!(epochs.is_empty(), "Ada's run {run} keeps {} epoch records", epochs.len());
    }
    let bobs = backend.history.all_epochs(left.bob, left.bob_run).await.unwrap();
    assert_eq!(bobs.len(), 2, "Bob's run keeps its history");
    assert!(!left.bobs_first_blobs.is_empty());
}

/// Every file under `root`, as its path relative to it with `/` (the blob key), temporary
/// files of unfinished writes excluded.
fn files_under(root: &Path) -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, out);
            } else {
                let key = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
                out.insert(key);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out.retain(|key| !key.starts_with('.'));
    out
}

fn slow_config(config: &mut Config) {
    // 20 ms per epoch: Ada's 2,000-epoch run would hold the worker for 40 s.
    config.trainer = Some(StepTrainer::new(2, Duration::from_millis(10)));
    config.training.workers = 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_on_sled_leaves_no_record_and_no_file_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config(dir.path(), None);
    slow_config(&mut config);
    let yard = Modelyard::open(config).await.unwrap();
    let blob_root = dir.path().join("blobs");
    let left = scenario(&yard, || async { files_under(&blob_root) }).await;
    yard.close().await;
    drop(yard);
    let backend = modelyard_storage_sled::SledStore::open(
        &modelyard_storage_sled::SledConfig::new(dir.path()),
    )
    .unwrap()
    .backend();
    assert_records(&backend, &left).await;
}

#[cfg(feature = "mongo")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_on_mongodb_leaves_no_record_and_no_file_of_it() {
    use futures::TryStreamExt;
    use mongodb::bson::{Document, doc};

    let Some(url) = support::test_service_url("MODELYARD_TEST_MONGO_URL", "FerretDB") else {
        return;
    };
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let database = format!("modelyard_erase_{:x}{:x}", nanos.as_nanos(), std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config(dir.path(), None);
    config.store = support::mongo_store(&url, &database);
    slow_config(&mut config);
    let yard = Modelyard::open(config).await.unwrap();
    let store = modelyard_storage_mongo::MongoStore::open(
        &modelyard_storage_mongo::MongoConfig::new(&url, &database),
    )
    .await
    .unwrap();
    let files = store.database().collection::<Document>("blobs.files");
    let blobs = || async {
        let cursor = files.find(doc! {}).await.unwrap();
        let docs: Vec<Document> = cursor.try_collect().await.unwrap();
        docs.iter().map(|d| d.get_str("filename").unwrap().to_owned()).collect()
    };
    let left = scenario(&yard, blobs).await;
    let chunks = store.database().collection::<Document>("blobs.chunks");
    let live: BTreeSet<String> = blobs().await;
    // GridFS deletes a file's document before its chunks, so a delete in flight (Bob's
    // checkpoint goes a moment after his run completes) shows chunks without a file for a
    // moment: what must hold is that none stay.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ids: Vec<Document> = files.find(doc! {}).await.unwrap().try_collect().await.unwrap();
        let ids: Vec<_> = ids.iter().map(|d| d.get("_id").unwrap().clone()).collect();
        let orphans = chunks.count_documents(doc! { "files_id": { "$nin": ids } }).await.unwrap();
        if orphans == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{orphans} GridFS chunks of deleted files stay ({live:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_records(&store.clone().backend(), &left).await;
    yard.close().await;
    store.drop_database().await.unwrap();
}
