//! The blob half of the conformance suite against a real S3-protocol server (SeaweedFS in CI),
//! named by `MODELYARD_TEST_S3_URL` (`s3://bucket?endpoint=http://127.0.0.1:8333`, the bucket
//! existing, credentials in `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`). Each test writes
//! under a prefix of its own. Without the variable the tests say they skip, and fail under
//! `CI=true`. The record stores are not this crate's: their tests report that they skip.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use modelyard_core::testkit::{Fixture, service_url};
use modelyard_storage_s3::{S3Config, S3Store};

/// The S3 location of the test server, or `None` (after saying so) without one.
fn test_location() -> Option<S3Config> {
    let url = service_url("MODELYARD_TEST_S3_URL", "the S3 blob store")?;
    Some(S3Config::from_url(&url).expect("MODELYARD_TEST_S3_URL"))
}

async fn fresh() -> Option<Fixture> {
    let mut config = test_location()?;
    config.prefix = format!("test-{}", uuid::Uuid::new_v4().simple());
    let blobs = S3Store::open(&config).await.expect("connect to S3");
    // A backend needs record stores: sled's, whose tests say they skip.
    let dir = tempfile::tempdir().unwrap();
    let backend = blobs.attach(
        modelyard_storage_sled::SledStore::open(&modelyard_storage_sled::SledConfig::new(
            dir.path(),
        ))
        .unwrap()
        .backend(),
    );
    Some(Fixture::new(backend, dir).only(&["blobs"]))
}

modelyard_core::conformance_suite!(fresh);

#[tokio::test]
async fn a_missing_bucket_fails_at_connect_naming_it() {
    let Some(mut config) = test_location() else { return };
    config.bucket = format!("no-such-bucket-{}", uuid::Uuid::new_v4().simple());
    let err = S3Store::open(&config).await.expect_err("a missing bucket");
    assert_eq!(err.code(), "UNAVAILABLE", "{err}");
    assert!(err.to_string().contains(&config.bucket), "{err}");
}
