//! Opening a database that is already set up (indexes exist) works: every process opens it;
//! opening one written before run histories were records of their own migrates it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use modelyard_storage_mongo::{MongoConfig, MongoStore};

/// The server to test against; without one the test says it skips, and fails under `CI=true`.
fn mongo_url() -> Option<String> {
    let url = std::env::var("MODELYARD_TEST_MONGO_URL").ok();
    if url.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "MODELYARD_TEST_MONGO_URL is not set under CI=true: scripts/test starts FerretDB"
        );
        println!("skipped: MODELYARD_TEST_MONGO_URL is not set");
    }
    url
}

#[tokio::test]
async fn a_second_open_of_one_database_works() {
    let Some(url) = mongo_url() else { return };
    let database = format!("modelyard_reopen_{}", uuid::Uuid::new_v4().simple());
    let first = MongoStore::open(&MongoConfig::new(&url, &database)).await.expect("first open");
    let second = MongoStore::open(&MongoConfig::new(&url, &database)).await.expect("second open");
    drop(second);
    first.drop_database().await.unwrap();
}

/// A run stored with its epochs inside (before histories were records of their own) is
/// migrated on open: its epochs become records and the run counts them.
#[tokio::test]
async fn an_embedded_run_history_moves_into_epoch_records_on_open() {
    use modelyard_core::testkit::{sample_epoch, sample_run};
    use mongodb::bson::doc;
    let Some(url) = mongo_url() else { return };
    let database = format!("modelyard_migrate_{}", uuid::Uuid::new_v4().simple());
    let run = sample_run(
        modelyard_core::UserId::new(),
        modelyard_core::ModelId::new(),
        modelyard_core::DatasetId::new(),
    );
    let history: Vec<_> = (1..=3).map(sample_epoch).collect();
    {
        // The run as it was stored before: its epochs inside, no count, and no format mark.
        let store = MongoStore::open(&MongoConfig::new(&url, &database)).await.expect("set up");
        let mut data = serde_json::to_value(&run).unwrap();
        let fields = data.as_object_mut().unwrap();
        fields.remove("epochsCompleted");
        fields.insert("history".into(), serde_json::to_value(&history).unwrap());
        let db = store.database();
        db.collection::<mongodb::bson::Document>("counters")
            .delete_one(doc! { "_id": "format" })
            .await
            .unwrap();
        let stored = doc! {
            "_id": run.id.to_string(),
            "owner": run.owner.to_string(),
            "rev": 0_i64,
            "data": serde_json::to_string(&data).unwrap(),
        };
        db.collection::<mongodb::bson::Document>("runs").insert_one(stored).await.unwrap();
    }
    let store = MongoStore::open(&MongoConfig::new(&url, &database)).await.expect("open migrates");
    let backend = store.clone().backend();
    let read = backend.runs.get(run.owner, run.id).await.unwrap();
    assert_eq!(read.epochs_completed, 3);
    assert_eq!(backend.history.all_epochs(run.owner, run.id).await.unwrap(), history);
    store.drop_database().await.unwrap();
}
