//! Opening a database that is already set up (indexes exist) works: every process opens it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use modelyard_storage_mongo::MongoStore;

#[tokio::test]
async fn a_second_open_of_one_database_works() {
    let Ok(url) = std::env::var("MODELYARD_TEST_MONGO_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "MODELYARD_TEST_MONGO_URL is not set under CI=true: scripts/test starts FerretDB"
        );
        println!("skipped: MODELYARD_TEST_MONGO_URL is not set");
        return;
    };
    let database = format!("modelyard_reopen_{}", uuid::Uuid::new_v4().simple());
    let first = MongoStore::connect(&url, &database).await.expect("first open");
    let second = MongoStore::connect(&url, &database).await.expect("second open");
    drop(second);
    first.drop_database().await.unwrap();
}
