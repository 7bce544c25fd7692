//! Every route of DESIGN.md §9 over a real socket: the happy path with its status and body shape.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{IRIS, PASSWORD, TestServer, error_code, read_sse};

#[tokio::test]
async fn register_login_me_logout() {
    let server = TestServer::start().await;
    let response = server
        .post(
            "/api/auth/register",
            None,
            json!({ "username": "ada", "email": "ada@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["username"], "ada");
    assert!(
        body["user"].get("passwordHash").is_none() && body["user"].get("password_hash").is_none()
    );
    assert!(body["token"].is_string());

    let response = server
        .post("/api/auth/login", None, json!({ "email": "ADA@example.com", "password": PASSWORD }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(body["expiresAt"].is_string());
    assert_eq!(body["user"]["email"], "ada@example.com");

    let me: Value = server.get("/api/auth/me", &token).await.json().await.unwrap();
    assert_eq!(me["user"]["username"], "ada");
    assert!(me["user"]["createdAt"].is_string());

    let response =
        server.request(Method::POST, "/api/auth/logout", Some(&token)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    error_code(server.get("/api/auth/me", &token).await, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn wrong_password_and_taken_email_answer_with_error_bodies() {
    let server = TestServer::start().await;
    server.register("ada").await;
    let unknown = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "nobody@example.com", "password": PASSWORD }),
        )
        .await;
    let unknown = error_code(unknown, StatusCode::UNAUTHORIZED).await;
    let wrong = server
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "ada@example.com", "password": "not the password" }),
        )
        .await;
    let wrong = error_code(wrong, StatusCode::UNAUTHORIZED).await;
    assert_eq!(unknown, wrong, "unknown email and wrong password must read the same");
    let taken = server
        .post(
            "/api/auth/register",
            None,
            json!({ "username": "ada2", "email": "ada@example.com", "password": PASSWORD }),
        )
        .await;
    assert_eq!(error_code(taken, StatusCode::CONFLICT).await["code"], "CONFLICT");
    let short = server
        .post(
            "/api/auth/register",
            None,
            json!({ "username": "bob", "email": "bob@example.com", "password": "short" }),
        )
        .await;
    let error = error_code(short, StatusCode::BAD_REQUEST).await;
    assert_eq!(error["code"], "VALIDATION");
    assert_eq!(error["field"], "password");
}

#[tokio::test]
async fn datasets_upload_list_get_preview_download_delete() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let response = server.upload(&token, "iris", "iris.csv", IRIS.to_vec()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let dataset = &body["dataset"];
    assert_eq!(dataset["rowCount"], 150);
    assert_eq!(dataset["originalFilename"], "iris.csv");
    let columns = dataset["schema"]["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 5);
    assert_eq!(columns[4]["kind"], "categorical");
    let id = dataset["id"].as_str().unwrap();

    let list: Value = server.get("/api/data", &token).await.json().await.unwrap();
    assert_eq!(list["datasets"].as_array().unwrap().len(), 1);
    let one: Value = server.get(&format!("/api/data/{id}"), &token).await.json().await.unwrap();
    assert_eq!(one["dataset"]["id"], id);

    let preview: Value =
        server.get(&format!("/api/data/{id}/preview?limit=3"), &token).await.json().await.unwrap();
    assert_eq!(preview["columns"].as_array().unwrap().len(), 5);
    assert_eq!(preview["rows"].as_array().unwrap().len(), 3);
    let bad_limit = server.get(&format!("/api/data/{id}/preview?limit=lots"), &token).await;
    assert_eq!(error_code(bad_limit, StatusCode::BAD_REQUEST).await["code"], "VALIDATION");

    let download = server.get(&format!("/api/files/datasets/{id}"), &token).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(download.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = download.text().await.unwrap();
    assert_eq!(csv.lines().count(), 151);

    assert_eq!(
        server.delete(&format!("/api/data/{id}"), &token).await.status(),
        StatusCode::NO_CONTENT
    );
    error_code(server.get(&format!("/api/data/{id}"), &token).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn models_create_list_get_summary_predict_evaluate_download_delete() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;

    let list: Value = server.get("/api/model", &token).await.json().await.unwrap();
    assert_eq!(list["models"][0]["id"], model);
    let one: Value = server.get(&format!("/api/model/{model}"), &token).await.json().await.unwrap();
    assert_eq!(one["model"]["target"], "species");
    assert_eq!(one["model"]["task"], "classification");
    let summary: Value =
        server.get(&format!("/api/model/{model}/summary"), &token).await.json().await.unwrap();
    assert_eq!(summary["summary"]["inputWidth"], 4);
    assert!(summary["summary"]["totalParams"].as_u64().unwrap() > 0);

    // Predicting with an untrained model is a conflict, not a crash.
    let early = server
        .post(
            &format!("/api/model/{model}/predict"),
            Some(&token),
            json!({ "rows": [{ "sepal_length": 5.1 }] }),
        )
        .await;
    error_code(early, StatusCode::CONFLICT).await;

    let run = server.start_run(&token, &model, 2).await;
    assert_eq!(server.wait_run(&token, &run).await["status"], "completed");

    let row =
        json!({ "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2 });
    let response = server
        .post(&format!("/api/model/{model}/predict"), Some(&token), json!({ "rows": [row] }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let prediction = &body["predictions"][0];
    assert!(prediction["label"].is_string(), "{body}");
    assert!(prediction["probabilities"].is_object());

    let response = server
        .post(
            &format!("/api/model/{model}/evaluate"),
            Some(&token),
            json!({ "datasetId": dataset }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["metrics"]["accuracy"].is_number(), "{body}");
    assert_eq!(body["confusionMatrix"]["labels"].as_array().unwrap().len(), 3);

    let archive = server.get(&format!("/api/files/models/{model}"), &token).await;
    assert_eq!(archive.status(), StatusCode::OK);
    assert_eq!(archive.headers()["content-type"], "application/zip");
    let bytes = archive.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"PK\x03\x04");

    assert_eq!(
        server.delete(&format!("/api/model/{model}"), &token).await.status(),
        StatusCode::NO_CONTENT
    );
    error_code(server.get(&format!("/api/model/{model}"), &token).await, StatusCode::NOT_FOUND)
        .await;
}

#[tokio::test]
async fn training_start_list_get_history_and_live_events() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;
    let run = server.start_run(&token, &model, 4).await;

    let events = server.get(&format!("/api/training/{run}/events"), &token).await;
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()["content-type"], "text/event-stream");
    let events = read_sse(events, |_, _| false).await;
    let epochs: Vec<u64> = events
        .iter()
        .filter(|(name, _)| name == "epoch")
        .map(|(_, data)| data["epoch"].as_u64().unwrap())
        .collect();
    assert_eq!(epochs, vec![1, 2, 3, 4], "{events:?}");
    let (name, last) = events.last().unwrap();
    assert_eq!(name, "status");
    assert_eq!(last["status"], "completed");
    assert!(events.iter().filter(|(n, _)| n == "epoch").all(|(_, d)| d["loss"].is_number()));

    let list: Value = server.get("/api/training", &token).await.json().await.unwrap();
    assert_eq!(list["runs"][0]["id"], run);
    let one: Value =
        server.get(&format!("/api/training/{run}"), &token).await.json().await.unwrap();
    assert_eq!(one["run"]["modelId"], model);
    assert_eq!(one["run"]["params"]["batchSize"], 16);
    let history: Value =
        server.get(&format!("/api/training/{run}/history"), &token).await.json().await.unwrap();
    assert_eq!(history["history"].as_array().unwrap().len(), 4);
    assert_eq!(history["history"][3]["loss"], 0.25);

    // A finished run's stream replays its history and final status, then ends.
    let replay =
        read_sse(server.get(&format!("/api/training/{run}/events"), &token).await, |_, _| false)
            .await;
    assert_eq!(replay.len(), 5);
}

#[tokio::test]
async fn a_running_run_is_cancelled() {
    let server = TestServer::with(support::Options {
        trainer: Some(support::slow_trainer()),
        ..Default::default()
    })
    .await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;
    let run = server.start_run(&token, &model, 50).await;
    let again = server
        .post(
            "/api/training/start",
            Some(&token),
            json!({ "modelId": model, "epochs": 5, "batchSize": 16, "learningRate": 0.01 }),
        )
        .await;
    assert_eq!(error_code(again, StatusCode::CONFLICT).await["code"], "CONFLICT");

    let response = server
        .request(Method::POST, &format!("/api/training/{run}/cancel"), Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert!(body["run"]["id"] == run);
    assert_eq!(server.wait_run(&token, &run).await["status"], "cancelled");
    let twice = server
        .request(Method::POST, &format!("/api/training/{run}/cancel"), Some(&token))
        .send()
        .await
        .unwrap();
    error_code(twice, StatusCode::CONFLICT).await;
}

#[tokio::test]
async fn notifications_list_mark_read_and_live_stream() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;

    let stream = server.get("/api/notif/events", &token).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let run = server.start_run(&token, &model, 2).await;
    let live = read_sse(stream, |name, _| name == "notification").await;
    let (name, note) = live.last().unwrap();
    assert_eq!(name, "notification");
    assert_eq!(note["kind"], "run_completed");
    assert_eq!(note["runId"], run);

    let notes = server.notifications_soon(&token).await;
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["read"], false);
    let id = notes[0]["id"].as_str().unwrap();
    let response = server
        .request(Method::POST, &format!("/api/notif/{id}/read"), Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let body: Value = server.get("/api/notif", &token).await.json().await.unwrap();
    assert_eq!(body["notifications"][0]["read"], true);
}

#[tokio::test]
async fn sse_routes_accept_the_token_as_a_query_parameter() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let response = server
        .client
        .get(server.url(&format!("/api/notif/events?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Only the streaming routes take it: elsewhere a query token is no credential.
    let response = server
        .client
        .get(server.url(&format!("/api/auth/me?access_token={token}")))
        .send()
        .await
        .unwrap();
    error_code(response, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test]
async fn health_readiness_openapi_and_the_dashboard() {
    let server = TestServer::start().await;
    let health = server.client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready: Value =
        server.client.get(server.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");

    let doc: Value = server
        .client
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/logout",
        "/api/auth/me",
        "/api/data",
        "/api/data/{id}",
        "/api/data/{id}/preview",
        "/api/model",
        "/api/model/{id}",
        "/api/model/{id}/summary",
        "/api/model/{id}/predict",
        "/api/model/{id}/evaluate",
        "/api/training/start",
        "/api/training",
        "/api/training/{id}",
        "/api/training/{id}/history",
        "/api/training/{id}/cancel",
        "/api/training/{id}/events",
        "/api/files/datasets/{id}",
        "/api/files/models/{id}",
        "/api/notif",
        "/api/notif/{id}/read",
        "/api/notif/events",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(path), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["schemas"]["RegisterBody"].is_object());

    let index = server.client.get(server.url("/")).send().await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    // The dashboard routes after `#` (`/#/datasets`), so a path that is none of its files is a
    // JSON 404 (issue 13, H10), like an unknown API route.
    let deep = server.client.get(server.url("/datasets/some-page")).send().await.unwrap();
    assert_eq!(error_code(deep, StatusCode::NOT_FOUND).await["code"], "NOT_FOUND");
    let unknown = server.client.get(server.url("/api/nothing-here")).send().await.unwrap();
    assert_eq!(error_code(unknown, StatusCode::NOT_FOUND).await["code"], "NOT_FOUND");
}

#[tokio::test]
async fn graceful_shutdown_ends_live_streams_and_turns_not_ready() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let stream = server.get("/api/notif/events", &token).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let state = server.state.clone();
    // Returns only once the open stream has ended and the server stopped.
    server.shutdown().await;
    assert!(state.is_draining());
    let rest = read_sse(stream, |_, _| false).await;
    assert!(rest.is_empty());
}

#[tokio::test]
async fn shutdown_returns_a_running_training_to_the_queue_with_its_progress() {
    let server = TestServer::with(support::Options {
        trainer: Some(support::slow_trainer()),
        ..Default::default()
    })
    .await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;
    let run = server.start_run(&token, &model, 50).await;
    // Wait for the first epoch, then stop the server like SIGTERM does.
    let first =
        read_sse(server.get(&format!("/api/training/{run}/events"), &token).await, |name, _| {
            name == "epoch"
        })
        .await;
    assert_eq!(first.last().unwrap().0, "epoch");
    let yard = server.yard.clone();
    server.shutdown().await;
    let session = yard.session(&token).await.unwrap();
    let stopped = session.run(run.parse().unwrap()).await.unwrap().get().await.unwrap();
    assert_eq!(stopped.status, modelyard::RunStatus::Queued, "{stopped:?}");
    assert!(!stopped.history.is_empty(), "the epochs done so far are kept");
}

#[tokio::test]
async fn a_worker_process_answers_health_only() {
    let server = TestServer::start().await;
    let router = modelyard_server::health_app(server.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let ready = server.client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let api = server.client.get(format!("{base}/api/data")).send().await.unwrap();
    error_code(api, StatusCode::NOT_FOUND).await;
}
