//! The facade with Redis as cache and event bus (records and the durable job queue on sled): a
//! run's live events go through pub/sub, and a logout is kept in the record store, so a yard on
//! an empty cache still refuses the token.
//! Needs `MODELYARD_TEST_REDIS_URL`; under `CI=true` its absence fails.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use futures::StreamExt;
use modelyard::{Modelyard, RunEvent, RunStatus, TrainParams};
use support::{StepTrainer, iris_model, user};

fn redis_url() -> Option<String> {
    support::test_service_url("MODELYARD_TEST_REDIS_URL", "redis-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_trains_through_the_redis_queue_and_streams_its_events() {
    let Some(url) = redis_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config(dir.path(), Some(StepTrainer::quick()));
    config.cache = Some(url.clone());
    config.cache_namespace = format!("facade-{}", unique());
    let yard = Modelyard::open(config).await.unwrap();
    let ada = user(&yard, "ada").await;
    let model = iris_model(&ada).await;
    let run =
        ada.train(model.id, TrainParams { epochs: 4, ..TrainParams::default() }).await.unwrap();
    let events: Vec<RunEvent> = tokio::time::timeout(
        Duration::from_secs(30),
        run.events().await.unwrap().map(Result::unwrap).collect(),
    )
    .await
    .unwrap();
    let epochs: Vec<u32> = events.iter().filter_map(RunEvent::epoch).collect();
    assert_eq!(epochs, [1, 2, 3, 4]);
    assert_eq!(run.get().await.unwrap().status, RunStatus::Completed);

    let token = ada.token().to_owned();
    ada.logout().await.unwrap();
    assert_eq!(yard.session(&token).await.err().unwrap().code(), "UNAUTHORIZED");
    yard.close().await;

    // The same records behind an empty cache (a flushed or restarted Redis): still logged out.
    let mut config = support::config(dir.path(), Some(StepTrainer::quick()));
    config.cache = Some(url.clone());
    config.cache_namespace = format!("facade-{}", unique());
    let yard = Modelyard::open(config).await.unwrap();
    assert_eq!(yard.session(&token).await.err().unwrap().code(), "UNAUTHORIZED");
    yard.close().await;
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = support::config(dir.path(), None);
    config.cache = Some("redis://127.0.0.1:1/".into());
    let err = tokio::time::timeout(Duration::from_secs(20), Modelyard::open(config))
        .await
        .expect("gives up in time")
        .err()
        .expect("cannot open");
    assert_eq!(err.code(), "UNAVAILABLE", "{err}");
    assert!(err.is_retryable());
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("{:x}", nanos.as_nanos())
}
