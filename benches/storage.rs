//! Latency of the store operations per backend on loopback, measured through the store traits by
//! one function per operation whatever the backend: creating a user and a dataset, reading a
//! dataset and a model, listing an owner's hundred datasets, recording an epoch of a run with 10 and with 10,000
//! epochs before it.
//!
//! Sled always runs. MongoDB-wire needs the `mongo` feature and `MODELYARD_BENCH_MONGO_URL` (or
//! `MODELYARD_TEST_MONGO_URL`). Redis holds no record: with the `redis` feature and
//! `MODELYARD_BENCH_REDIS_URL` (or `MODELYARD_TEST_REDIS_URL`) it measures the cache itself (get
//! hit, get miss, set) and `get_model` through the facade's read-through cache over each record
//! backend. A backend without its URL or feature prints why it is skipped.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use modelyard_core::cached::{CachePolicy, with_read_through_cache};
use modelyard_core::testkit::{
    sample_dataset, sample_epoch, sample_model, sample_run, sample_user, unique_email,
};
use modelyard_core::{
    Backend, Cache, DatasetId, Model, ModelId, RecordStore, RunId, Stores, TrainingRun, UserId,
};
use tokio::runtime::Runtime;

/// Datasets of the owner whose list is measured.
const LISTED: usize = 100;
/// Epochs the epoch-recording bench appends before it starts replacing them.
const APPENDED: u32 = 1_000;
/// Time to live of what the bench puts in Redis, so a shared server is left clean.
const CACHE_TTL: Duration = Duration::from_secs(60);

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// A record backend under measurement: its name and how to open a fresh, empty store.
struct RecordBackend {
    name: &'static str,
    open: Box<dyn Fn(&Runtime) -> Fresh>,
}

/// A freshly opened store and what removes it after (a temporary directory, a database).
struct Fresh {
    backend: Backend,
    teardown: BoxFuture<'static, ()>,
}

/// A fresh store with one user owning `LISTED` datasets and a model.
struct Seeded {
    fresh: Fresh,
    owner: UserId,
    dataset: DatasetId,
    model: ModelId,
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A name unique to this run, for databases and key namespaces on shared servers.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("{prefix}{:x}", nanos.as_nanos())
}

/// The first of `vars` that is set; otherwise says `backend` is skipped.
#[cfg(any(feature = "mongo", feature = "redis"))]
fn service_url(backend: &str, vars: &[&str]) -> Option<String> {
    let url = vars.iter().find_map(|var| std::env::var(var).ok().filter(|url| !url.is_empty()));
    if url.is_none() {
        println!("skipped {backend}: none of {} is set", vars.join(", "));
    }
    url
}

fn sled() -> RecordBackend {
    RecordBackend {
        name: "sled",
        open: Box::new(|_| {
            let dir = tempfile::tempdir().unwrap();
            let backend = modelyard_storage_sled::SledStore::open(
                &modelyard_storage_sled::SledConfig::new(dir.path()),
            )
            .unwrap()
            .backend();
            Fresh { backend, teardown: async move { drop(dir) }.boxed() }
        }),
    }
}

#[cfg(feature = "mongo")]
fn mongo() -> Option<RecordBackend> {
    let url = service_url("mongo", &["MODELYARD_BENCH_MONGO_URL", "MODELYARD_TEST_MONGO_URL"])?;
    Some(RecordBackend {
        name: "mongo",
        open: Box::new(move |rt| {
            let database = unique("modelyard_bench_");
            let store = rt
                .block_on(modelyard_storage_mongo::MongoStore::open(
                    &modelyard_storage_mongo::MongoConfig::new(&url, &database),
                ))
                .unwrap();
            let backend = store.clone().backend();
            Fresh { backend, teardown: async move { store.drop_database().await.unwrap() }.boxed() }
        }),
    })
}

#[cfg(not(feature = "mongo"))]
fn mongo() -> Option<RecordBackend> {
    println!("skipped mongo: built without the `mongo` feature (cargo bench --features mongo)");
    None
}

