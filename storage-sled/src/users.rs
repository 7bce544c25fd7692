//! Accounts: the `users` tree plus the unique indexes `users_by_email` (normalised email -> id)
//! and `users_by_username` (lower-cased username -> id), kept in step by transactions.

use async_trait::async_trait;
use modelyard_core::{Error, Mutation, Result, User, UserId, UserStore, normalize_email};
use sled::Transactional;

use crate::SledStore;
use crate::db::{decode, encode};
use crate::error::{abort, map_error, tx_error};

/// The key under which a username is unique: usernames compare case-insensitively.
fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// The outcome of one attempt at an indexed user update.
enum Attempt {
    Written,
    /// The record changed since it was read: read it again.
    Raced,
}

#[async_trait]
impl UserStore for SledStore {
    async fn create_user(&self, user: &User) -> Result<()> {
        let t = &self.trees;
        let id = user.id.to_bytes();
        let email = user.email_key();
        let username = username_key(&user.username);
        let value = encode(user)?;
        (&t.users, &t.users_by_email, &t.users_by_username)
            .transaction(|(users, by_email, by_username)| {
                if users.get(id)?.is_some() {
                    return abort(Error::Conflict("user already exists".into()));
                }
                if by_email.get(email.as_bytes())?.is_some() {
                    return abort(Error::Conflict("email already registered".into()));
                }
                if by_username.get(username.as_bytes())?.is_some() {
                    return abort(Error::Conflict("username already taken".into()));
                }
                users.insert(&id, value.as_slice())?;
                by_email.insert(email.as_bytes(), &id)?;
                by_username.insert(username.as_bytes(), &id)?;
                Ok(())
            })
            .map_err(tx_error)?;
        t.db.flush().await
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        let key = id.to_bytes();
        let bytes = self.trees.users.get(key).map_err(map_error)?;
        let bytes = bytes.ok_or_else(|| Error::not_found("user"))?;
        self.trees.users_memo.decode(key, &bytes, |b| decode(b, "user"))
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let key = normalize_email(email);
        let Some(id) = self.trees.users_by_email.get(key.as_bytes()).map_err(map_error)? else {
            return Ok(None);
        };
        let Some(bytes) = self.trees.users.get(&id).map_err(map_error)? else {
            // Creates and deletes change both trees at once, so this is a broken store.
            return Err(Error::internal("email index points at a missing user"));
        };
        let user: User = decode(&bytes, "user")?;
        if user.email_key() != key {
            return Err(Error::internal("email index disagrees with the user record"));
        }
        Ok(Some(user))
    }

    async fn update_user(&self, id: UserId, mutation: Mutation<'_, User>) -> Result<User> {
        let t = &self.trees;
        let key = id.to_bytes();
        loop {
            let Some(old) = t.users.get(key).map_err(map_error)? else {
                return Err(Error::not_found("user"));
            };
            let current: User = decode(&old, "user")?;
            let mut changed = current.clone();
            mutation(&mut changed)?;
            if changed.id != id || changed.email_key() != current.email_key() {
                return Err(Error::internal("a user update may not change the id or email"));
            }
            let new = encode(&changed)?;
            let old_name = username_key(&current.username);
            let new_name = username_key(&changed.username);
            let attempt = if old_name == new_name {
                match t.users.compare_and_swap(key, Some(&old), Some(new)).map_err(map_error)? {
                    Ok(()) => Attempt::Written,
                    Err(_) => Attempt::Raced,
                }
            } else {
                // A new username moves its index entry, atomically with the record.
                (&t.users, &t.users_by_username)
                    .transaction(|(users, by_username)| {
                        if users.get(key)?.as_ref() != Some(&old) {
                            return Ok(Attempt::Raced);
                        }
                        if by_username.get(new_name.as_bytes())?.is_some() {
                            return abort(Error::Conflict("username already taken".into()));
                        }
                        by_username.remove(old_name.as_bytes())?;
                        by_username.insert(new_name.as_bytes(), &key)?;
                        users.insert(&key, new.as_slice())?;
                        Ok(Attempt::Written)
                    })
                    .map_err(tx_error)?
            };
            match attempt {
                Attempt::Written => {
                    t.db.flush().await?;
                    return Ok(changed);
                }
                Attempt::Raced => continue,
            }
        }
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        let t = &self.trees;
        let key = id.to_bytes();
        (&t.users, &t.users_by_email, &t.users_by_username)
            .transaction(|(users, by_email, by_username)| {
                let Some(bytes) = users.get(key)? else {
                    return abort(Error::not_found("user"));
                };
                let user: User = match decode(&bytes, "user") {
                    Ok(user) => user,
                    Err(err) => return abort(err),
                };
                users.remove(&key)?;
                by_email.remove(user.email_key().as_bytes())?;
                by_username.remove(username_key(&user.username).as_bytes())?;
                Ok(())
            })
            .map_err(tx_error)?;
        t.users_memo.forget(&key);
        t.db.flush().await
    }

    async fn list_users(&self, after: Option<UserId>, limit: usize) -> Result<Vec<User>> {
        use std::ops::Bound;
        let start = match after {
            Some(after) => Bound::Excluded(after.to_bytes()),
            None => Bound::Unbounded,
        };
        let range = self.trees.users.range::<[u8; 16], _>((start, Bound::Unbounded));
        range.take(limit).map(|entry| decode(&entry.map_err(map_error)?.1, "user")).collect()
    }
}
