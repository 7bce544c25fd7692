//! The cache policy of the original platform, kept: `user:<id>` for 1 h, `model:<id>` for 24 h,
//! `training:<id>` for 7 days, as a read-through layer in front of the record stores.
//!
//! The cache is never the truth: a cache error (Redis down, restarted, flushed, evicting) reads
//! through to the store and a failed cache write is skipped, so records keep being served while
//! the cache is away; every write invalidates, and a run is cached only once final (a running
//! run changes every epoch). Nothing in the cache is an only copy: logouts too are kept in the
//! user's record (see `AuthService`), which this layer caches and invalidates like any other.
//! Invalidation deletes the key after the write and once more a moment later, so a reader that
//! loaded the old record just before the write cannot leave it cached for the whole TTL.

use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Serialize, de::DeserializeOwned};

use crate::memo::DecodeMemo;
use crate::{
    Cache, Error, Listed, Model, Mutation, Page, Record, RecordStore, Result, Stores, TrainingRun,
    User, UserId, UserStore,
};

/// Deletions tried after a write (the second invalidation and its retries, backing off from
/// `reinvalidate_after`: 0.5 s, 1 s, 2 s ... with the default).
const INVALIDATION_ATTEMPTS: u32 = 6;

/// Memory for decoded cache hits remembered per record kind (see [`DecodeMemo`]).
const MEMO_BYTES: u64 = 4 * 1024 * 1024;

/// Time to live per cached record kind.
#[derive(Debug, Clone)]
pub struct CachePolicy {
    /// Put before every key (`<prefix>user:<id>`), so deployments or tenants sharing one cache
    /// never read each other's entries. Empty by default: the original platform's exact keys.
    pub key_prefix: String,
    /// `user:<id>`.
    pub user_ttl: Duration,
    /// `model:<id>`.
    pub model_ttl: Duration,
    /// `training:<id>` (final runs only).
    pub training_ttl: Duration,
    /// Delay of the second invalidation after a write.
    pub reinvalidate_after: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            key_prefix: String::new(),
            user_ttl: Duration::from_secs(3600),
            model_ttl: Duration::from_secs(24 * 3600),
            training_ttl: Duration::from_secs(7 * 24 * 3600),
            reinvalidate_after: Duration::from_millis(500),
        }
    }
}

/// Wraps the user, model and run stores of `stores` with the read-through cache of `stores.cache`.
pub fn with_read_through_cache(mut stores: Stores, policy: &CachePolicy) -> Stores {
    let layer = |kind: &str, ttl| Layer {
        cache: stores.cache.clone(),
        prefix: Arc::from(format!("{}{kind}", policy.key_prefix)),
        ttl,
        reinvalidate_after: policy.reinvalidate_after,
        memo: Arc::new(DecodeMemo::new(MEMO_BYTES)),
    };
    stores.users = Arc::new(CachedUsers {
        inner: stores.users.clone(),
        layer: layer("user", policy.user_ttl),
    });
    stores.models = Arc::new(CachedRecords {
        inner: stores.models.clone(),
        layer: layer("model", policy.model_ttl),
        keep: |_: &Model| true,
    });
    stores.runs = Arc::new(CachedRecords {
        inner: stores.runs.clone(),
        layer: layer("training", policy.training_ttl),
        keep: |run: &TrainingRun| run.status.is_final(),
    });
    stores
}

/// One key family of the cache.
#[derive(Clone)]
struct Layer {
    cache: Arc<dyn Cache>,
    /// `<key_prefix><kind>`.
    prefix: Arc<str>,
    ttl: Duration,
    reinvalidate_after: Duration,
    /// Hits skip JSON parsing when the cached bytes are the ones decoded last time.
    memo: Arc<DecodeMemo<String>>,
}

impl Layer {
    fn key(&self, id: impl Display) -> String {
        format!("{}:{id}", self.prefix)
    }