#[cfg(feature = "redis")]
fn redis_cache(rt: &Runtime) -> Option<Arc<dyn Cache>> {
    let url = service_url("redis", &["MODELYARD_BENCH_REDIS_URL", "MODELYARD_TEST_REDIS_URL"])?;
    let store = rt
        .block_on(modelyard_storage_redis::RedisStore::open(
            &modelyard_storage_redis::RedisConfig::from_url(&url)
                .unwrap()
                .with_namespace(&unique("modelyard-bench-")),
        ))
        .unwrap();
    Some(Arc::new(store))
}

#[cfg(not(feature = "redis"))]
fn redis_cache(_: &Runtime) -> Option<Arc<dyn Cache>> {
    println!("skipped redis: built without the `redis` feature (cargo bench --features redis)");
    None
}

fn seed(rt: &Runtime, backend: &RecordBackend) -> Seeded {
    let fresh = (backend.open)(rt);
    let user = sample_user(&unique_email());
    let stores = &fresh.backend;
    let (dataset, model) = rt.block_on(async {
        stores.users.create_user(&user).await.unwrap();
        for _ in 0..LISTED {
            stores.datasets.insert(&sample_dataset(user.id)).await.unwrap();
        }
        let dataset = stores.datasets.list_all(user.id).await.unwrap()[0].id;
        let model = sample_model(user.id, dataset);
        stores.models.insert(&model).await.unwrap();
        (dataset, model.id)
    });
    Seeded { fresh, owner: user.id, dataset, model }
}

/// The model store of `backend` behind the facade's read-through cache on `cache`.
fn read_through(backend: &Backend, cache: Arc<dyn Cache>) -> Arc<dyn RecordStore<Model>> {
    let stores = Stores {
        users: backend.users.clone(),
        datasets: backend.datasets.clone(),
        models: backend.models.clone(),
        runs: backend.runs.clone(),
        history: backend.history.clone(),
        notifications: backend.notifications.clone(),
        blobs: backend.blobs.clone().unwrap(),
        cache,
        queue: backend.queue.clone().unwrap(),
        events: Arc::new(modelyard::defaults::LocalEventBus::default()),
    };
    let policy = CachePolicy {
        key_prefix: unique("bench-"),
        model_ttl: CACHE_TTL,
        ..CachePolicy::default()
    };
    with_read_through_cache(stores, &policy).models
}

fn create_user(group: &mut Group<'_>, rt: &Runtime, backend: &Backend) {
    group.bench_function("create_user", |b| {
        b.to_async(rt).iter_batched(
            || sample_user(&unique_email()),
            |user| async move { backend.users.create_user(&user).await.unwrap() },
            BatchSize::SmallInput,
        )
    });
}

fn create_dataset(group: &mut Group<'_>, rt: &Runtime, backend: &Backend, owner: UserId) {
    group.bench_function("create_dataset", |b| {
        b.to_async(rt).iter_batched(
            || sample_dataset(owner),
            |dataset| async move { backend.datasets.insert(&dataset).await.unwrap() },
            BatchSize::SmallInput,
        )
    });
}

fn get_dataset(group: &mut Group<'_>, rt: &Runtime, seeded: &Seeded) {
    let datasets = &seeded.fresh.backend.datasets;
    group.bench_function("get_dataset", |b| {
        b.to_async(rt).iter(|| async { datasets.get(seeded.owner, seeded.dataset).await.unwrap() })
    });
}

fn list_datasets(group: &mut Group<'_>, rt: &Runtime, seeded: &Seeded) {
    let datasets = &seeded.fresh.backend.datasets;
    group.bench_function("list_datasets_100", |b| {
        b.to_async(rt).iter(|| async {
            let all = datasets.list_all(seeded.owner).await.unwrap();
            assert_eq!(all.len(), LISTED);
            all
        })
    });
}

fn get_model(
    group: &mut Group<'_>,
    rt: &Runtime,
    name: &str,
    models: &dyn RecordStore<Model>,
    seeded: &Seeded,
) {
    group.bench_function(name, |b| {
        b.to_async(rt).iter(|| async { models.get(seeded.owner, seeded.model).await.unwrap() })
    });
}

