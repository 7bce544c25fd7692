//! The plumbing around the routes: JSON errors for malformed requests, rate limits with
//! Retry-After, CORS, request ids, compression, security headers, body limits.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use modelyard_server::ServerSettings;
use modelyard_server::middleware::rate_limit::RateSpec;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Options, PASSWORD, TestServer, error_code};

#[tokio::test]
async fn malformed_json_bodies_are_400_naming_the_field() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let send = |body: &'static str| {
        server
            .request(Method::POST, "/api/auth/login", None)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    // Operator injection never reaches a store: typed fields refuse objects.
    for (body, field) in [
        (r#"{"email": {"$ne": ""}, "password": "x"}"#, "email"),
        (r#"{"email": "a@example.com", "password": {"$gt": ""}}"#, "password"),
        (r#"{"email": "a@example.com"}"#, "body"),
        (r#"{"email": "a@example.com", "password": "#, "password"),
        ("[]", "body"),
    ] {
        let error = error_code(send(body).await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert_eq!(error["code"], "VALIDATION", "{body}");
        assert_eq!(error["field"], field, "{body}");
    }
    let nested = server
        .post(
            "/api/model",
            Some(&token),
            json!({ "name": "m", "datasetId": uuid::Uuid::now_v7(), "target": "y",
                    "layers": [{ "type": "dense", "units": "many" }] }),
        )
        .await;
    let error = error_code(nested, StatusCode::BAD_REQUEST).await;
    assert!(error["field"].as_str().unwrap().starts_with("layers[0]"), "{error}");
    let where_clause = server
        .post("/api/training/start", Some(&token), json!({ "modelId": { "$where": "1" }, "epochs": 1, "batchSize": 1, "learningRate": 0.1 }))
        .await;
    assert_eq!(error_code(where_clause, StatusCode::BAD_REQUEST).await["field"], "modelId");
}

#[tokio::test]
async fn wrong_content_types_are_415_and_oversized_json_413() {
    let server = TestServer::with(Options {
        settings: ServerSettings { max_json_bytes: 1024, ..Options::default().settings },
        ..Default::default()
    })
    .await;
    let form = server
        .request(Method::POST, "/api/auth/login", None)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=a&password=b")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(form, StatusCode::UNSUPPORTED_MEDIA_TYPE).await["code"],
        "UNSUPPORTED_MEDIA_TYPE"
    );
    let token = server.register("ada").await;
    let json_upload = server.post("/api/data", Some(&token), json!({ "name": "x" })).await;
    error_code(json_upload, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let big = json!({ "email": "a@example.com", "password": "p".repeat(4096) });
    let response = server.post("/api/auth/login", None, big).await;
    assert_eq!(
        error_code(response, StatusCode::PAYLOAD_TOO_LARGE).await["code"],
        "PAYLOAD_TOO_LARGE"
    );
}

#[tokio::test]
async fn sign_in_is_rate_limited_per_client_with_retry_after() {
    let server = TestServer::with(Options {
        settings: ServerSettings {
            auth_rate: RateSpec { burst: 3, per_second: 0.1 },
            ..Options::default().settings
        },
        ..Default::default()
    })
    .await;
    let login = json!({ "email": "nobody@example.com", "password": PASSWORD });
    for _ in 0..3 {
        let response = server.post("/api/auth/login", None, login.clone()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = server.post("/api/auth/login", None, login.clone()).await;
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    assert_eq!(error_code(limited, StatusCode::TOO_MANY_REQUESTS).await["code"], "RATE_LIMITED");
    // Register shares the strict bucket.
    let register = server
        .post(
            "/api/auth/register",
            None,
            json!({ "username": "zed", "email": "zed@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(register.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn repeated_failed_logins_for_one_account_are_429_with_retry_after() {
    // The facade's per-account limit, behind the HTTP bucket (SECURITY-CHECKLIST 8).
    let server = TestServer::start().await;
    server.register("ada").await;
    let wrong = json!({ "email": "ada@example.com", "password": "wrong wrong wrong" });
    let mut limited = None;
    for _ in 0..8 {
        let response = server.post("/api/auth/login", None, wrong.clone()).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = limited.expect("the account limit kicks in within 8 attempts");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(error_code(limited, StatusCode::TOO_MANY_REQUESTS).await["code"], "RATE_LIMITED");
}

#[tokio::test]
async fn the_api_bucket_limits_other_routes() {
    let server = TestServer::with(Options {
        settings: ServerSettings {
            api_rate: Some(RateSpec { burst: 5, per_second: 0.5 }),
            ..Options::default().settings
        },
        ..Default::default()
    })
    .await;
    let token = server.register("ada").await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(server.get("/api/data", &token).await.status());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 5, "{statuses:?}");
    assert_eq!(*statuses.last().unwrap(), StatusCode::TOO_MANY_REQUESTS);
    // Health checks are never limited.
    assert_eq!(
        server.client.get(server.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let server = TestServer::with(Options {
        settings: ServerSettings {
            cors_origins: vec!["https://dash.example.com".into()],
            ..Options::default().settings
        },
        ..Default::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(Method::OPTIONS, server.url("/api/data"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };
    let allowed = preflight("https://dash.example.com").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://dash.example.com");
    let denied = preflight("https://evil.example.com").await.unwrap();
    assert!(!denied.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn request_ids_security_headers_and_compression() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let response = server.get("/api/data", &token).await;
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a generated UUID: {id}");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let echoed = server
        .request(Method::GET, "/api/data", Some(&token))
        .header("x-request-id", "client-chosen-id")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "client-chosen-id");

    server.upload_iris(&token).await;
    let compressed = server
        .request(Method::GET, "/api/data", Some(&token))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    // A small answer is not worth a gzip stream: it goes out as it is.
    let small = server
        .request(Method::GET, "/api/auth/me", Some(&token))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(small.status(), 200);
    assert!(small.headers().get("content-encoding").is_none(), "{:?}", small.headers());
    let error = server.get("/api/data/not-an-id", &token).await;
    assert_eq!(error.headers()["content-type"], "application/json");
    let body: Value = error.json().await.unwrap();
    assert_eq!(body["error"]["code"], "NOT_FOUND");
}
