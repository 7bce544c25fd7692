//! The backend conformance suite of `modelyard-core`, run against sled in a fresh temporary
//! directory per test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

async fn fresh() -> modelyard_core::testkit::Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = modelyard_storage_sled::SledStore::open(
        &modelyard_storage_sled::SledConfig::new(dir.path()),
    )
    .unwrap()
    .backend();
    // The fixture keeps the temporary directory alive for the test's whole run.
    modelyard_core::testkit::Fixture::new(backend, dir)
}

modelyard_core::conformance_suite!(fresh);
