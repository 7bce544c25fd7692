//! Accounts and access: registration, login with argon2id, JWT access tokens, logout and
//! account changes ([`AuthService`]), plus the pure pieces it is built from.
//!
//! - [`password`]: the password policy and argon2id hashing with pinned parameters.
//! - [`tokens`]: signing and verifying JWTs with the configured key and algorithm only.
//! - [`account_fields`]: username and email rules.

pub mod account_fields;
pub mod common_passwords;
mod config;
pub mod password;
mod rate_limit;
mod service;
pub mod tokens;

#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod test_stores;
#[cfg(test)]
mod tokens_tests;

pub use config::{AuthConfig, JwtConfig, JwtKey, MIN_HS256_SECRET_LEN, RateLimit};
pub use service::{
    ACCOUNT_TAKEN, AuthService, INVALID_CREDENTIALS, MAX_REVOKED_TOKENS, Principal, WRONG_PASSWORD,
};
pub use tokens::{IssuedToken, TokenClaims, TokenSigner};
