//! Speed of the auth building blocks: argon2id hashing and verification with the pinned
//! parameters (what every register and login pays), signing and verifying an access token
//! (what every authenticated call pays), and a whole login over the sled backend.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use modelyard_core::UserId;
use modelyard_core::auth::password::{hash_password, verify_password};
use modelyard_core::auth::{AuthConfig, AuthService, JwtConfig, JwtKey, TokenSigner};

const PASSWORD: &str = "violet-kettle-harbour";

fn passwords(c: &mut Criterion) {
    let mut group = c.benchmark_group("password");
    // argon2id at m=19 MiB, t=2 takes tens of milliseconds: fewer samples keep the run short.
    group.sample_size(20);
    group.bench_function("hash", |b| b.iter(|| hash_password(PASSWORD).unwrap()));
    let stored = hash_password(PASSWORD).unwrap();
    group.bench_function("verify", |b| b.iter(|| verify_password(PASSWORD, &stored).unwrap()));
    group.finish();
}

fn tokens(c: &mut Criterion) {
    let key = JwtKey::hs256(b"bench-secret-bench-secret-bench-secret".to_vec()).unwrap();
    let signer = TokenSigner::new(&JwtConfig::new(key)).unwrap();
    let user = UserId::new();
    let token = signer.issue(user, 0).unwrap().token;
    let mut group = c.benchmark_group("jwt_hs256");
    group.bench_function("issue", |b| b.iter(|| signer.issue(user, 0).unwrap()));
    group.bench_function("verify", |b| b.iter(|| signer.verify(&token).unwrap()));
    group.finish();
}

fn login(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let backend = modelyard_storage_sled::SledStore::open(
        &modelyard_storage_sled::SledConfig::new(dir.path()),
    )
    .unwrap()
    .backend();
    let mut config = AuthConfig::new(JwtKey::hs256(vec![7u8; 32]).unwrap());
    // Measuring speed, not throttling: every iteration succeeds anyway.
    config.login_limit.max_attempts = u32::MAX;
    let auth =
        AuthService::new(backend.users.clone(), backend.cache.clone().unwrap(), config).unwrap();
    rt.block_on(auth.register("bench", "bench@example.com", PASSWORD)).unwrap();

    let mut group = c.benchmark_group("auth_service");
    group.sample_size(20);
    group.bench_function("login_sled", |b| {
        b.to_async(&rt)
            .iter(|| async { auth.login("bench@example.com", PASSWORD, None).await.unwrap() })
    });
    let token = rt.block_on(auth.login("bench@example.com", PASSWORD, None)).unwrap().1.token;
    group.bench_function("authenticate_sled", |b| {
        b.to_async(&rt).iter(|| async { auth.authenticate(&token).await.unwrap() })
    });
    group.finish();
}

criterion_group!(benches, passwords, tokens, login);
criterion_main!(benches);
