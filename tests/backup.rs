//! Backups (issue 15, item 4): a sled deployment is exported to one archive and imported into
//! MongoDB + S3 — the documented way to outgrow the embedded default — with every account,
//! record, file and run history intact; one account's workspace moves on its own; and a
//! damaged, truncated or clashing archive is refused with nothing written.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::Path;
use std::time::Duration;

use modelyard::{Modelyard, Records, RunStatus, Session, TrainParams};
use serde_json::{Value, json};
use support::{StepTrainer, iris_model, user};

const PASSWORD: &str = "a long enough passphrase";

fn row() -> Records {
    serde_json::from_value(
        json!([{"sepal_length": 6.3, "sepal_width": 2.5, "petal_length": 5.0, "petal_width": 1.9}]),
    )
    .unwrap()
}

/// Everything a user sees of their workspace, as JSON: what must come back unchanged.
async fn workspace(session: &Session) -> Value {
    let mut runs = Vec::new();
    for run in session.runs().await.unwrap() {
        let history = session.run(run.id).await.unwrap().history().await.unwrap();
        runs.push(json!({ "run": run, "history": history }));
    }
    let mut files = Vec::new();
    for dataset in session.datasets().await.unwrap() {
        let download = session.download_dataset(dataset.id).await.unwrap();
        files.push(
            json!({ "dataset": dataset.id, "bytes": download.bytes().await.unwrap().to_vec() }),
        );
    }
    let mut predictions = Vec::new();
    for model in session.models().await.unwrap() {
        if model.latest_version.is_some() {
            let archive = session.model_archive(model.id).await.unwrap();
            let predicted = session.predict(model.id, &row()).await.unwrap();
            predictions.push(json!({ "model": model.id, "zip": archive.zip.to_vec(),
                                     "predicted": predicted }));
        }
    }
    json!({
        "me": session.me().await.unwrap(),
        "datasets": session.datasets().await.unwrap(),
        "models": session.models().await.unwrap(),
        "runs": runs,
        "files": files,
        "predictions": predictions,
        "notifications": session.notifications().await.unwrap(),
    })
}

/// Ada trains an iris model for real and has notifications; Bob has a dataset and a model.
async fn populate(yard: &Modelyard) -> (Session, Session) {
    let ada = user(yard, "ada").await;
    let model = iris_model(&ada).await;
    let run = ada.train(model.id, TrainParams { epochs: 3, ..TrainParams::default() }).await;
    let done = tokio::time::timeout(Duration::from_secs(60), run.unwrap().wait()).await;
    assert_eq!(done.unwrap().unwrap().status, RunStatus::Completed);
    assert!(!support::notifications_soon(&ada).await.is_empty());
    let bob = user(yard, "bob").await;
    iris_model(&bob).await;
    (ada, bob)
}

async fn login(yard: &Modelyard, name: &str) -> Session {
    yard.login(&format!("{name}@example.com"), PASSWORD).await.unwrap()
}

/// Every account the yard's store holds, by email.
async fn accounts(yard: &Modelyard) -> Vec<String> {
    let mut found = Vec::new();
    for name in ["ada", "bob"] {
        if yard.login(&format!("{name}@example.com"), PASSWORD).await.is_ok() {
            found.push(name.to_owned());
        }
    }
    found
}

fn damage(archive: &Path, out: &Path, at: impl Fn(usize) -> usize) {
    let mut bytes = std::fs::read(archive).unwrap();
    let i = at(bytes.len());
    bytes[i] ^= 0x20;
    std::fs::write(out, bytes).unwrap();
}

fn truncate(archive: &Path, out: &Path, keep: impl Fn(usize) -> usize) {
    let bytes = std::fs::read(archive).unwrap();
    std::fs::write(out, &bytes[..keep(bytes.len())]).unwrap();
}

fn assert_refused(result: modelyard::Result<modelyard::BackupSummary>, needle: &str) {
    match result {
        Err(modelyard::Error::Validation { field, message }) => {
            assert_eq!(field, "archive");
            assert!(message.contains(needle), "{message:?} should mention {needle:?}");
        }
        other => panic!("expected a refused archive, got {other:?}"),
    }
}

