//! In-memory `UserStore` and `Cache` doubles for the auth unit tests (the real backends have
//! their own conformance suite; these only need to honour the trait contracts).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;

use crate::{Cache, Error, Mutation, Result, User, UserId, UserStore, normalize_email};

#[derive(Default)]
pub(crate) struct MemoryUsers {
    users: Mutex<HashMap<UserId, User>>,
}

#[async_trait]
impl UserStore for MemoryUsers {
    async fn create_user(&self, user: &User) -> Result<()> {
        let mut users = self.users.lock().unwrap();
        if users.values().any(|u| {
            u.email_key() == user.email_key()
                || u.username.to_lowercase() == user.username.to_lowercase()
        }) {
            return Err(Error::Conflict("user exists".into()));
        }
        users.insert(user.id, user.clone());
        Ok(())
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        self.users.lock().unwrap().get(&id).cloned().ok_or_else(|| Error::not_found("user"))
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let key = normalize_email(email);
        Ok(self.users.lock().unwrap().values().find(|u| u.email_key() == key).cloned())
    }

    async fn update_user(&self, id: UserId, mutation: Mutation<'_, User>) -> Result<User> {
        let mut users = self.users.lock().unwrap();
        let stored = users.get_mut(&id).ok_or_else(|| Error::not_found("user"))?;
        let mut changed = stored.clone();
        mutation(&mut changed)?;
        *stored = changed.clone();
        Ok(changed)
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        self.users.lock().unwrap().remove(&id).map(|_| ()).ok_or_else(|| Error::not_found("user"))
    }

    async fn list_users(&self, after: Option<UserId>, limit: usize) -> Result<Vec<User>> {
        let mut users: Vec<User> = self.users.lock().unwrap().values().cloned().collect();
        users.sort_by_key(|u| u.id);
        users.retain(|u| after.is_none_or(|after| u.id > after));
        users.truncate(limit);
        Ok(users)
    }
}

/// A cache that can be switched off to test fail-closed paths.
#[derive(Default)]
pub(crate) struct MemoryCache {
    entries: Mutex<HashMap<String, (Bytes, Instant)>>,
    pub(crate) down: AtomicBool,
}

impl MemoryCache {
    fn check_up(&self) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::unavailable("cache down"));
        }
        Ok(())
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.check_up()?;
        let entries = self.entries.lock().unwrap();
        Ok(entries.get(key).filter(|(_, until)| *until > Instant::now()).map(|(v, _)| v.clone()))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<()> {
        self.check_up()?;
        self.entries.lock().unwrap().insert(key.to_owned(), (value, Instant::now() + ttl));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.check_up()?;
        self.entries.lock().unwrap().remove(key);
        Ok(())
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64> {
        self.check_up()?;
        let mut entries = self.entries.lock().unwrap();
        let now = Instant::now();
        let (count, until) = match entries.get(key) {
            Some((value, until)) if *until > now => {
                let count: u64 = std::str::from_utf8(value).unwrap().parse().unwrap();
                (count + 1, *until)
            }
            _ => (1, now + ttl),
        };
        entries.insert(key.to_owned(), (Bytes::from(count.to_string()), until));
        Ok(count)
    }
}
