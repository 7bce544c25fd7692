use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::UserId;

/// An account. The password hash never leaves core: callers see [`PublicUser`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The account's id.
    pub id: UserId,
    /// Unique login-independent handle (3..=32 of `[A-Za-z0-9_.-]`).
    pub username: String,
    /// The address as the user typed it (trimmed); uniqueness uses [`normalize_email`].
    pub email: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    /// What the user shows of themselves.
    pub profile: Profile,
    /// Bumped on password change and logout-all; tokens carrying an older version are refused.
    pub token_version: u32,
    /// Tokens logged out one by one, each kept until it could no longer verify anyway. In the
    /// record itself so a logout is as durable as the account: no cache holds the only copy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked_tokens: Vec<RevokedToken>,
}

/// A logged-out access token that has not expired yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedToken {
    /// The token's id (`jti`).
    pub id: uuid::Uuid,
    /// When it stops verifying by itself (expiry plus leeway): it can be forgotten from then.
    pub until: Timestamp,
}

/// A user's public profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Shown name; defaults to the username.
    pub display_name: String,
    /// When the account was created.
    pub created_at: Timestamp,
}

/// What anyone may see of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PublicUser {
    /// The account's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: UserId,
    /// The handle.
    pub username: String,
    /// The address.
    pub email: String,
    /// Shown name.
    pub display_name: String,
    /// When the account was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl User {
    /// The part of the user that may be shown.
    pub fn public(&self) -> PublicUser {
        PublicUser {
            id: self.id,
            username: self.username.clone(),
            email: self.email.clone(),
            display_name: self.profile.display_name.clone(),
            created_at: self.profile.created_at,
        }
    }

    /// The key under which the email is unique.
    pub fn email_key(&self) -> String {
        normalize_email(&self.email)
    }
}

/// The form of an email address that uniqueness and login compare: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}
