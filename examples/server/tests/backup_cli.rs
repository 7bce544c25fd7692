//! `modelyard-server backup --out FILE` and `restore --from FILE` (issue 15, item 4): the
//! process copies one store into another through an archive, refuses a truncated archive or a
//! second restore with a clear message and a failing exit status, and writes nothing then.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

use modelyard::{Modelyard, Upload};

const PASSWORD: &str = "a long enough passphrase";
const IRIS: &[u8] = include_bytes!("../../data/iris.csv");

fn server(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_modelyard-server"))
        .env_remove("MODELYARD_STORE")
        .env_remove("MODELYARD_BLOBS")
        .env_remove("MODELYARD_CACHE")
        .env("MODELYARD_JWT_SECRET", "backup-cli-test-secret-backup-cli-test-secret")
        .args(args)
        .arg("--store")
        .arg(format!("sled://{}", store.display()))
        .output()
        .expect("run modelyard-server")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn open(store: &Path) -> Modelyard {
    let mut config = modelyard::Config::new(&format!("sled://{}", store.display())).unwrap();
    config.jwt_secret = Some(b"backup-cli-test-secret-backup-cli-test-secret".to_vec());
    config.trainer = None;
    Modelyard::open(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_then_restore_moves_a_store_and_a_bad_archive_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (source, target) = (dir.path().join("source"), dir.path().join("target"));
    let archive = dir.path().join("backup.tar");
    let mut stored = Vec::new();
    {
        let yard = open(&source).await;
        for name in ["ada", "bob"] {
            let session =
                yard.register(name, &format!("{name}@example.com"), PASSWORD).await.unwrap();
            let dataset =
                session.upload_dataset("iris", Upload::bytes("iris.csv", IRIS)).await.unwrap();
            let download = session.download_dataset(dataset.id).await.unwrap();
            stored.push(download.bytes().await.unwrap());
        }
        yard.close().await;
    }

    let backup = server(&source, &["backup", "--out", archive.to_str().unwrap()]);
    assert!(backup.status.success(), "backup failed: {}", text(&backup.stderr));
    assert!(
        text(&backup.stdout).starts_with("backed up 2 accounts, 2 datasets"),
        "{}",
        text(&backup.stdout)
    );
    let ada_only = dir.path().join("ada.tar");
    let one = server(
        &source,
        &["backup", "--out", ada_only.to_str().unwrap(), "--user", "ADA@example.com"],
    );
    assert!(one.status.success(), "backup --user failed: {}", text(&one.stderr));
    assert!(
        text(&one.stdout).starts_with("backed up 1 accounts, 1 datasets"),
        "{}",
        text(&one.stdout)
    );
    let nobody =
        server(&source, &["backup", "--out", ada_only.to_str().unwrap(), "--user", "x@y.z"]);
    assert!(!nobody.status.success());
    assert!(text(&nobody.stderr).contains("account not found"), "{}", text(&nobody.stderr));

    // A truncated archive: refused, named, and the target stays empty.
    let bytes = std::fs::read(&archive).unwrap();
    let truncated = dir.path().join("truncated.tar");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let refused = server(&target, &["restore", "--from", truncated.to_str().unwrap()]);
    assert!(!refused.status.success());
    let message = text(&refused.stderr);
    assert!(message.contains("invalid archive") && message.contains("truncated"), "{message}");

    let restore = server(&target, &["restore", "--from", archive.to_str().unwrap()]);
    assert!(restore.status.success(), "restore failed: {}", text(&restore.stderr));
    assert!(text(&restore.stdout).starts_with("restored 2 accounts, 2 datasets"));
    let again = server(&target, &["restore", "--from", archive.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists here"), "{}", text(&again.stderr));

    let yard = open(&target).await;
    for (name, stored) in ["ada", "bob"].into_iter().zip(stored) {
        let session = yard.login(&format!("{name}@example.com"), PASSWORD).await.unwrap();
        let datasets = session.datasets().await.unwrap();
        assert_eq!(datasets.len(), 1, "{name}'s one dataset");
        let download = session.download_dataset(datasets[0].id).await.unwrap();
        assert!(download.bytes().await.unwrap() == stored, "{name}'s file, byte for byte");
    }
}
