//! Speed of the MongoDB backend's record stores on a MongoDB-wire server over loopback (FerretDB
//! in CI), measured through the store traits as benches/storage.rs measures sled: creating a user
//! and a dataset record, reading a dataset, listing an owner's hundred datasets, and appending an
//! epoch to a run. Needs `MODELYARD_TEST_MONGO_URL`; without it, it says so and measures nothing.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use modelyard_core::testkit::{
    sample_dataset, sample_epoch, sample_run, sample_user, unique_email,
};
use modelyard_core::{Backend, ModelId, TrainingRun, UserId};
use modelyard_storage_mongo::MongoStore;

/// Datasets of the owner whose list is measured.
const LISTED: usize = 100;
/// Epochs a run's history cycles through, so it stays the size of a typical run.
const EPOCHS: u32 = 100;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A fresh database with one user owning `LISTED` datasets.
fn open_store(rt: &tokio::runtime::Runtime, url: &str) -> (MongoStore, Backend, UserId) {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let database = format!("modelyard_bench_{:x}", nanos.as_nanos());
    let store = rt.block_on(MongoStore::connect(url, &database)).unwrap();
    let backend = store.clone().backend();
    let user = sample_user(&unique_email());
    rt.block_on(async {
        backend.users.create_user(&user).await.unwrap();
        for _ in 0..LISTED {
            backend.datasets.create_dataset(&sample_dataset(user.id)).await.unwrap();
        }
    });
    (store, backend, user.id)
}

fn records(c: &mut Criterion) {
    let Ok(url) = std::env::var("MODELYARD_TEST_MONGO_URL") else {
        println!("skipped: MODELYARD_TEST_MONGO_URL is not set; no MongoDB-wire server to measure");
        return;
    };
    let rt = runtime();
    let (store, backend, owner) = open_store(&rt, &url);
    let mut group = c.benchmark_group("mongo");

    group.bench_function("create_user", |b| {
        b.to_async(&rt).iter_batched(
            || sample_user(&unique_email()),
            |user| {
                let backend = backend.clone();
                async move { backend.users.create_user(&user).await.unwrap() }
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("create_dataset", |b| {
        b.to_async(&rt).iter_batched(
            || sample_dataset(owner),
            |dataset| {
                let backend = backend.clone();
                async move { backend.datasets.create_dataset(&dataset).await.unwrap() }
            },
            BatchSize::SmallInput,
        )
    });

    let (listed_store, listed_backend, listed_owner) = open_store(&rt, &url);
    let one = rt.block_on(listed_backend.datasets.list_datasets(listed_owner)).unwrap()[0].id;
    group.bench_function("get_dataset", |b| {
        b.to_async(&rt).iter(|| async {
            listed_backend.datasets.get_dataset(listed_owner, one).await.unwrap()
        })
    });

    group.bench_function("list_datasets_100", |b| {
        b.to_async(&rt).iter(|| async {
            let all = listed_backend.datasets.list_datasets(listed_owner).await.unwrap();
            assert_eq!(all.len(), LISTED);
            all
        })
    });

    let run = sample_run(owner, ModelId::new(), sample_dataset(owner).id);
    rt.block_on(backend.runs.create_run(&run)).unwrap();
    let mut epoch = 0u32;
    group.bench_function("update_run_append_epoch", |b| {
        b.to_async(&rt).iter(|| {
            epoch = epoch % EPOCHS + 1;
            let metrics = sample_epoch(epoch);
            let backend = backend.clone();
            async move {
                let mut append = |r: &mut TrainingRun| {
                    r.upsert_epoch(metrics.clone());
                    Ok(())
                };
                backend.runs.update_run(owner, run.id, &mut append).await.unwrap()
            }
        })
    });

    group.finish();
    rt.block_on(async {
        store.drop_database().await.unwrap();
        listed_store.drop_database().await.unwrap();
    });
}

criterion_group!(benches, records);
criterion_main!(benches);
