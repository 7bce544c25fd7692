//! The auth service over the sled backend: the account lifecycle, identical answers for unknown
//! and wrong credentials, rate limits that lift, revocation, and re-hashing of legacy hashes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use modelyard::core::auth::{AuthConfig, AuthService, INVALID_CREDENTIALS, JwtKey, RateLimit};
use modelyard::core::{Backend, Error, Profile, User, UserId, now};
use tempfile::TempDir;

const PASSWORD: &str = "violet-kettle-harbour";

/// An argon2id hash of `legacy-records-live-on` made with t=1: below the pinned t=2.
const LEGACY_HASH: &str = "$argon2id$v=19$m=19456,t=1,p=1$nvLMydPjsOMRRYqEfL7YGg$YClbDfPNekbdMkrQqrdpbl8WzOKcxFUiJSyzdkkFveE";

struct Fixture {
    auth: AuthService,
    backend: Backend,
    _dir: TempDir,
}

fn fixture_with(login_limit: RateLimit) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend = modelyard_storage_sled::SledStore::open(
        &modelyard_storage_sled::SledConfig::new(dir.path()),
    )
    .unwrap()
    .backend();
    let cache = backend.cache.clone().expect("the sled backend has a cache");
    let mut config =
        AuthConfig::new(JwtKey::hs256(b"integration-test-secret-0123456789".to_vec()).unwrap());
    config.login_limit = login_limit;
    let auth = AuthService::new(backend.users.clone(), cache, config).unwrap();
    Fixture { auth, backend, _dir: dir }
}

fn fixture() -> Fixture {
    fixture_with(RateLimit { max_attempts: 5, window: Duration::from_secs(60) })
}

fn refused_token() -> Error {
    Error::Unauthorized("invalid or expired token".into())
}

#[tokio::test]
async fn register_login_and_me_round_trip() {
    let f = fixture();
    let (user, registered) = f.auth.register("ada", "Ada@Example.com", PASSWORD).await.unwrap();
    let (logged_in, token) =
        f.auth.login("ada@example.com", PASSWORD, Some("10.0.0.1")).await.unwrap();
    assert_eq!(logged_in.id, user.id);
    assert!(token.expires_at > now());

    let me = f.auth.me(&token.token).await.unwrap();
    assert_eq!(
        (me.id, me.username.as_str(), me.email.as_str()),
        (user.id, "ada", "Ada@Example.com")
    );
    assert_eq!(f.auth.authenticate(&registered.token).await.unwrap().id, user.id);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_are_indistinguishable() {
    let f = fixture();
    f.auth.register("ada", "ada@example.com", PASSWORD).await.unwrap();

    let before = f.auth.password_verifications();
    let unknown = f.auth.login("nobody@example.com", PASSWORD, None).await.unwrap_err();
    let after_unknown = f.auth.password_verifications();
    let wrong = f.auth.login("ada@example.com", "not-her-password", None).await.unwrap_err();
    let after_wrong = f.auth.password_verifications();

    assert_eq!((unknown.code(), unknown.to_string()), (wrong.code(), wrong.to_string()));
    assert_eq!(wrong, Error::Unauthorized(INVALID_CREDENTIALS.into()));
    // One argon2 verification each: the unknown account paid for the dummy hash.
    assert_eq!((after_unknown - before, after_wrong - after_unknown), (1, 1));
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_and_the_limit_lifts_after_the_window() {
    let f = fixture_with(RateLimit { max_attempts: 3, window: Duration::from_secs(2) });
    f.auth.register("ada", "ada@example.com", PASSWORD).await.unwrap();
    for _ in 0..3 {
        let err = f.auth.login("ada@example.com", "wrong-password", None).await.unwrap_err();
        assert_eq!(err.code(), "UNAUTHORIZED");
    }
    match f.auth.login("ada@example.com", PASSWORD, None).await.unwrap_err() {
        Error::RateLimited { retry_after_secs } => assert!((1..=2).contains(&retry_after_secs)),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert!(f.auth.login("ada@example.com", PASSWORD, None).await.is_ok());
}

#[tokio::test]
async fn a_logged_out_token_is_refused() {
    let f = fixture();
    let (_, token) = f.auth.register("ada", "ada@example.com", PASSWORD).await.unwrap();
    f.auth.logout(&token.token).await.unwrap();
    assert_eq!(f.auth.authenticate(&token.token).await.unwrap_err(), refused_token());
}

#[tokio::test]
async fn a_password_change_refuses_the_old_token_and_the_old_password() {
    let f = fixture();
    let (user, token) = f.auth.register("ada", "ada@example.com", PASSWORD).await.unwrap();
    f.auth.change_password(user.id, PASSWORD, "plum-lantern-orbit-7").await.unwrap();

    assert_eq!(f.auth.authenticate(&token.token).await.unwrap_err(), refused_token());
    let old = f.auth.login("ada@example.com", PASSWORD, None).await.unwrap_err();
    assert_eq!(old, Error::Unauthorized(INVALID_CREDENTIALS.into()));
    let (_, fresh) = f.auth.login("ada@example.com", "plum-lantern-orbit-7", None).await.unwrap();
    assert!(f.auth.authenticate(&fresh.token).await.is_ok());
}

#[tokio::test]
async fn a_deleted_account_token_is_refused() {
    let f = fixture();
    let (user, token) = f.auth.register("ada", "ada@example.com", PASSWORD).await.unwrap();
    f.auth.delete_account(user.id, PASSWORD, || async { Ok(()) }).await.unwrap();
    assert_eq!(f.auth.authenticate(&token.token).await.unwrap_err(), refused_token());
    let err = f.auth.login("ada@example.com", PASSWORD, None).await.unwrap_err();
    assert_eq!(err, Error::Unauthorized(INVALID_CREDENTIALS.into()));
}

#[tokio::test]
async fn a_legacy_hash_is_upgraded_to_the_pinned_parameters_on_login() {
    let f = fixture();
    let legacy = User {
        id: UserId::new(),
        username: "grace".to_owned(),
        email: "grace@example.com".to_owned(),
        password_hash: LEGACY_HASH.to_owned(),
        profile: Profile { display_name: "grace".to_owned(), created_at: now() },
        token_version: 0,
        revoked_tokens: Vec::new(),
    };
    f.backend.users.create_user(&legacy).await.unwrap();

    f.auth.login("grace@example.com", "legacy-records-live-on", None).await.unwrap();
    let stored = f.backend.users.get_user(legacy.id).await.unwrap();
    assert!(
        stored.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{}",
        stored.password_hash
    );
    // The upgraded hash still accepts the same password.
    assert!(f.auth.login("grace@example.com", "legacy-records-live-on", None).await.is_ok());
}

#[tokio::test]
async fn a_taken_email_is_a_conflict_with_one_fixed_message() {
    let f = fixture();
    f.auth.register("ada", "ada@example.com", PASSWORD).await.unwrap();
    let by_email = f.auth.register("ada2", "ADA@example.com", PASSWORD).await.unwrap_err();
    let by_name = f.auth.register("ADA", "other@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(by_email.code(), "CONFLICT");
    assert_eq!(by_email, by_name);
}

#[tokio::test]
async fn the_service_works_when_shared_across_tasks() {
    let f = fixture();
    f.auth.register("ada", "ada@example.com", PASSWORD).await.unwrap();
    let auth = Arc::new(f.auth);
    let logins = (0..3).map(|_| {
        let auth = auth.clone();
        tokio::spawn(async move { auth.login("ada@example.com", PASSWORD, None).await })
    });
    for login in futures::future::join_all(logins).await {
        assert!(login.unwrap().is_ok());
    }
}