#[cfg(all(feature = "mongo", feature = "s3", feature = "ml"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sled_deployment_moves_into_mongodb_and_s3_whole() {
    let Some(mongo) = support::test_service_url("MODELYARD_TEST_MONGO_URL", "FerretDB") else {
        return;
    };
    let Some(s3) = support::test_service_url("MODELYARD_TEST_S3_URL", "SeaweedFS") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let source_dir = dir.path().join("sled");
    let archive = dir.path().join("deployment.tar");

    let yard =
        Modelyard::open(support::config(&source_dir, modelyard::default_trainer())).await.unwrap();
    let (ada, bob) = populate(&yard).await;
    let (ada_before, bob_before) = (workspace(&ada).await, workspace(&bob).await);
    let exported = yard.export(&archive).await.unwrap();
    assert_eq!(
        (exported.users, exported.datasets, exported.models, exported.runs),
        (2, 2, 2, 1),
        "{exported:?}"
    );
    assert_eq!(exported.blobs, 4, "two datasets and the trained model's two files");
    assert_eq!(exported.epochs, 3);
    assert!(exported.notifications >= 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&archive).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a backup holds password hashes: owner-only");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left: {leftovers:?}");
    yard.close().await;
    drop((yard, ada, bob));

    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let unique = format!("{:x}{:x}", nanos.as_nanos(), std::process::id());
    let mut config = support::config(&dir.path().join("unused"), modelyard::default_trainer());
    config.store = support::mongo_store(&mongo, &format!("modelyard_restore_{unique}"));
    config.blobs = Some(match s3.split_once('?') {
        Some((bucket, query)) => format!("{bucket}/restore-{unique}?{query}"),
        None => format!("{s3}/restore-{unique}"),
    });
    let target = Modelyard::open(config).await.unwrap();

    // A damaged or truncated archive is refused, and nothing of it is written.
    let damaged = dir.path().join("damaged.tar");
    damage(&archive, &damaged, |len| len / 2);
    assert_refused(target.import(&damaged).await, "");
    let bytes = std::fs::read(&archive).unwrap();
    // One bit of a dataset's file, which no parser reads: only its checksum tells.
    let csv = bytes.windows(12).position(|w| w == b"sepal_length").unwrap();
    damage(&archive, &damaged, |_| csv + 200);
    assert_refused(target.import(&damaged).await, "does not match its checksum");
    let bytes = std::fs::read(&archive).unwrap();
    let last_entry = bytes.windows(14).rposition(|w| w == b"checksums.json").unwrap();
    assert_eq!(last_entry % 512, 0, "the name starts the last entry's header");
    truncate(&archive, &damaged, |_| last_entry);
    assert_refused(target.import(&damaged).await, "ends before checksums.json (truncated)");
    for keep in [bytes.len() - 2048, bytes.len() / 3, 700] {
        truncate(&archive, &damaged, |_| keep);
        assert_refused(target.import(&damaged).await, "truncated");
    }
    assert!(accounts(&target).await.is_empty(), "a refused archive writes no account");

    let imported = target.import(&archive).await.unwrap();
    assert_eq!(imported, modelyard::BackupSummary { skipped: 0, ..exported });
    let (ada, bob) = (login(&target, "ada").await, login(&target, "bob").await);
    assert_eq!(workspace(&ada).await, ada_before, "Ada's workspace, files and predictions");
    assert_eq!(workspace(&bob).await, bob_before, "Bob's workspace");

    // What was restored works: Ada trains again on MongoDB + S3.
    let model = ada.models().await.unwrap()[0].id;
    let run = ada.train(model, TrainParams { epochs: 2, ..TrainParams::default() }).await;
    let done = tokio::time::timeout(Duration::from_secs(60), run.unwrap().wait()).await;
    assert_eq!(done.unwrap().unwrap().status, RunStatus::Completed);

    // The same archive again clashes with what it wrote, and changes nothing.
    let runs = ada.runs().await.unwrap().len();
    match target.import(&archive).await {
        Err(modelyard::Error::Conflict(message)) => {
            assert!(message.contains("already"), "{message}")
        }
        other => panic!("a second import must be a conflict, got {other:?}"),
    }
    assert_eq!(ada.runs().await.unwrap().len(), runs);
    target.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_moves_alone_and_an_unfinished_run_comes_back_failed() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("ada.tar");
    // No worker: Ada's run stays queued.
    let source = Modelyard::open(support::config(&dir.path().join("a"), None)).await.unwrap();
    let ada = user(&source, "ada").await;
    let bob = user(&source, "bob").await;
    iris_model(&bob).await;
    let model = iris_model(&ada).await;
    let queued = ada.train(model.id, TrainParams::default()).await.unwrap();
    assert_eq!(queued.status().await.unwrap(), RunStatus::Queued);

    let exported = ada.export(&archive).await.unwrap();
    assert_eq!((exported.users, exported.datasets, exported.models, exported.runs), (1, 1, 1, 1));

    let target =
        Modelyard::open(support::config(&dir.path().join("b"), Some(StepTrainer::quick())))
            .await
            .unwrap();
    target.import(&archive).await.unwrap();
    assert_eq!(accounts(&target).await, ["ada"], "only Ada's account moved");
    let ada = login(&target, "ada").await;
    assert_eq!(ada.datasets().await.unwrap().len(), 1);
    let runs = ada.runs().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Failed, "its queue entry did not move");
    assert!(
        runs[0].error.as_deref().unwrap_or("").contains("queued when the deployment was backed up")
    );
    let again = ada.train(model.id, TrainParams { epochs: 1, ..TrainParams::default() }).await;
    let done = tokio::time::timeout(Duration::from_secs(30), again.unwrap().wait()).await;
    assert_eq!(done.unwrap().unwrap().status, RunStatus::Completed, "and it trains again there");
}

