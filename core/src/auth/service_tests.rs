//! AuthService behaviour over in-memory stores: the account lifecycle and SECURITY-CHECKLIST
//! items 6-8, 10 and 11 at the service boundary.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};

use super::test_stores::{MemoryCache, MemoryUsers};
use super::{
    ACCOUNT_TAKEN, AuthConfig, AuthService, INVALID_CREDENTIALS, JwtKey, MAX_REVOKED_TOKENS,
    RateLimit,
};
use crate::{Error, Profile, RevokedToken, User, UserId, UserStore, now};

const PASSWORD: &str = "violet-kettle-harbour";

struct Fixture {
    auth: AuthService,
    users: Arc<MemoryUsers>,
    cache: Arc<MemoryCache>,
}

fn fixture_with(login_limit: RateLimit) -> Fixture {
    let users = Arc::new(MemoryUsers::default());
    let cache = Arc::new(MemoryCache::default());
    let mut config = AuthConfig::new(JwtKey::hs256(vec![42u8; 32]).unwrap());
    config.login_limit = login_limit;
    let auth = AuthService::new(users.clone(), cache.clone(), config).unwrap();
    Fixture { auth, users, cache }
}

fn fixture() -> Fixture {
    fixture_with(RateLimit { max_attempts: 5, window: Duration::from_secs(60) })
}

fn unauthorized(message: &'static str) -> Error {
    Error::Unauthorized(message.into())
}

fn invalid_token() -> Error {
    unauthorized("invalid or expired token")
}

