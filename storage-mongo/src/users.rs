//! Accounts: the `users` collection, `{ _id, email, username, rev, data }`, with unique indexes
//! on `email` (normalised) and `username` (lower-cased), so the server itself refuses a second
//! account with either, even from another process.

use async_trait::async_trait;
use futures::TryStreamExt;
use modelyard_core::{Error, Mutation, Result, User, UserId, UserStore, normalize_email};
use mongodb::bson::{Document, doc};

use crate::MongoStore;
use crate::error::map_error;
use crate::records::{MAX_UPDATE_ATTEMPTS, back_off, contended, decode, encode, rev_of};

/// The key under which a username is unique: usernames compare case-insensitively.
fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// The document of a user.
fn user_document(user: &User, rev: i64) -> Result<Document> {
    Ok(doc! {
        "_id": user.id.to_string(),
        "email": user.email_key(),
        "username": username_key(&user.username),
        "rev": rev,
        "data": encode(user)?,
    })
}

/// Which unique key a duplicate-key error is about, told apart by reading back (the server's
/// message differs between MongoDB and FerretDB).
async fn conflict_of(store: &MongoStore, user: &User) -> Error {
    let taken =
        |filter: Document| async move { matches!(store.users.find_one(filter).await, Ok(Some(_))) };
    if taken(doc! { "_id": user.id.to_string() }).await {
        Error::Conflict("user already exists".into())
    } else if taken(doc! { "email": user.email_key() }).await {
        Error::Conflict("email already registered".into())
    } else {
        Error::Conflict("username already taken".into())
    }
}

#[async_trait]
impl UserStore for MongoStore {
    async fn create_user(&self, user: &User) -> Result<()> {
        match self.users.insert_one(user_document(user, 0)?).await.map_err(map_error) {
            Ok(_) => Ok(()),
            Err(Error::Conflict(_)) => Err(conflict_of(self, user).await),
            Err(err) => Err(err),
        }
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        let stored =
            self.users.find_one(doc! { "_id": id.to_string() }).await.map_err(map_error)?;
        decode(&stored.ok_or_else(|| Error::not_found("user"))?, "user")
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        // The address is compared as a string value, never parsed as a query.
        let key = normalize_email(email);
        let stored = self.users.find_one(doc! { "email": &key }).await.map_err(map_error)?;
        let Some(stored) = stored else { return Ok(None) };
        let user: User = decode(&stored, "user")?;
        if user.email_key() != key {
            return Err(Error::internal("the email key disagrees with the user record"));
        }
        Ok(Some(user))
    }

    async fn update_user(&self, id: UserId, mutation: Mutation<'_, User>) -> Result<User> {
        self.locked(&format!("users/{id}"), self.update_user_unlocked(id, mutation)).await
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        let deleted =
            self.users.delete_one(doc! { "_id": id.to_string() }).await.map_err(map_error)?;
        if deleted.deleted_count == 0 { Err(Error::not_found("user")) } else { Ok(()) }
    }

    async fn list_users(&self, after: Option<UserId>, limit: usize) -> Result<Vec<User>> {
        if limit == 0 {
            // MongoDB reads a limit of 0 as no limit.
            return Ok(Vec::new());
        }
        // Hyphenated lower-case UUIDs order as text exactly as by their bytes.
        let filter = match after {
            Some(after) => doc! { "_id": { "$gt": after.to_string() } },
            None => doc! {},
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let found: Vec<Document> = self
            .users
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(limit)
            .await
            .map_err(map_error)?
            .try_collect()
            .await
            .map_err(map_error)?;
        found.iter().map(|stored| decode(stored, "user")).collect()
    }
}

impl MongoStore {
    /// `update_user`'s work, once the user's lock is held.
    async fn update_user_unlocked(&self, id: UserId, mutation: Mutation<'_, User>) -> Result<User> {
        let id_text = id.to_string();
        for attempt in 0..MAX_UPDATE_ATTEMPTS {
            let stored = self.users.find_one(doc! { "_id": &id_text }).await.map_err(map_error)?;
            let stored = stored.ok_or_else(|| Error::not_found("user"))?;
            let rev = rev_of(&stored, "user")?;
            let current: User = decode(&stored, "user")?;
            let mut changed = current.clone();
            mutation(&mut changed)?;
            if changed.id != id || changed.email_key() != current.email_key() {
                return Err(Error::internal("a user update may not change the id or email"));
            }
            let replaced = self
                .users
                .replace_one(
                    doc! { "_id": &id_text, "rev": rev },
                    user_document(&changed, rev + 1)?,
                )
                .await
                .map_err(map_error);
            match replaced {
                Ok(result) if result.matched_count == 1 => return Ok(changed),
                Ok(_) => back_off(attempt).await,
                // Only the username can clash: the id and email are unchanged.
                Err(Error::Conflict(_)) => {
                    return Err(Error::Conflict("username already taken".into()));
                }
                Err(err) => return Err(err),
            }
        }
        Err(contended("user"))
    }
}
