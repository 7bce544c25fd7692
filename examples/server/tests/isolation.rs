//! SECURITY-CHECKLIST 17: user B reading, changing, deleting or training on user A's dataset,
//! model, run, file or notification gets 404 on every route — exactly like a missing id.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{TestServer, error_code};

#[tokio::test]
async fn user_b_gets_404_on_every_route_for_user_a_records() {
    let server = TestServer::start().await;
    let ada = server.register("ada").await;
    let bob = server.register("bob").await;
    let (dataset, model, run) = server.trained_model(&ada).await;
    let note = server.notifications_soon(&ada).await[0]["id"].as_str().unwrap().to_owned();
    let bob_dataset = server.upload_iris(&bob).await;

    let row = json!({ "rows": [{ "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2 }] });
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/api/data/{dataset}"), None),
        (Method::GET, format!("/api/data/{dataset}/preview"), None),
        (Method::DELETE, format!("/api/data/{dataset}"), None),
        (Method::GET, format!("/api/files/datasets/{dataset}"), None),
        (
            Method::POST,
            "/api/model".into(),
            Some(json!({ "name": "stolen", "datasetId": dataset, "target": "species" })),
        ),
        (Method::GET, format!("/api/model/{model}"), None),
        (Method::GET, format!("/api/model/{model}/summary"), None),
        (Method::POST, format!("/api/model/{model}/predict"), Some(row)),
        (
            Method::POST,
            format!("/api/model/{model}/evaluate"),
            Some(json!({ "datasetId": bob_dataset })),
        ),
        (Method::DELETE, format!("/api/model/{model}"), None),
        (Method::GET, format!("/api/files/models/{model}"), None),
        (
            Method::POST,
            "/api/training/start".into(),
            Some(json!({ "modelId": model, "epochs": 1, "batchSize": 8, "learningRate": 0.1 })),
        ),
        (Method::GET, format!("/api/training/{run}"), None),
        (Method::GET, format!("/api/training/{run}/history"), None),
        (Method::POST, format!("/api/training/{run}/cancel"), None),
        (Method::GET, format!("/api/training/{run}/events"), None),
        (Method::POST, format!("/api/notif/{note}/read"), None),
    ];
    for (method, path, body) in attempts {
        let mut request = server.request(method.clone(), &path, Some(&bob));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let error = error_code(response, StatusCode::NOT_FOUND).await;
        assert_eq!(error["code"], "NOT_FOUND", "{method} {path}");
    }
    // Bob's lists show none of Ada's records.
    for (path, key) in [
        ("/api/data", "datasets"),
        ("/api/model", "models"),
        ("/api/training", "runs"),
        ("/api/notif", "notifications"),
    ] {
        let body: Value = server.get(path, &bob).await.json().await.unwrap();
        let ids: Vec<&str> =
            body[key].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        for theirs in [&dataset, &model, &run, &note] {
            assert!(!ids.contains(&theirs.as_str()), "{path} shows {theirs}");
        }
    }
    // And nothing of Ada's changed.
    let model_now: Value =
        server.get(&format!("/api/model/{model}"), &ada).await.json().await.unwrap();
    assert_eq!(model_now["model"]["id"], model);
    let notes: Value = server.get("/api/notif", &ada).await.json().await.unwrap();
    assert_eq!(notes["notifications"][0]["read"], false);
    let data: Value = server.get(&format!("/api/data/{dataset}"), &ada).await.json().await.unwrap();
    assert_eq!(data["dataset"]["id"], dataset);
}

#[tokio::test]
async fn the_notification_stream_carries_only_the_callers_notifications() {
    let server = TestServer::start().await;
    let ada = server.register("ada").await;
    let bob = server.register("bob").await;
    let bob_stream = server.get("/api/notif/events", &bob).await;
    let (_, _, run) = server.trained_model(&ada).await;
    server.notifications_soon(&ada).await;
    // Bob then finishes a run of his own: the first notification he hears must be his.
    let (_, _, bob_run) = server.trained_model(&bob).await;
    let events = support::read_sse(bob_stream, |name, _| name == "notification").await;
    let (_, note) = events.last().unwrap();
    assert_eq!(note["runId"], bob_run);
    assert_ne!(note["runId"], run);
}
