//! Faults with real processes (SECURITY-CHECKLIST 25, 26): Redis flushed or restarted under a
//! running deployment, and FerretDB (the record store) stopped and started again. Each test runs
//! its own `redis-server` and FerretDB.
//!
//! What the design promises, and these tests hold it to:
//! - Redis is never the truth. After a `FLUSHALL`, reads come from the record store and a run
//!   queued before the flush is still queued (the queue lives in MongoDB) and trains.
//!   A logout is in the user's record, so a token logged out before a flush stays refused.
//! - While Redis is down, authenticated requests are still served: every token check reads its
//!   user (revocation included) from the record store. A login is `503 UNAVAILABLE` (retryable):
//!   its attempt counters live only in Redis and are read fail-closed. `/healthz` stays 200.
//!   A run in training carries on (leases and epochs are in MongoDB).
//!   Live event streams (SSE) end when their Redis connection drops; a client reconnects, reading
//!   the stored history first, so nothing is lost. When Redis is back, the same process serves
//!   and streams again without a restart.
//! - While FerretDB is down, what needs it is `503 UNAVAILABLE` within a few seconds (server
//!   selection times out after 3 s), `/healthz` stays 200 and `/readyz` is 503. When it is back,
//!   the same process serves again, and its workers train again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod cluster;

use std::time::{Duration, Instant};

use cluster::{Ferret, Launch, Redis, Server, epochs, eventually, read_sse};
use reqwest::StatusCode;
use serde_json::Value;