    async fn read<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        id: impl Display,
    ) -> Option<T> {
        let key = self.key(id);
        match self.cache.get(&key).await {
            Ok(Some(bytes)) => {
                self.memo.decode(key, &bytes, |b| serde_json::from_slice::<T>(b)).ok()
            }
            Ok(None) => None,
            Err(err) => {
                tracing::debug!(%err, "cache read failed; reading through");
                None
            }
        }
    }

    async fn store<T: Serialize>(&self, id: impl Display, value: &T) {
        let Ok(bytes) = serde_json::to_vec(value) else { return };
        if let Err(err) = self.cache.set(&self.key(id), bytes.into(), self.ttl).await {
            tracing::debug!(%err, "cache write failed");
        }
    }

    async fn invalidate(&self, id: impl Display) {
        let key = self.key(id);
        if let Err(err) = self.cache.delete(&key).await {
            tracing::warn!(%err, %key, "cache invalidation failed");
        }
        let (cache, mut delay) = (self.cache.clone(), self.reinvalidate_after);
        tokio::spawn(async move {
            // The second deletion also retries while the cache is unreachable (a Redis blip), so
            // a stale entry of a persistent cache does not outlive the outage by a whole TTL.
            for attempt in 1..=INVALIDATION_ATTEMPTS {
                tokio::time::sleep(delay).await;
                match cache.delete(&key).await {
                    Ok(()) => return,
                    Err(err) if attempt == INVALIDATION_ATTEMPTS => {
                        tracing::warn!(%err, %key, "cache invalidation abandoned; the entry expires with its TTL");
                    }
                    Err(_) => delay = (delay * 2).max(Duration::from_millis(100)),
                }
            }
        });
    }
}

struct CachedUsers {
    inner: Arc<dyn UserStore>,
    layer: Layer,
}

#[async_trait]
impl UserStore for CachedUsers {
    async fn create_user(&self, user: &User) -> Result<()> {
        self.inner.create_user(user).await
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        if let Some(user) = self.layer.read::<User>(id).await.filter(|u| u.id == id) {
            return Ok(user);
        }
        let user = self.inner.get_user(id).await?;
        self.layer.store(id, &user).await;
        Ok(user)
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        self.inner.find_user_by_email(email).await
    }

    async fn update_user(&self, id: UserId, mutation: Mutation<'_, User>) -> Result<User> {
        let result = self.inner.update_user(id, mutation).await;
        self.layer.invalidate(id).await;
        result
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        let result = self.inner.delete_user(id).await;
        self.layer.invalidate(id).await;
        result
    }

    async fn list_users(&self, after: Option<UserId>, limit: usize) -> Result<Vec<User>> {
        self.inner.list_users(after, limit).await
    }
}

/// A record kind behind the cache: reads of `get` go through it, every write invalidates.
struct CachedRecords<T: Record> {
    inner: Arc<dyn RecordStore<T>>,
    layer: Layer,
    /// Whether a record read from the store may be cached (a running run may not).
    keep: fn(&T) -> bool,
}

#[async_trait]
impl<T: Record> RecordStore<T> for CachedRecords<T> {
    async fn insert(&self, record: &T) -> Result<()> {
        self.inner.insert(record).await
    }

    async fn get(&self, owner: UserId, id: T::Id) -> Result<T> {
        if let Some(record) = self.layer.read::<T>(id).await.filter(|r| r.id() == id) {
            // Cached records are checked like stored ones: another owner's record is not found.
            return if record.owner() == owner {
                Ok(record)
            } else {
                Err(Error::not_found(T::KIND))
            };
        }
        let record = self.inner.get(owner, id).await?;
        if (self.keep)(&record) {
            self.layer.store(id, &record).await;
        }
        Ok(record)
    }

    async fn list(&self, owner: UserId, page: Page<T::Id>) -> Result<Listed<T>> {
        self.inner.list(owner, page).await
    }

    async fn count(&self, owner: UserId) -> Result<u64> {
        self.inner.count(owner).await
    }

    async fn update(&self, owner: UserId, id: T::Id, mutation: Mutation<'_, T>) -> Result<T> {
        let result = self.inner.update(owner, id, mutation).await;
        self.layer.invalidate(id).await;
        result
    }

    async fn delete(&self, owner: UserId, id: T::Id) -> Result<()> {
        let result = self.inner.delete(owner, id).await;
        self.layer.invalidate(id).await;
        result
    }
}
