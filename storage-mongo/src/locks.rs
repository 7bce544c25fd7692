//! Short per-document locks in the `locks` collection, `{ _id: key, token, until }`.
//!
//! MongoDB applies a filtered update or `findOneAndUpdate` atomically, but FerretDB v1 does not:
//! it evaluates the filter, then writes the document by `_id`, so two writers can both match the
//! same `rev` or the same ready job. The one operation atomic on both is an insert against a
//! unique `_id`. So every read-modify-write here first inserts the lock document of its target
//! (`runs/<id>`, `jobs/<id>`, ...), does its work, and deletes the lock. A lock expires after
//! [`LOCK_TTL`], so a process that dies holding one blocks that record only that long; the
//! compare on `rev` stays as the guard on servers with atomic updates.

use std::future::Future;
use std::time::Duration;

use modelyard_core::{Error, Result};
use mongodb::bson::{self, doc};

use crate::MongoStore;
use crate::error::map_error;

/// How long a lock holds if its holder never releases it (a crashed process).
const LOCK_TTL: Duration = Duration::from_secs(10);
/// How long an operation waits for a lock held by someone else.
const LOCK_WAIT: Duration = Duration::from_secs(15);

/// A held lock, released with [`MongoStore::unlock`].
pub(crate) struct Lock {
    key: String,
    token: String,
}

fn millis_from_now(after: Duration) -> bson::DateTime {
    let after = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
    bson::DateTime::from_millis(modelyard_core::now().timestamp_millis().saturating_add(after))
}

impl MongoStore {
    /// Takes the lock `key` if it is free (or expired); `None` if someone else holds it.
    pub(crate) async fn try_lock(&self, key: &str) -> Result<Option<Lock>> {
        let token = uuid::Uuid::new_v4().to_string();
        let lock = doc! { "_id": key, "token": &token, "until": millis_from_now(LOCK_TTL) };
        match self.locks.insert_one(lock).await.map_err(map_error) {
            Ok(_) => Ok(Some(Lock { key: key.to_owned(), token })),
            Err(Error::Conflict(_)) => {
                // Held: break it only if it expired (its holder died), by its token.
                let held = self.locks.find_one(doc! { "_id": key }).await.map_err(map_error)?;
                if let Some(held) = held {
                    let expired = held
                        .get_datetime("until")
                        .map(|until| *until <= millis_from_now(Duration::ZERO))
                        .unwrap_or(true);
                    if expired {
                        let token = held.get_str("token").unwrap_or_default();
                        self.locks
                            .delete_one(doc! { "_id": key, "token": token })
                            .await
                            .map_err(map_error)?;
                        tracing::warn!(key, "broke an expired record lock");
                    }
                }
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// Takes the lock `key`, waiting for its holder up to a limit; then `Unavailable`.
    pub(crate) async fn lock(&self, key: &str) -> Result<Lock> {
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(lock) = self.try_lock(key).await? {
                return Ok(lock);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::unavailable(format!("{key} is busy; try again")));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Releases a lock; failing to is only logged (it expires).
    pub(crate) async fn unlock(&self, lock: Lock) {
        let released = self.locks.delete_one(doc! { "_id": &lock.key, "token": &lock.token }).await;
        if let Err(err) = released {
            tracing::warn!(key = lock.key, error = %err, "could not release a record lock");
        }
    }

    /// Runs `work` holding the lock `key`, and releases it whatever `work` returns.
    pub(crate) async fn locked<T, F>(&self, key: &str, work: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let lock = self.lock(key).await?;
        let result = work.await;
        self.unlock(lock).await;
        result
    }
}