#[tokio::test]
async fn what_is_not_a_backup_is_refused_by_name() {
    let (yard, dir) = support::open_yard(None).await;
    let not_tar = dir.path().join("notes.txt");
    std::fs::write(&not_tar, "hello").unwrap();
    assert_refused(yard.import(&not_tar).await, "");
    assert_refused(yard.import(dir.path().join("missing.tar")).await, "cannot open");

    // A tar of something else.
    let other = dir.path().join("other.tar");
    let file = tokio::fs::File::create(&other).await.unwrap();
    let mut tar = tokio_tar::Builder::new(file);
    let mut header = tokio_tar::Header::new_gnu();
    header.set_size(2);
    tar.append_data(&mut header, "readme.md", &b"hi"[..]).await.unwrap();
    tar.into_inner().await.unwrap();
    assert_refused(yard.import(&other).await, "manifest.json");

    // An empty deployment's backup holds only its manifest and checksums, and imports.
    let empty = dir.path().join("empty.tar");
    let summary = yard.export(&empty).await.unwrap();
    assert_eq!(summary, modelyard::BackupSummary::default());
    assert_eq!(yard.import(&empty).await.unwrap(), summary);
    let err = yard.export(dir.path()).await.unwrap_err();
    assert_eq!(err.code(), "VALIDATION", "a directory is not an archive file: {err}");
}

/// Every file in a sled deployment's blob folder.
fn blob_files(data_dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() { walk(&path, out) } else { out.push(path.display().to_string()) }
        }
    }
    let mut out = Vec::new();
    walk(&data_dir.join("blobs"), &mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_that_fails_midway_removes_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("both.tar");
    let source = Modelyard::open(support::config(&dir.path().join("a"), None)).await.unwrap();
    for name in ["ada", "bob"] {
        iris_model(&user(&source, name).await).await;
    }
    source.export(&archive).await.unwrap();

    // Bob's username is taken here under another email: only his account's write can tell.
    let target_dir = dir.path().join("b");
    let target = Modelyard::open(support::config(&target_dir, None)).await.unwrap();
    target.register("bob", "bob@elsewhere.example", PASSWORD).await.unwrap();
    let before = blob_files(&target_dir);
    match target.import(&archive).await {
        Err(modelyard::Error::Conflict(message)) => {
            assert!(message.contains("username"), "{message}")
        }
        other => panic!("expected the username conflict, got {other:?}"),
    }
    assert!(accounts(&target).await.is_empty(), "Ada's restored account is removed again");
    assert_eq!(blob_files(&target_dir), before, "and her files");
    // Her email is free again: nothing of her is left to clash with.
    target.register("ada", "ada@example.com", PASSWORD).await.unwrap();
    let ada = login(&target, "ada").await;
    assert!(ada.datasets().await.unwrap().is_empty());
}
