//! The read-through cache policy over real stores (sled records, moka cache): what is cached
//! under which key for how long, that writes invalidate, that a cached record is still checked
//! against its owner, that running runs are never cached, and that a broken cache only costs
//! speed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use modelyard::core::cached::{CachePolicy, with_read_through_cache};
use modelyard::core::testkit::{
    sample_dataset, sample_model, sample_run, sample_user, unique_email,
};
use modelyard::core::{Cache, Error, Result, RunStatus, Stores};
use modelyard::defaults::{LocalEventBus, MokaCache};

/// A real cache that remembers every `set` (key and time to live) and can be made to fail.
struct Recording {
    inner: MokaCache,
    sets: Mutex<Vec<(String, Duration)>>,
    broken: std::sync::atomic::AtomicBool,
}

impl Recording {
    fn check(&self) -> Result<()> {
        if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
            Err(Error::unavailable("cache down"))
        } else {
            Ok(())
        }
    }
    fn sets(&self) -> Vec<(String, Duration)> {
        self.sets.lock().unwrap().clone()
    }
}

#[async_trait]
impl Cache for Recording {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.check()?;
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<()> {
        self.check()?;
        self.sets.lock().unwrap().push((key.to_owned(), ttl));
        self.inner.set(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<()> {
        self.check()?;
        self.inner.delete(key).await
    }
    async fn increment(&self, key: &str, window: Duration) -> Result<u64> {
        self.check()?;
        self.inner.increment(key, window).await
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    raw: Stores,
    cached: Stores,
    cache: Arc<Recording>,
}

fn fixture(policy: CachePolicy) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = modelyard_storage_sled::SledStore::open(
        &modelyard_storage_sled::SledConfig::new(dir.path()),
    )
    .unwrap()
    .backend();
    let cache = Arc::new(Recording {
        inner: MokaCache::new(1 << 20),
        sets: Mutex::default(),
        broken: false.into(),
    });
    let raw = Stores {
        users: backend.users,
        datasets: backend.datasets,
        models: backend.models,
        runs: backend.runs,
        history: backend.history,
        notifications: backend.notifications,
        blobs: backend.blobs.unwrap(),
        cache: cache.clone(),
        queue: backend.queue.unwrap(),
        events: Arc::new(LocalEventBus::new(16)),
    };
    let cached = with_read_through_cache(raw.clone(), &policy);
    Fixture { _dir: dir, raw, cached, cache }
}

#[tokio::test]
async fn reads_are_cached_under_the_original_keys_and_lifetimes() {
    let f = fixture(CachePolicy::default());
    let user = sample_user(&unique_email());
    f.cached.users.create_user(&user).await.unwrap();
    let dataset = sample_dataset(user.id);
    let model = sample_model(user.id, dataset.id);
    f.cached.models.insert(&model).await.unwrap();
    let mut run = sample_run(user.id, model.id, dataset.id);
    run.status = RunStatus::Completed;
    f.cached.runs.insert(&run).await.unwrap();
    assert!(f.cache.sets().is_empty(), "creating caches nothing");

    f.cached.users.get_user(user.id).await.unwrap();
    f.cached.models.get(user.id, model.id).await.unwrap();
    f.cached.runs.get(user.id, run.id).await.unwrap();
    assert_eq!(
        f.cache.sets(),
        [
            (format!("user:{}", user.id), Duration::from_secs(3600)),
            (format!("model:{}", model.id), Duration::from_secs(24 * 3600)),
            (format!("training:{}", run.id), Duration::from_secs(7 * 24 * 3600)),
        ]
    );
    // Served from the cache: the store no longer has it, the cached layer still answers.
    f.raw.models.delete(user.id, model.id).await.unwrap();
    assert_eq!(f.cached.models.get(user.id, model.id).await.unwrap(), model);
}

#[tokio::test]
async fn the_key_prefix_namespaces_every_key() {
    let f = fixture(CachePolicy { key_prefix: "tenant-a:".into(), ..CachePolicy::default() });
    let user = sample_user(&unique_email());
    f.cached.users.create_user(&user).await.unwrap();
    f.cached.users.get_user(user.id).await.unwrap();
    assert_eq!(f.cache.sets()[0].0, format!("tenant-a:user:{}", user.id));
}

#[tokio::test]
async fn a_write_through_the_layer_invalidates_the_cached_record() {
    let f = fixture(CachePolicy::default());
    let user = sample_user(&unique_email());
    f.cached.users.create_user(&user).await.unwrap();
    let model = sample_model(user.id, sample_dataset(user.id).id);
    f.cached.models.insert(&model).await.unwrap();
    f.cached.models.get(user.id, model.id).await.unwrap();
    f.cached
        .models
        .update(user.id, model.id, &mut |m| {
            m.name = "renamed".into();
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(f.cached.models.get(user.id, model.id).await.unwrap().name, "renamed");
    f.cached.models.delete(user.id, model.id).await.unwrap();
    let err = f.cached.models.get(user.id, model.id).await.unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
}

#[tokio::test]
async fn a_cached_record_is_still_checked_against_its_owner() {
    let f = fixture(CachePolicy::default());
    let (ada, bob) = (sample_user(&unique_email()), sample_user(&unique_email()));
    let model = sample_model(ada.id, sample_dataset(ada.id).id);
    f.cached.models.insert(&model).await.unwrap();
    f.cached.models.get(ada.id, model.id).await.unwrap();
    let mut run = sample_run(ada.id, model.id, model.dataset_id);
    run.status = RunStatus::Failed;
    f.cached.runs.insert(&run).await.unwrap();
    f.cached.runs.get(ada.id, run.id).await.unwrap();
    assert_eq!(f.cache.sets().len(), 2, "both are cached");

    let err = f.cached.models.get(bob.id, model.id).await.unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
    let err = f.cached.runs.get(bob.id, run.id).await.unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
}

#[tokio::test]
async fn a_run_is_cached_only_once_it_is_final() {
    let f = fixture(CachePolicy::default());
    let owner = sample_user(&unique_email()).id;
    let dataset = sample_dataset(owner);
    let run = sample_run(owner, sample_model(owner, dataset.id).id, dataset.id);
    assert!(!run.status.is_final());
    f.cached.runs.insert(&run).await.unwrap();
    f.cached.runs.get(owner, run.id).await.unwrap();
    assert!(f.cache.sets().is_empty(), "a live run changes every epoch: never cached");
    f.cached
        .runs
        .update(owner, run.id, &mut |r| {
            r.status = RunStatus::Cancelled;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(f.cached.runs.get(owner, run.id).await.unwrap().status, RunStatus::Cancelled);
    assert_eq!(f.cache.sets().len(), 1);
}

#[tokio::test]
async fn a_broken_cache_reads_and_writes_through_to_the_store() {
    let f = fixture(CachePolicy::default());
    let user = sample_user(&unique_email());
    f.cached.users.create_user(&user).await.unwrap();
    f.cache.broken.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(f.cached.users.get_user(user.id).await.unwrap(), user);
    let updated = f
        .cached
        .users
        .update_user(user.id, &mut |u| {
            u.username = "renamed".into();
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(updated.username, "renamed");
    f.cache.broken.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(f.cached.users.get_user(user.id).await.unwrap().username, "renamed");
}