/// A run with `before` epochs recorded, as a worker leaves it.
fn run_with_epochs(rt: &Runtime, backend: &Backend, owner: UserId, before: u32) -> RunId {
    let run = sample_run(owner, ModelId::new(), sample_dataset(owner).id);
    rt.block_on(async {
        backend.runs.insert(&run).await.unwrap();
        let seeded =
            futures::stream::iter(1..=before).for_each_concurrent(16, |epoch| async move {
                backend.history.put_epoch(owner, run.id, &sample_epoch(epoch)).await.unwrap();
            });
        seeded.await;
    });
    run.id
}

/// Records epochs of a run that already has `before` of them, as a worker does after each
/// epoch: the run's count (one small record) and the epoch's own record. Iterations append
/// epochs `before + 1 ..= before + APPENDED`, then replace them cyclically; either is one write
/// of one epoch, whatever the length of the history.
fn record_epoch(
    group: &mut Group<'_>,
    rt: &Runtime,
    backend: &Backend,
    owner: UserId,
    (run, before): (RunId, u32),
) {
    let mut appended = 0u32;
    group.bench_function(format!("record_epoch_after_{before}"), |b| {
        b.to_async(rt).iter(|| {
            appended = appended % APPENDED + 1;
            let metrics = sample_epoch(before + appended);
            async move {
                let mut count = |r: &mut TrainingRun| {
                    r.complete_epoch(metrics.epoch);
                    Ok(())
                };
                backend.runs.update(owner, run, &mut count).await.unwrap();
                backend.history.put_epoch(owner, run, &metrics).await.unwrap();
            }
        })
    });
}

/// Every record operation on `backend`, and `get_model` read through `cache` when there is one.
fn records(
    c: &mut Criterion,
    rt: &Runtime,
    backend: &RecordBackend,
    cache: Option<&Arc<dyn Cache>>,
) {
    // Writes go to one store, reads to another, so the listed owner keeps exactly `LISTED`.
    let writes = seed(rt, backend);
    let reads = seed(rt, backend);
    let mut group = c.benchmark_group(backend.name);
    create_user(&mut group, rt, &writes.fresh.backend);
    create_dataset(&mut group, rt, &writes.fresh.backend, writes.owner);
    get_dataset(&mut group, rt, &reads);
    list_datasets(&mut group, rt, &reads);
    get_model(&mut group, rt, "get_model", reads.fresh.backend.models.as_ref(), &reads);
    if let Some(cache) = cache {
        let cached = read_through(&reads.fresh.backend, cache.clone());
        get_model(&mut group, rt, "get_model_read_through_redis", cached.as_ref(), &reads);
    }
    // Both runs exist before either is measured: the store holds the same records for both.
    let (backend, owner) = (&writes.fresh.backend, writes.owner);
    let runs = [10, 10_000].map(|before| (run_with_epochs(rt, backend, owner, before), before));
    for run in runs {
        record_epoch(&mut group, rt, backend, owner, run);
    }
    group.finish();
    rt.block_on(async {
        writes.fresh.teardown.await;
        reads.fresh.teardown.await;
    });
}

/// The cache on its own: a hit returns a model-sized value.
fn cache_ops(c: &mut Criterion, rt: &Runtime, cache: &dyn Cache) {
    let owner = UserId::new();
    let value = Bytes::from(serde_json::to_vec(&sample_model(owner, DatasetId::new())).unwrap());
    rt.block_on(cache.set("hit", value.clone(), CACHE_TTL)).unwrap();
    let mut group = c.benchmark_group("redis_cache");
    group.bench_function("get_hit", |b| {
        b.to_async(rt).iter(|| async { cache.get("hit").await.unwrap().expect("a hit") })
    });
    group.bench_function("get_miss", |b| {
        b.to_async(rt).iter(|| async { assert!(cache.get("miss").await.unwrap().is_none()) })
    });
    group.bench_function("set", |b| {
        b.to_async(rt).iter(|| async { cache.set("set", value.clone(), CACHE_TTL).await.unwrap() })
    });
    group.finish();
}

fn backends(c: &mut Criterion) {
    let rt = runtime();
    let cache = redis_cache(&rt);
    for backend in std::iter::once(sled()).chain(mongo()) {
        records(c, &rt, &backend, cache.as_ref());
    }
    if let Some(cache) = &cache {
        cache_ops(c, &rt, cache.as_ref());
    }
}

criterion_group!(benches, backends);
criterion_main!(benches);
