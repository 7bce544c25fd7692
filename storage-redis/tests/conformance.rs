//! The conformance suite's cache, queue and event tests with Redis as cache, job queue and event
//! bus, against the real server named by `MODELYARD_TEST_REDIS_URL`. The records are on sled,
//! which Redis does not hold: their tests say they skip. Each test gets a namespace of its own. Without the variable the tests say they skip — and
//! fail under `CI=true`, where a missing Redis is a broken setup, not a reason to pass.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use modelyard_core::testkit::{Fixture, service_url};
use modelyard_storage_redis::{RedisConfig, RedisStore};

/// Redis over fresh sled records, or `None` (the test skips) without a Redis server.
async fn fresh() -> Option<Fixture> {
    let url = service_url("MODELYARD_TEST_REDIS_URL", "the Redis backend")?;
    let dir = tempfile::tempdir().unwrap();
    let records = modelyard_storage_sled::SledStore::open(
        &modelyard_storage_sled::SledConfig::new(dir.path()),
    )
    .unwrap()
    .backend();
    let namespace = format!("test-{}", uuid::Uuid::new_v4());
    let config =
        RedisConfig::from_url(&url).expect("MODELYARD_TEST_REDIS_URL").with_namespace(&namespace);
    let redis = RedisStore::open(&config).await.expect("connect to Redis");
    // The stream queue replaces sled's, so the suite tests Redis's queue.
    let fixture = Fixture::new(redis.attach_with_queue(records), dir);
    Some(fixture.only(&["cache", "queue", "events"]))
}

modelyard_core::conformance_suite!(fresh);