#[tokio::test]
async fn register_login_and_authenticate_round_trip() {
    let f = fixture();
    let (user, first) = f.auth.register("alice", " Alice@Example.com ", PASSWORD).await.unwrap();
    assert_eq!(user.email, "Alice@Example.com");
    assert_eq!(user.profile.display_name, "alice");
    assert_eq!(user.token_version, 0);
    assert!(user.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

    let (logged_in, token) = f.auth.login("alice@example.COM", PASSWORD, None).await.unwrap();
    assert_eq!(logged_in.id, user.id);
    for token in [&first.token, &token.token] {
        assert_eq!(f.auth.authenticate(token).await.unwrap().id, user.id);
    }
    assert_eq!(f.auth.me(&token.token).await.unwrap().username, "alice");
    let principal = f.auth.principal(&token.token).await.unwrap();
    assert_eq!(principal.expires_at, token.expires_at);
    assert_eq!(f.auth.expires_at(&token.token).unwrap(), token.expires_at);
}

#[tokio::test]
async fn register_rejects_bad_fields_and_stores_nothing() {
    let f = fixture();
    let cases = [
        ("al", "a@example.com", PASSWORD, "username"),
        ("alice", r#"{"$ne": ""}"#, PASSWORD, "email"),
        ("alice", r#"{"$gt": ""}"#, PASSWORD, "email"),
        ("alice", r#"{"$where": "1"}"#, PASSWORD, "email"),
        ("alice", "a@example.com", "short", "password"),
        ("alice", "a@example.com", "Password123", "password"),
        ("alice", "a@example.com", "alice", "password"),
    ];
    for (username, email, password, field) in cases {
        let err = f.auth.register(username, email, password).await.unwrap_err();
        assert_eq!(err.field(), Some(field), "{username} {email} {password}");
    }
    assert!(f.users.find_user_by_email("a@example.com").await.unwrap().is_none());
}

#[tokio::test]
async fn a_taken_email_or_username_gets_one_fixed_conflict() {
    let f = fixture();
    f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    let email_taken = f.auth.register("alice2", "ALICE@example.com", PASSWORD).await.unwrap_err();
    let name_taken = f.auth.register("Alice", "other@example.com", PASSWORD).await.unwrap_err();
    assert_eq!(email_taken, Error::Conflict(ACCOUNT_TAKEN.to_owned()));
    assert_eq!(name_taken, email_taken);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_answer_alike_and_cost_one_verification_each() {
    let f = fixture();
    f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();

    let before = f.auth.password_verifications();
    let unknown = f.auth.login("nobody@example.com", PASSWORD, None).await.unwrap_err();
    assert_eq!(f.auth.password_verifications(), before + 1);
    let wrong = f.auth.login("alice@example.com", "not-the-password", None).await.unwrap_err();
    assert_eq!(f.auth.password_verifications(), before + 2);

    assert_eq!(unknown, unauthorized(INVALID_CREDENTIALS));
    assert_eq!(wrong, unknown);
    assert_eq!(wrong.to_string(), unknown.to_string());
}

#[tokio::test]
async fn an_operator_shaped_login_email_is_a_validation_error() {
    let f = fixture();
    for email in [r#"{"$ne": ""}"#, "$gt", r#"{"$where": "1"}"#] {
        let err = f.auth.login(email, PASSWORD, None).await.unwrap_err();
        assert_eq!(err.field(), Some("email"), "{email}");
    }
    assert_eq!(f.auth.password_verifications(), 0);
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_until_the_window_ends() {
    let f = fixture_with(RateLimit { max_attempts: 3, window: Duration::from_secs(1) });
    f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    for _ in 0..3 {
        let err = f.auth.login("alice@example.com", "wrong-password", None).await.unwrap_err();
        assert_eq!(err, unauthorized(INVALID_CREDENTIALS));
    }
    // Even the right password is refused now, without being checked.
    let checked = f.auth.password_verifications();
    let err = f.auth.login("alice@example.com", PASSWORD, None).await.unwrap_err();
    assert_eq!(err, Error::RateLimited { retry_after_secs: 1 });
    assert_eq!(f.auth.password_verifications(), checked);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(f.auth.login("alice@example.com", PASSWORD, None).await.is_ok());
}

#[tokio::test]
async fn a_successful_login_resets_the_account_counter() {
    let f = fixture_with(RateLimit { max_attempts: 2, window: Duration::from_secs(60) });
    f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    for _ in 0..3 {
        let _ = f.auth.login("alice@example.com", "wrong-password", None).await;
        f.auth.login("alice@example.com", PASSWORD, None).await.unwrap();
    }
}

#[tokio::test]
async fn logout_revokes_that_token_only() {
    let f = fixture();
    let (_, first) = f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    let (_, second) = f.auth.login("alice@example.com", PASSWORD, None).await.unwrap();
    f.auth.logout(&first.token).await.unwrap();
    assert_eq!(f.auth.authenticate(&first.token).await.unwrap_err(), invalid_token());
    assert_eq!(f.auth.logout(&first.token).await.unwrap_err(), invalid_token());
    assert!(f.auth.authenticate(&second.token).await.is_ok());
}

#[tokio::test]
async fn logout_all_revokes_every_token() {
    let f = fixture();
    let (user, first) = f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    let (_, second) = f.auth.login("alice@example.com", PASSWORD, None).await.unwrap();
    f.auth.logout_all(user.id).await.unwrap();
    for token in [first, second] {
        assert_eq!(f.auth.authenticate(&token.token).await.unwrap_err(), invalid_token());
    }
    let (_, fresh) = f.auth.login("alice@example.com", PASSWORD, None).await.unwrap();
    assert!(f.auth.authenticate(&fresh.token).await.is_ok());
}

#[tokio::test]
async fn changing_the_password_kills_old_tokens_and_the_old_password() {
    let f = fixture();
    let (user, old_token) = f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    let new_password = "plum-lantern-orbit-7";

    let wrong = f.auth.change_password(user.id, "not-it-at-all", new_password).await.unwrap_err();
    assert_eq!(wrong.code(), "UNAUTHORIZED");
    let weak = f.auth.change_password(user.id, PASSWORD, "password1").await.unwrap_err();
    assert_eq!(weak.field(), Some("password"));
    assert!(f.auth.authenticate(&old_token.token).await.is_ok());

    f.auth.change_password(user.id, PASSWORD, new_password).await.unwrap();
    assert_eq!(f.auth.authenticate(&old_token.token).await.unwrap_err(), invalid_token());
    let old = f.auth.login("alice@example.com", PASSWORD, None).await.unwrap_err();
    assert_eq!(old, unauthorized(INVALID_CREDENTIALS));
    assert!(f.auth.login("alice@example.com", new_password, None).await.is_ok());
}

#[tokio::test]
async fn deleting_the_account_kills_its_tokens() {
    let f = fixture();
    let (user, token) = f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    let wrong =
        f.auth.delete_account(user.id, "not-the-password", || async { Ok(()) }).await.unwrap_err();
    assert_eq!(wrong.code(), "UNAUTHORIZED");
    assert!(f.auth.authenticate(&token.token).await.is_ok());

    f.auth.delete_account(user.id, PASSWORD, || async { Ok(()) }).await.unwrap();
    assert_eq!(f.auth.authenticate(&token.token).await.unwrap_err(), invalid_token());
    // The email is free again.
    assert!(f.auth.register("alice", "alice@example.com", PASSWORD).await.is_ok());
}

fn user_with_hash(password_hash: String) -> User {
    User {
        id: UserId::new(),
        username: "legacy".to_owned(),
        email: "legacy@example.com".to_owned(),
        password_hash,
        profile: Profile { display_name: "legacy".to_owned(), created_at: now() },
        token_version: 0,
        revoked_tokens: Vec::new(),
    }
}

#[tokio::test]
async fn a_below_policy_hash_is_replaced_on_the_next_login() {
    let f = fixture();
    let weak =
        Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19_456, 1, 1, None).unwrap())
            .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
    let user = user_with_hash(weak.clone());
    f.users.create_user(&user).await.unwrap();

    let (logged_in, token) = f.auth.login("legacy@example.com", PASSWORD, None).await.unwrap();
    let stored = f.users.get_user(user.id).await.unwrap();
    assert_ne!(stored.password_hash, weak);
    assert!(stored.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(logged_in.password_hash, stored.password_hash);
    assert!(f.auth.authenticate(&token.token).await.is_ok());
    assert!(f.auth.login("legacy@example.com", PASSWORD, None).await.is_ok());
}

#[tokio::test]
async fn a_tampered_hash_is_refused_without_hashing() {
    let f = fixture();
    let real = super::password::hash_password(PASSWORD).unwrap();
    let user = user_with_hash(real.replace("m=19456", "m=4194304"));
    f.users.create_user(&user).await.unwrap();
    let err = f.auth.login("legacy@example.com", PASSWORD, None).await.unwrap_err();
    assert_eq!(err.code(), "INTERNAL");
    assert_eq!(f.auth.password_verifications(), 0);
}

#[tokio::test]
async fn a_token_from_an_older_version_is_refused() {
    let f = fixture();
    let (user, _) = f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    let stale = f.auth.signer().issue(user.id, 41).unwrap();
    assert_eq!(f.auth.authenticate(&stale.token).await.unwrap_err(), invalid_token());
}

/// Token checks need no cache: revocation is in the user's record. The login counters are
/// only in the cache, so a login fails closed (retryably) while it cannot be read.
#[tokio::test]
async fn a_cache_that_is_down_stops_logins_but_not_token_checks() {
    let f = fixture();
    let (_, token) = f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    f.cache.down.store(true, Ordering::SeqCst);
    assert!(f.auth.authenticate(&token.token).await.is_ok());
    let login = f.auth.login("alice@example.com", PASSWORD, None).await.unwrap_err();
    assert_eq!(login.code(), "UNAVAILABLE");
    f.auth.logout(&token.token).await.unwrap();
    assert_eq!(f.auth.authenticate(&token.token).await.unwrap_err(), invalid_token());
}

/// A logout is in the record store: a service on the same users and an empty cache (a Redis
/// flushed, restarted or evicting) still refuses the token.
#[tokio::test]
async fn a_logout_outlives_the_cache() {
    let f = fixture();
    let (user, first) = f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    let (_, second) = f.auth.login("alice@example.com", PASSWORD, None).await.unwrap();
    f.auth.logout(&first.token).await.unwrap();
    let config = AuthConfig::new(JwtKey::hs256(vec![42u8; 32]).unwrap());
    let fresh =
        AuthService::new(f.users.clone(), Arc::new(MemoryCache::default()), config).unwrap();
    assert_eq!(fresh.authenticate(&first.token).await.unwrap_err(), invalid_token());
    assert!(fresh.authenticate(&second.token).await.is_ok());
    let stored = f.users.get_user(user.id).await.unwrap();
    let revoked: Vec<_> = stored.revoked_tokens.iter().map(|r| r.id).collect();
    assert_eq!(revoked, [f.auth.signer().verify(&first.token).unwrap().token_id]);
    // Logging out everywhere kills every token, so the list is no longer needed.
    f.auth.logout_all(user.id).await.unwrap();
    assert!(f.users.get_user(user.id).await.unwrap().revoked_tokens.is_empty());
}

/// The record keeps at most `MAX_REVOKED_TOKENS` live logouts and forgets expired ones; one
/// more logs the user out everywhere rather than forgetting a live one.
#[tokio::test]
async fn past_the_cap_a_logout_revokes_every_token_and_expired_ones_are_forgotten() {
    let f = fixture();
    let (user, kept) = f.auth.register("alice", "alice@example.com", PASSWORD).await.unwrap();
    // An entry whose token expired long ago is dropped by the next logout.
    let expired =
        RevokedToken { id: uuid::Uuid::new_v4(), until: now() - chrono::Duration::hours(2) };
    f.users
        .update_user(user.id, &mut |u: &mut User| {
            u.revoked_tokens.push(expired.clone());
            Ok(())
        })
        .await
        .unwrap();
    for _ in 0..MAX_REVOKED_TOKENS {
        let token = f.auth.signer().issue(user.id, 0).unwrap();
        f.auth.logout(&token.token).await.unwrap();
    }
    let stored = f.users.get_user(user.id).await.unwrap();
    assert_eq!(stored.revoked_tokens.len(), MAX_REVOKED_TOKENS);
    assert!(!stored.revoked_tokens.contains(&expired));
    assert!(f.auth.authenticate(&kept.token).await.is_ok(), "only the logged-out ones are refused");

    let one_more = f.auth.signer().issue(user.id, 0).unwrap();
    f.auth.logout(&one_more.token).await.unwrap();
    let stored = f.users.get_user(user.id).await.unwrap();
    assert_eq!((stored.token_version, stored.revoked_tokens.len()), (1, 0));
    for token in [kept, one_more] {
        assert_eq!(f.auth.authenticate(&token.token).await.unwrap_err(), invalid_token());
    }
}

#[tokio::test]
async fn a_too_short_secret_or_bad_limits_stop_the_service_from_starting() {
    assert_eq!(JwtKey::hs256(vec![1u8; 16]).unwrap_err().field(), Some("jwt_secret"));
    let mut config = AuthConfig::new(JwtKey::hs256(vec![1u8; 32]).unwrap());
    config.jwt.ttl = Duration::ZERO;
    let err = AuthService::new(
        Arc::new(MemoryUsers::default()),
        Arc::new(MemoryCache::default()),
        config,
    )
    .unwrap_err();
    assert_eq!(err.field(), Some("jwt_ttl"));
}

/// Each argon2 run holds 19 MiB: a burst of sign-ups and logins (from as many addresses as an
/// attacker has) queues for the cores instead of running all at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_sign_ins_hashes_no_more_at_once_than_there_are_cores() {
    let f = fixture_with(RateLimit { max_attempts: 1_000, window: Duration::from_secs(60) });
    let auth = Arc::new(f.auth);
    let burst: Vec<_> = (0..16)
        .map(|i| {
            let auth = auth.clone();
            tokio::spawn(async move {
                let email = format!("user{i}@example.com");
                auth.register(&format!("user{i}"), &email, PASSWORD).await.unwrap();
                auth.login(&email, PASSWORD, None).await.unwrap();
            })
        })
        .collect();
    for task in burst {
        task.await.unwrap();
    }
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get) as u64;
    let peak = auth.peak_concurrent_hashes();
    assert!((1..=cores).contains(&peak), "{peak} argon2 runs at once on {cores} cores");
}
