//! The conformance suite of `modelyard-core` against a real MongoDB-wire server (FerretDB in CI),
//! named by `MODELYARD_TEST_MONGO_URL`. Each test gets a database of its own, dropped when the
//! test ends. Without the variable the tests say they skip — and fail under `CI=true`, where a
//! missing server is a broken setup, not a reason to pass. The cache and event bus are not the
//! Mongo backend's: their tests report that they skip.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use modelyard_core::testkit::{Fixture, service_url};
use modelyard_storage_mongo::{MongoConfig, MongoStore};

/// Drops the test's database when the fixture goes.
struct DropDatabase(Option<MongoStore>);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let Some(store) = self.0.take() else { return };
        // The test's runtime is going away with the fixture: drop on a runtime of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move { store.drop_database().await.ok() });
            Ok::<_, std::io::Error>(())
        });
        let _ = dropped.join();
    }
}

/// A fresh database, or `None` (the test skips) without a server; never another backend.
async fn fresh() -> Option<Fixture> {
    let url = service_url("MODELYARD_TEST_MONGO_URL", "the MongoDB backend")?;
    let database = format!("modelyard_test_{}", uuid::Uuid::new_v4().simple());
    let store =
        MongoStore::open(&MongoConfig::new(&url, &database)).await.expect("connect to MongoDB");
    Some(Fixture::new(store.clone().backend(), DropDatabase(Some(store))))
}

modelyard_core::conformance_suite!(fresh);