/// A second token of an account made by `register(name)`.
async fn login(api: &Server, name: &str) -> String {
    let response = api.login(name).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// The status and the error code of a response.
async fn status_and_code(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or_default();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_flushed_or_restarted_loses_nothing_and_the_process_recovers() {
    let Some(ferret_bin) = cluster::services() else { return };
    let (mut redis, ferret) = (Redis::start().await, Ferret::start(&ferret_bin).await);
    let launch = |name, role| Launch {
        name,
        role,
        store: ferret.url("faults_redis"),
        cache: redis.url(),
        lease_secs: 5.0,
        blobs: None,
    };
    let api = Server::start(launch("api-a", "api")).await;
    let token = api.register("ada").await;
    let dataset = api.upload(&token, cluster::synthetic_csv(6000, 12)).await;
    let model = api.create_model(&token, &dataset, &[16]).await;
    // Wide enough that an epoch takes a while: the Redis outage happens during training.
    let slow_model = api.create_model(&token, &dataset, &[256, 256]).await;
    for path in ["/api/auth/me".to_owned(), format!("/api/model/{model}")] {
        assert_eq!(api.get(&path, &token).await.status(), StatusCode::OK, "{path}");
    }
    // Queued while no worker runs anywhere.
    let queued = api.start_run(&token, &model, 3, 64).await;
    let logged_out = login(&api, "ada").await;
    assert_eq!(api.get("/api/auth/me", &logged_out).await.status(), StatusCode::OK);
    let response = api.post("/api/auth/logout", Some(&logged_out), serde_json::json!({})).await;
    assert!(response.status().is_success(), "logout: {}", response.status());

    // FLUSHALL: cached records and counters are gone; nothing authoritative was there.
    assert!(redis.command("FLUSHALL").await.unwrap().starts_with("+OK"));
    for path in ["/api/auth/me".to_owned(), format!("/api/model/{model}"), "/api/data".into()] {
        assert_eq!(api.get(&path, &token).await.status(), StatusCode::OK, "{path} after FLUSHALL");
    }
    let (status, _) = status_and_code(api.get("/api/auth/me", &logged_out).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a logout outlives a flushed Redis");
    // The queued run survived the flush: a worker started now trains it.
    let worker = Server::start(launch("worker-b", "worker")).await;
    let done = api.finished_run(&token, &queued, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(epochs(&done), [1, 2, 3]);

    // Redis killed while a run trains and a live stream is open.
    let notifications = api.sse("/api/notif/events", &token).await;
    let run = api.start_run(&token, &slow_model, 6, 8).await;
    let before = eventually("the run's first epoch", Duration::from_secs(120), || async {
        api.run(&token, &run).await.filter(|r| !epochs(r).is_empty())
    })
    .await;
    assert!(epochs(&before).len() < 6, "Redis goes away mid-training: {before}");
    redis.kill();
    let (_, ended) = read_sse(notifications, Duration::from_secs(15), |_, _| false).await;
    assert!(ended, "the live stream ends cleanly when Redis goes away");
    // Token checks read the record store: signed-in requests are served, and a logout is kept.
    let started = Instant::now();
    assert_eq!(api.get("/api/auth/me", &token).await.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(10), "answered in {:?}", started.elapsed());
    let (status, _) = status_and_code(api.get("/api/auth/me", &logged_out).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "still logged out while Redis is down");
    // Login attempt counters cannot be read: a login fails closed, retryably.
    let (status, code) = status_and_code(api.login("ada").await).await;
    assert_eq!((status, code.as_str()), (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"));
    assert!(started.elapsed() < Duration::from_secs(10), "answered in {:?}", started.elapsed());
    let health = api.client.get(format!("{}/healthz", api.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    // Same port, empty. The same processes serve, train and stream again.
    redis.start_again().await;
    eventually("/api/auth/me to answer again", Duration::from_secs(30), || async {
        (api.get("/api/auth/me", &token).await.status() == StatusCode::OK).then_some(())
    })
    .await;
    let done = api.finished_run(&token, &run, Duration::from_secs(180)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["attempt"], 1, "the worker kept its lease through the Redis outage");
    assert_eq!(epochs(&done), (1..=6).collect::<Vec<_>>());

    let next = api.start_run(&token, &model, 3, 64).await;
    let stream = api.sse(&format!("/api/training/{next}/events"), &token).await;
    let (events, _) = read_sse(stream, Duration::from_secs(120), |name, data| {
        name == "status" && data["status"] == "completed"
    })
    .await;
    let streamed: Vec<u64> = events
        .iter()
        .filter(|(name, _)| name == "epoch")
        .map(|(_, m)| m["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(streamed, [1, 2, 3], "live events flow again: {events:?}");
    assert_eq!(events.last().unwrap().1["status"], "completed");
    drop((api, worker));
}

/// Checklist item 25, eviction: a Redis at its memory limit evicts cached records (any key,
/// least recently used first). Every read then comes from the record store, right, and nothing
/// that was acknowledged is lost: Redis only ever holds copies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_evicting_under_its_memory_limit_loses_nothing() {
    let Some(ferret_bin) = cluster::services() else { return };
    let redis =
        Redis::start_with(&["--maxmemory", "1mb", "--maxmemory-policy", "allkeys-lru"]).await;
    let ferret = Ferret::start(&ferret_bin).await;
    let api = Server::start(Launch {
        name: "evicting",
        role: "all",
        store: ferret.url("faults_eviction"),
        cache: redis.url(),
        lease_secs: 5.0,
        blobs: None,
    })
    .await;
    let token = api.register("ada").await;
    let dataset = api.upload(&token, cluster::synthetic_csv(300, 12)).await;
    let mut models = Vec::new();
    for width in 1..=40 {
        models.push((api.create_model(&token, &dataset, &[width]).await, width));
    }
    // Every model read twice (the second read is a cache hit unless its entry was evicted),
    // each answering its own layers.
    for _ in 0..2 {
        for (model, width) in &models {
            let response = api.get(&format!("/api/model/{model}"), &token).await;
            assert_eq!(response.status(), StatusCode::OK);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["model"]["layers"][0]["units"], *width, "{body}");
        }
        assert_eq!(api.get(&format!("/api/data/{dataset}"), &token).await.status(), StatusCode::OK);
    }
    let stats = redis.command("INFO stats").await.unwrap();
    let evicted: u64 = stats
        .lines()
        .find_map(|line| line.strip_prefix("evicted_keys:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no evicted_keys in INFO stats: {stats}"));
    assert!(evicted > 0, "the test must make Redis evict: {stats}");

    // Work still goes through: a run trains and its model is found.
    let run = api.start_run(&token, &models[0].0, 2, 64).await;
    let done = api.finished_run(&token, &run, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let listed: Value = api.get("/api/model?limit=1000", &token).await.json().await.unwrap();
    assert_eq!(listed["models"].as_array().unwrap().len(), models.len());
    println!("Redis evicted {evicted} keys; every answer came back right");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_ferretdb_is_a_quick_503_and_the_same_process_recovers() {
    let Some(ferret_bin) = cluster::services() else { return };
    let (redis, mut ferret) = (Redis::start().await, Ferret::start(&ferret_bin).await);
    let server = Server::start(Launch {
        name: "all-a",
        role: "all",
        store: ferret.url("faults_mongo"),
        cache: redis.url(),
        lease_secs: 5.0,
        blobs: None,
    })
    .await;
    let token = server.register("ada").await;
    let dataset = server.upload(&token, cluster::synthetic_csv(300, 4)).await;
    let model = server.create_model(&token, &dataset, &[16]).await;
    let readyz = || async {
        server.client.get(format!("{}/readyz", server.base)).send().await.unwrap().status()
    };
    assert_eq!(readyz().await, StatusCode::OK);

    ferret.kill();
    for path in ["/api/data", "/api/training"] {
        let started = Instant::now();
        let (status, code) = status_and_code(server.get(path, &token).await).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
            "{path}"
        );
        assert!(started.elapsed() < Duration::from_secs(10), "{path} took {:?}", started.elapsed());
    }
    let response = server
        .post(
            "/api/training/start",
            Some(&token),
            serde_json::json!({ "modelId": model, "epochs": 2, "batchSize": 32, "learningRate": 0.01 }),
        )
        .await;
    assert_eq!(status_and_code(response).await.1, "UNAVAILABLE");
    let health = server.client.get(format!("{}/healthz", server.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(readyz().await, StatusCode::SERVICE_UNAVAILABLE);

    // Back on the same port and data: the same process serves, and its worker trains.
    ferret.start_again().await;
    eventually("the server to be ready again", Duration::from_secs(60), || async {
        (readyz().await == StatusCode::OK).then_some(())
    })
    .await;
    let listed: Value = eventually("datasets to list again", Duration::from_secs(30), || async {
        let response = server.get("/api/data", &token).await;
        if response.status() == StatusCode::OK { response.json().await.ok() } else { None }
    })
    .await;
    assert_eq!(listed["datasets"][0]["id"], dataset.as_str(), "{listed}");
    let run = server.start_run(&token, &model, 2, 32).await;
    let done = server.finished_run(&token, &run, Duration::from_secs(120)).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(epochs(&done), [1, 2]);
    assert!(!server.log().contains("panicked"), "{}", server.log());
}
