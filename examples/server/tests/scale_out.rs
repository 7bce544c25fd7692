//! Scale-out with real processes (DESIGN §7): `modelyard-server` processes sharing one FerretDB
//! (records, job queue, GridFS) and one Redis (cache, events, login counters), each test with services
//! of its own. An API process queues runs that a separate worker process trains, and the API
//! process streams the worker's live epochs; a worker killed mid-epoch (SIGKILL) loses its run to
//! another worker once the lease lapses, and the run completes on attempt 2 with every epoch
//! exactly once (SECURITY-CHECKLIST 23, 24).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod cluster;

use std::time::Duration;

use cluster::{Ferret, Launch, Redis, Server, epochs, eventually, read_sse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_process_queues_and_a_worker_process_trains_with_live_events() {
    let Some(ferret_bin) = cluster::services() else { return };
    let (redis, ferret) = (Redis::start().await, Ferret::start(&ferret_bin).await);
    let launch = |name, role| Launch {
        name,
        role,
        store: ferret.url("scale_out_a"),
        cache: redis.url(),
        lease_secs: 10.0,
        blobs: None,
    };
    let api = Server::start(launch("api-a", "api")).await;
    let worker = Server::start(launch("worker-b", "worker")).await;

    let token = api.register("ada").await;
    let dataset = api.upload(&token, cluster::synthetic_csv(600, 6)).await;
    let model = api.create_model(&token, &dataset, &[32]).await;
    let run = api.start_run(&token, &model, 5, 16).await;

    // The live stream, through the API process, of a run trained elsewhere.
    let stream = api.sse(&format!("/api/training/{run}/events"), &token).await;
    let reader = tokio::spawn(read_sse(stream, Duration::from_secs(120), |name, data| {
        name == "status"
            && ["completed", "failed", "cancelled"].contains(&data["status"].as_str().unwrap())
    }));
    // The worker process trains it; the API process, which runs no workers, does not.
    eventually("the worker to start the run", Duration::from_secs(60), || async {
        (worker.attempts_started(&run) == 1).then_some(())
    })
    .await;
    assert_eq!(api.attempts_started(&run), 0, "{}", api.log());

    let (events, _) = reader.await.unwrap();
    let streamed: Vec<u64> = events
        .iter()
        .filter(|(name, _)| name == "epoch")
        .map(|(_, metrics)| metrics["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(streamed, [1, 2, 3, 4, 5], "every epoch once, in order: {events:?}");
    let (last, status) = events.last().unwrap();
    assert_eq!((last.as_str(), &status["status"]), ("status", &"completed".into()), "{events:?}");

    let finished = api.finished_run(&token, &run, Duration::from_secs(10)).await;
    assert_eq!(finished["status"], "completed");
    assert_eq!(finished["attempt"], 1);
    assert_eq!(epochs(&finished), [1, 2, 3, 4, 5]);
    // The worker's trained model serves predictions through the API process.
    let response = api
        .post(
            &format!("/api/model/{model}/predict"),
            Some(&token),
            serde_json::json!({ "rows": [{ "x0": 0.1, "x1": 0.2, "x2": -0.3, "x3": 0.4, "x4": 0.0, "x5": 0.9 }] }),
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    drop((api, worker));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_epoch_loses_its_run_to_another_after_the_lease() {
    const EPOCHS: u64 = 8;
    let Some(ferret_bin) = cluster::services() else { return };
    let (redis, ferret) = (Redis::start().await, Ferret::start(&ferret_bin).await);
    let launch = |name, role| Launch {
        name,
        role,
        store: ferret.url("scale_out_b"),
        cache: redis.url(),
        lease_secs: 2.5,
        blobs: None,
    };
    let api = Server::start(launch("api-a", "api")).await;
    let mut workers = [
        Some(Server::start(launch("worker-b1", "worker")).await),
        Some(Server::start(launch("worker-b2", "worker")).await),
    ];

    let token = api.register("ada").await;
    // Real data and a wide network, so an epoch takes long enough to be killed in the middle.
    let dataset = api.upload(&token, cluster::synthetic_csv(6000, 12)).await;
    let model = api.create_model(&token, &dataset, &[256, 256]).await;
    let run = api.start_run(&token, &model, EPOCHS as u32, 8).await;

    // Once the first epoch is recorded, kill the process whose worker holds the lease.
    let before = eventually("the first epoch", Duration::from_secs(120), || async {
        let r = api.run(&token, &run).await?;
        let done = epochs(&r);
        (r["status"] == "running" && !done.is_empty()).then_some(done)
    })
    .await;
    let victim = workers
        .iter()
        .position(|w| w.as_ref().is_some_and(|w| w.attempts_started(&run) > 0))
        .unwrap_or_else(|| panic!("no worker process started run {run}"));
    let holder = workers[victim].as_ref().unwrap().name.clone();
    workers[victim].take().unwrap().kill();
    println!("killed {holder} after epochs {before:?}");
    assert!((before.len() as u64) < EPOCHS, "killed before the end: {before:?}");
    let survivor = workers[1 - victim].as_ref().unwrap();

    // The survivor reclaims the run after the lease lapses: attempt 2, its own lease.
    let taken = eventually("the survivor to reclaim the run", Duration::from_secs(60), || async {
        let r = api.run(&token, &run).await?;
        (r["attempt"] == 2 || r["status"] != "running").then_some(r)
    })
    .await;
    assert_eq!(taken["attempt"], 2, "{taken}");
    eventually("the survivor to log its attempt", Duration::from_secs(10), || async {
        (survivor.attempts_started(&run) == 1).then_some(())
    })
    .await;

    let finished = api.finished_run(&token, &run, Duration::from_secs(300)).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    assert_eq!(finished["attempt"], 2);
    assert_eq!(epochs(&finished), (1..=EPOCHS).collect::<Vec<_>>(), "no epoch twice, none missing");
    assert!(finished.get("lease").is_none(), "no worker internals in the API: {finished}");
}

/// Two API processes and a worker that share nothing but MongoDB (FerretDB), Redis and an S3
/// bucket (SeaweedFS): a dataset uploaded through one API process downloads byte for byte
/// through the other, the worker trains from it, both serve predictions from the model files it
/// wrote, and every file is an object under the deployment's prefix in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_processes_share_files_through_s3_alone() {
    let Some(ferret_bin) = cluster::services() else { return };
    let Some(s3) = cluster::s3_location() else { return };
    let (redis, ferret) = (Redis::start().await, Ferret::start(&ferret_bin).await);
    let prefix = format!("scale-out-{}", uuid::Uuid::new_v4().simple());
    let launch = |name, role| Launch {
        name,
        role,
        store: ferret.url("scale_out_s3"),
        cache: redis.url(),
        lease_secs: 10.0,
        blobs: Some(s3.url_with_prefix(&prefix)),
    };
    let api_a = Server::start(launch("api-a", "api")).await;
    let api_b = Server::start(launch("api-b", "api")).await;
    let _worker = Server::start(launch("worker-c", "worker")).await;

    let token = api_a.register("ada").await;
    let csv = cluster::synthetic_csv(300, 4);
    let dataset = api_a.upload(&token, csv.clone()).await;
    let download = api_b.get(&format!("/api/files/datasets/{dataset}"), &token).await;
    assert_eq!(download.status(), 200);
    assert!(download.bytes().await.unwrap() == csv, "the CSV uploaded through A, read through B");

    let model = api_b.create_model(&token, &dataset, &[16]).await;
    let run = api_b.start_run(&token, &model, 3, 16).await;
    let finished = api_a.finished_run(&token, &run, Duration::from_secs(120)).await;
    assert_eq!(finished["status"], "completed", "{finished}");
    let row = serde_json::json!({ "rows": [{ "x0": 0.1, "x1": 0.2, "x2": -0.3, "x3": 0.4 }] });
    let predict = format!("/api/model/{model}/predict");
    for api in [&api_a, &api_b] {
        let response = api.post(&predict, Some(&token), row.clone()).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    let objects = s3.list(&prefix).await;
    println!("objects under {prefix}: {objects:?}");
    let folders: std::collections::BTreeSet<&str> =
        objects.iter().filter_map(|key| key.split('/').next()).collect();
    assert!(folders.contains("datasets"), "the dataset is in the bucket: {objects:?}");
    assert!(folders.contains("models"), "the trained model is in the bucket: {objects:?}");
}
