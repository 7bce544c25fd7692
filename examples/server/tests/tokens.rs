//! SECURITY-CHECKLIST 1-6 over HTTP: forged, foreign, expired, misdirected and revoked tokens are
//! all 401 with the same error body; key-locating headers are ignored.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{PASSWORD, SECRET, TestServer, error_code};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(user: &str) -> Value {
    json!({
        "sub": user, "exp": now() + 600, "nbf": now() - 10, "iat": now() - 10,
        "iss": "modelyard", "aud": "modelyard", "jti": uuid::Uuid::new_v4().to_string(), "ver": 0,
    })
}

fn b64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(TABLE[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// A token with any header JSON, signed HS256 with `secret`.
fn with_header(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let message =
        format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .unwrap();
    format!("{message}.{signature}")
}

/// A change to a token's claims.
type ClaimChange = Box<dyn Fn(&mut Value)>;

fn hs256(claims: &Value) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET)).unwrap()
}

async fn user(server: &TestServer, name: &str) -> (String, String) {
    server.register_with_id(name).await
}

async fn refused(server: &TestServer, token: &str, why: &str) {
    let response = server.get("/api/data", token).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{why}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHORIZED", "{why}");
}

#[tokio::test]
async fn a_token_forged_with_the_configured_key_and_claims_is_accepted() {
    // The control for every refusal below: the forging itself is right.
    let server = TestServer::start().await;
    let (_, id) = user(&server, "ada").await;
    assert_eq!(server.get("/api/data", &hs256(&claims(&id))).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn unsigned_and_mangled_tokens_are_refused() {
    let server = TestServer::start().await;
    let (token, id) = user(&server, "ada").await;
    let body = b64(claims(&id).to_string().as_bytes());
    let none = format!("{}.{body}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    refused(&server, &none, "alg none").await;
    let none_upper = format!("{}.{body}.", b64(br#"{"alg":"NONE","typ":"JWT"}"#));
    refused(&server, &none_upper, "alg NONE").await;
    let no_signature = token.rsplit_once('.').unwrap().0.to_owned();
    refused(&server, &no_signature, "two segments").await;
    let mut mangled = token.clone();
    let last = mangled.pop().unwrap();
    mangled.push(if last == 'A' { 'B' } else { 'A' });
    refused(&server, &mangled, "mangled signature").await;
    refused(&server, "not-a-jwt", "garbage").await;
    refused(&server, &"a".repeat(10_000), "oversized").await;
    let missing = server.request(Method::GET, "/api/data", None).send().await.unwrap();
    error_code(missing, StatusCode::UNAUTHORIZED).await;
    let basic = server
        .client
        .get(server.url("/api/data"))
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    error_code(basic, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn tokens_of_another_key_or_algorithm_are_refused() {
    let server = TestServer::start().await;
    let (_, id) = user(&server, "ada").await;
    let other_secret = encode(
        &Header::new(Algorithm::HS256),
        &claims(&id),
        &EncodingKey::from_secret(b"another-secret-another-secret-another!!"),
    )
    .unwrap();
    refused(&server, &other_secret, "other secret").await;
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        let token =
            encode(&Header::new(algorithm), &claims(&id), &EncodingKey::from_secret(SECRET))
                .unwrap();
        refused(&server, &token, &format!("{algorithm:?} with the right secret")).await;
    }
}

#[tokio::test]
async fn expired_early_stringly_and_incomplete_claims_are_refused() {
    let server = TestServer::start().await;
    let (_, id) = user(&server, "ada").await;
    let cases: Vec<(&str, ClaimChange)> = vec![
        ("exp in the past", Box::new(|c| c["exp"] = json!(now() - 3600))),
        ("nbf in the future", Box::new(|c| c["nbf"] = json!(now() + 3600))),
        ("exp as a string", Box::new(|c| c["exp"] = json!((now() + 600).to_string()))),
        ("nbf as a string", Box::new(|c| c["nbf"] = json!((now() - 10).to_string()))),
        ("no exp", Box::new(|c| drop(c.as_object_mut().unwrap().remove("exp")))),
        ("no nbf", Box::new(|c| drop(c.as_object_mut().unwrap().remove("nbf")))),
        ("no iat", Box::new(|c| drop(c.as_object_mut().unwrap().remove("iat")))),
        ("no sub", Box::new(|c| drop(c.as_object_mut().unwrap().remove("sub")))),
        ("wrong iss", Box::new(|c| c["iss"] = json!("someone-else"))),
        ("no iss", Box::new(|c| drop(c.as_object_mut().unwrap().remove("iss")))),
        ("wrong aud", Box::new(|c| c["aud"] = json!("another-service"))),
        ("no aud", Box::new(|c| drop(c.as_object_mut().unwrap().remove("aud")))),
        ("unknown user", Box::new(|c| c["sub"] = json!(uuid::Uuid::now_v7().to_string()))),
        ("stale token version", Box::new(|c| c["ver"] = json!(7))),
    ];
    for (why, change) in cases {
        let mut c = claims(&id);
        change(&mut c);
        refused(&server, &hs256(&c), why).await;
    }
}

#[tokio::test]
async fn key_locating_headers_are_ignored() {
    let server = TestServer::start().await;
    let (_, id) = user(&server, "ada").await;
    let pointing_elsewhere = json!({
        "alg": "HS256", "typ": "JWT", "kid": "../../../../dev/null",
        "jku": "http://127.0.0.1:1/keys.json", "x5u": "http://127.0.0.1:1/cert.pem",
        "jwk": { "kty": "oct", "k": b64(b"another-secret-another-secret-another!!") },
    });
    // Signed with the configured key: the headers change nothing, the token is good.
    let good = with_header(&pointing_elsewhere, &claims(&id), SECRET);
    assert_eq!(server.get("/api/data", &good).await.status(), StatusCode::OK);
    // Signed with the key the headers point at: still refused, keys come from configuration only.
    let bad =
        with_header(&pointing_elsewhere, &claims(&id), b"another-secret-another-secret-another!!");
    refused(&server, &bad, "key named by jwk/jku/kid").await;
}

#[tokio::test]
async fn tokens_die_on_logout_password_change_and_account_deletion() {
    let server = TestServer::start().await;
    let (first, _) = user(&server, "ada").await;
    let login = server
        .post("/api/auth/login", None, json!({ "email": "ada@example.com", "password": PASSWORD }))
        .await;
    let second: Value = login.json().await.unwrap();
    let second = second["token"].as_str().unwrap().to_owned();

    // Logout revokes that one token only.
    let out = server.request(Method::POST, "/api/auth/logout", Some(&first)).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    refused(&server, &first, "after logout").await;
    assert_eq!(server.get("/api/data", &second).await.status(), StatusCode::OK);

    // A password change revokes every token, the one that made it included.
    let new_password = "an entirely different passphrase";
    let wrong = server
        .post(
            "/api/auth/password",
            Some(&second),
            json!({ "currentPassword": "not it at all", "newPassword": new_password }),
        )
        .await;
    assert!(wrong.status().is_client_error());
    let changed = server
        .post(
            "/api/auth/password",
            Some(&second),
            json!({ "currentPassword": PASSWORD, "newPassword": new_password }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    refused(&server, &second, "after password change").await;
    let old = server
        .post("/api/auth/login", None, json!({ "email": "ada@example.com", "password": PASSWORD }))
        .await;
    error_code(old, StatusCode::UNAUTHORIZED).await;
    let third = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "ada@example.com", "password": new_password }),
        )
        .await;
    assert_eq!(third.status(), StatusCode::OK);
    let third: Value = third.json().await.unwrap();
    let third = third["token"].as_str().unwrap().to_owned();

    // Deleting the account kills its tokens at once.
    let gone = server
        .request(Method::DELETE, "/api/auth/me", Some(&third))
        .json(&json!({ "password": new_password }))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    refused(&server, &third, "after account deletion").await;
}
