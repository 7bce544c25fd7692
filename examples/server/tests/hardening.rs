//! What an outside attack found (issue #13's H-items), each pinned over real HTTP: the test
//! fails when its protection is removed. docs/SECURITY.md maps every item to its test.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use modelyard::CostLimits;
use modelyard_server::ServerSettings;
use modelyard_server::connections::ConnectionLimits;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Options, TestServer, error_code};

fn dense(count: usize, units: u32) -> Value {
    Value::Array(vec![json!({ "type": "dense", "units": units, "activation": "relu" }); count])
}

/// H1: a model of 8 dense layers of 4 096 units (118 M parameters, several GiB to train) was
/// accepted and its training grew the server by 5 GiB. Models and runs are now costed first.
#[tokio::test]
async fn h1_a_model_or_run_beyond_the_cost_limits_is_400_naming_the_field() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    for layers in [dense(8, 4096), dense(32, 4096)] {
        let response = server
            .post(
                "/api/model",
                Some(&token),
                json!({ "name": "huge", "datasetId": dataset, "target": "species", "layers": layers }),
            )
            .await;
        let error = error_code(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(
            (error["code"].as_str(), error["field"].as_str()),
            (Some("VALIDATION"), Some("layers"))
        );
        assert!(error["message"].as_str().unwrap().contains("parameters"), "{error}");
    }
    let models: Value = server.get("/api/model", &token).await.json().await.unwrap();
    assert_eq!(models["models"].as_array().unwrap().len(), 0, "a refused model is not stored");
}

#[tokio::test]
async fn h1_runs_are_costed_by_rows_times_epochs_and_by_batch_memory() {
    let limits = CostLimits {
        max_row_epochs: 15_000,
        max_training_bytes: 4 * 1024 * 1024,
        ..CostLimits::default()
    };
    let server =
        TestServer::with(Options { cost_limits: Some(limits), ..Default::default() }).await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;
    let start = |body: Value| server.post("/api/training/start", Some(&token), body);

    // 150 rows x 101 epochs = 15 150 rows of training, above 15 000.
    let response = start(json!({ "modelId": model, "epochs": 101, "batchSize": 16 })).await;
    let error = error_code(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error["field"], "epochs", "{error}");
    assert!(error["message"].as_str().unwrap().contains("at most 100 epochs"), "{error}");

    // A 65 536-row batch of a 4-8-3 network: 65 536 x 15 widths x 12 bytes = 11.8 MB > 4 MiB.
    let response = start(json!({ "modelId": model, "epochs": 1, "batchSize": 65536 })).await;
    let error = error_code(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error["field"], "batchSize", "named as the client sent it: {error}");

    let runs: Value = server.get("/api/training", &token).await.json().await.unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 0, "a refused run is not queued");
    server.start_run(&token, &model, 100).await;
}

/// H11: fields were named as Rust spells them (`batch_size`) while the request said
/// `batchSize`, and broken JSON could name `?`.
#[tokio::test]
async fn h11_error_fields_are_named_as_the_client_sent_them() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;
    for (body, field) in [
        (json!({ "modelId": model, "epochs": 1, "batchSize": 0 }), "batchSize"),
        (json!({ "modelId": model, "epochs": 1, "learningRate": -1 }), "learningRate"),
        (json!({ "modelId": model, "epochs": 1, "validationSplit": 0.99 }), "validationSplit"),
        (
            json!({ "modelId": model, "epochs": 1, "validationSplit": 0.2,
                    "earlyStopping": { "patience": 0 } }),
            "earlyStopping.patience",
        ),
    ] {
        let response = server.post("/api/training/start", Some(&token), body.clone()).await;
        let error = error_code(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["field"], field, "{body}");
    }
    for body in [r#"{"modelId": "#, r#"{"modelId": "x", "epochs": [1, }"#, "{,}", "nul"] {
        let response = server
            .request(Method::POST, "/api/training/start", Some(&token))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let error = error_code(response, StatusCode::BAD_REQUEST).await;
        let field = error["field"].as_str().unwrap();
        assert!(!field.contains('?') && !field.is_empty(), "{body}: {error}");
    }
}

/// H5 (the per-user cap; fair claiming between users is still open): 50 runs queued by one user
/// made another user's run wait behind all of them. A user may have at most
/// `max_active_runs_per_user` runs queued or running; the next start is a 409 that says so, and
/// stores nothing; another user is not affected; a finished or cancelled run frees a place.
#[tokio::test]
async fn h5_one_user_may_only_have_so_many_runs_queued_or_running() {
    let server = TestServer::with(Options {
        trainer: Some(modelyard::core::testkit::StepTrainer::slow()),
        max_active_runs_per_user: Some(2),
        ..Options::default()
    })
    .await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let mut models = Vec::new();
    for _ in 0..3 {
        models.push(server.create_model(&token, &dataset).await);
    }
    let first = server.start_run(&token, &models[0], 50).await;
    server.start_run(&token, &models[1], 50).await;
    let body = json!({ "modelId": models[2], "epochs": 1 });
    let refused = server.post("/api/training/start", Some(&token), body.clone()).await;
    let error = error_code(refused, StatusCode::CONFLICT).await;
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("2 runs queued or running"), "{message}");
    assert!(
        message.contains("maxActiveRunsPerUser"),
        "named as a JSON client writes it: {message}"
    );
    let runs: Value = server.get("/api/training", &token).await.json().await.unwrap();
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2, "the refused start stored nothing");

    // Another user is not held back by ada's runs being counted.
    let bob = server.register("bob").await;
    let bobs = server.upload_iris(&bob).await;
    let bob_model = server.create_model(&bob, &bobs).await;
    server.start_run(&bob, &bob_model, 1).await;

    // A cancelled run frees its place.
    let cancelled =
        server.post(&format!("/api/training/{first}/cancel"), Some(&token), json!({})).await;
    assert!(cancelled.status().is_success(), "{}", cancelled.status());
    server.wait_run(&token, &first).await;
    let accepted = server.post("/api/training/start", Some(&token), body).await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
}

/// H5, fair claiming: with one worker busy, ada queues a second run and then bob queues his
/// first. When the worker is free it takes bob's run (bob was never served; ada just was), not
/// ada's older one: one user's queue does not keep another user waiting.
#[tokio::test]
async fn h5_a_worker_serves_the_user_served_least_recently_first() {
    let server = TestServer::with(Options {
        trainer: Some(modelyard::core::testkit::StepTrainer::new(
            2,
            std::time::Duration::from_millis(20),
        )),
        ..Options::default()
    })
    .await;
    let (ada, bob) = (server.register("ada").await, server.register("bob").await);
    let (adas, bobs) = (server.upload_iris(&ada).await, server.upload_iris(&bob).await);
    let ada_models =
        [server.create_model(&ada, &adas).await, server.create_model(&ada, &adas).await];
    let bob_model = server.create_model(&bob, &bobs).await;

    let first = server.start_run(&ada, &ada_models[0], 15).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let run: Value =
            server.get(&format!("/api/training/{first}"), &ada).await.json().await.unwrap();
        if run["run"]["status"] == "running" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the first run never started: {run}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let second = server.start_run(&ada, &ada_models[1], 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let bobs_run = server.start_run(&bob, &bob_model, 1).await;

    let started = |run: Value| {
        serde_json::from_value::<modelyard::Timestamp>(run["startedAt"].clone()).unwrap()
    };
    let second = started(server.wait_run(&ada, &second).await);
    let bobs_run = started(server.wait_run(&bob, &bobs_run).await);
    assert!(
        bobs_run < second,
        "bob's run (started {bobs_run}) goes before ada's second ({second})"
    );
}

/// H13: a predict row missing feature columns was answered (values imputed silently), and
/// `"NaN"` was taken while `"inf"` was refused. Missing values are refused naming them, the
/// column names as the client wrote them, unless `allowMissing` asks for imputation; an unknown
/// column is refused; a non-finite number always is.
#[tokio::test]
async fn h13_predict_refuses_missing_and_unknown_columns_unless_told_to_impute() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;
    let run = server.start_run(&token, &model, 2).await;
    assert_eq!(server.wait_run(&token, &run).await["status"], "completed");
    let path = format!("/api/model/{model}/predict");
    let full =
        json!({ "sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2 });
    let with = |key: &str, value: Value| {
        let mut row = full.clone();
        row[key] = value;
        row
    };
    let mut partial = full.clone();
    partial.as_object_mut().unwrap().remove("petal_width");

    let refused = [
        (json!({ "rows": [full, partial] }), "rows[1]", "\"petal_width\""),
        (json!({ "rows": [with("sepal_width", Value::Null)] }), "rows[0].sepal_width", "no value"),
        (json!({ "rows": [with("sepal_width", json!("NaN"))] }), "rows[0].sepal_width", "no value"),
        (json!({ "rows": [with("sepal_width", json!(""))] }), "rows[0].sepal_width", "no value"),
        (
            json!({ "rows": [with("sepal_width", json!("inf"))] }),
            "rows[0].sepal_width",
            "non-finite",
        ),
        (
            json!({ "rows": [with("petal_colour", json!(1))] }),
            "rows[0].petal_colour",
            "no such column",
        ),
        (json!({ "rows": [5] }), "rows[0]", "expected an object keyed by column name"),
        (json!({ "rows": { "a": 1 } }), "rows", "expected an array of objects"),
        (
            json!({ "rows": [with("sepal_width", json!([1.5]))] }),
            "rows[0].sepal_width",
            "expected a number, got an array",
        ),
        (
            json!({ "rows": [with("sepal_width", json!("inf"))], "allowMissing": true }),
            "rows[0].sepal_width",
            "non-finite",
        ),
    ];
    for (body, field, says) in refused {
        let error = error_code(
            server.post(&path, Some(&token), body.clone()).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(error["field"], field, "{body}: {error}");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
        if says == "no value" || field == "rows[1]" {
            assert!(message.contains("allowMissing"), "the option is named as sent: {message}");
        }
    }

    // Asked for, missing values are imputed: the same rows answer.
    let body =
        json!({ "rows": [partial, with("sepal_width", json!("NaN"))], "allowMissing": true });
    let response = server.post(&path, Some(&token), body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["predictions"].as_array().unwrap().len(), 2, "{answer}");
}

/// H12: bidi overrides and zero-width characters were accepted in names and reached download
/// file names (`invoice\u{202e}vsc.exe` shows as `invoiceexe.csv`).
#[tokio::test]
async fn h12_names_with_invisible_characters_are_refused() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    for name in ["invoice\u{202e}vsc.exe", "iris\u{200b}", "\u{2066}iris", "iris\u{feff}"] {
        let response = server.upload(&token, name, "iris.csv", support::IRIS.to_vec()).await;
        let error = error_code(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["field"], "name", "{name:?}: {error}");
    }
    let datasets: Value = server.get("/api/data", &token).await.json().await.unwrap();
    assert_eq!(datasets["datasets"].as_array().unwrap().len(), 0, "nothing stored");

    // A file name is only metadata: its invisible characters are dropped, not refused (and a
    // dataset sent without a name is named after it).
    let part =
        reqwest::multipart::Part::bytes(support::IRIS.to_vec()).file_name("evil\u{202e}vsc.csv");
    let form = reqwest::multipart::Form::new().part("file", part);
    let response = server.upload_form(&token, form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let dataset = body["dataset"]["id"].as_str().unwrap().to_owned();
    assert!(!body["dataset"]["name"].as_str().unwrap().contains('\u{202e}'), "{body}");

    let response = server
        .post(
            "/api/model",
            Some(&token),
            json!({ "name": "model\u{202e}", "datasetId": dataset, "target": "species" }),
        )
        .await;
    assert_eq!(error_code(response, StatusCode::BAD_REQUEST).await["field"], "name");
}

/// H16: a form with two `file` parts stored the first and ignored the second; two `name` parts
/// kept the last. An ambiguous form is refused and stores nothing.
#[tokio::test]
async fn h16_ambiguous_multipart_forms_are_refused_and_store_nothing() {
    use reqwest::multipart::{Form, Part};
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let iris = || Part::bytes(support::IRIS.to_vec()).file_name("iris.csv");
    let forms = [
        (Form::new().text("name", "a").part("file", iris()).part("file", iris()), "file"),
        (Form::new().text("name", "a").text("name", "b").part("file", iris()), "name"),
        (Form::new().part("file", iris()).text("name", "late"), "name"),
    ];
    for (form, field) in forms {
        let response = server.upload_form(&token, form).await;
        let error = error_code(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(error["field"], field, "{error}");
    }
    let datasets: Value = server.get("/api/data", &token).await.json().await.unwrap();
    assert_eq!(datasets["datasets"].as_array().unwrap().len(), 0, "nothing stored: {datasets}");
    // One name, one file, and a part nobody asked for: accepted.
    let form = Form::new().text("name", "iris").text("note", "ignored").part("file", iris());
    let response = server.upload_form(&token, form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

/// H8: no Content-Security-Policy and no frame protection while the token sits in
/// localStorage. (The browser test fails on any CSP violation of the dashboard.)
#[tokio::test]
async fn h8_every_answer_carries_a_strict_csp_and_refuses_framing() {
    let server = TestServer::start().await;
    for path in ["/", "/app.js", "/api/auth/me", "/nope"] {
        let response = server.request(Method::GET, path, None).send().await.unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "script-src 'self'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
}

/// H9: `X-Request-Id: FAKE <script> admin=true` was echoed and logged as fields.
#[tokio::test]
async fn h9_only_plain_request_ids_are_taken_from_the_client() {
    let server = TestServer::start().await;
    let send = |id: &'static str| {
        server.request(Method::GET, "/healthz", None).header("x-request-id", id).send()
    };
    for forged in ["FAKE <script> admin=true", "a b", "x=1", "\"quoted\"", &*"a".repeat(65).leak()]
    {
        let response = send(forged).await.unwrap();
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, forged);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a generated id instead of {forged:?}: {id}");
    }
    for plain in ["0f8fad5b-d9cb-469f-a165-70867728950e", "trace.1234_abcd", "client-chosen-id"] {
        let response = send(plain).await.unwrap();
        assert_eq!(response.headers()["x-request-id"], plain);
    }
}

/// H10: 405 answered an empty body, and `/nope.js` or `/.git/config` answered 200 with the
/// dashboard. Every error is the JSON error body; unknown static paths are 404.
#[tokio::test]
async fn h10_every_error_is_a_json_body_and_unknown_files_are_404() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    for path in ["/nope.js", "/.git/config", "/index.html/..%2f..%2fCargo.toml", "/js/missing.js"] {
        let response = server.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(
            error_code(response, StatusCode::NOT_FOUND).await["code"],
            "NOT_FOUND",
            "{path}"
        );
    }
    let response = server.request(Method::PUT, "/api/model", Some(&token)).send().await.unwrap();
    assert_eq!(
        error_code(response, StatusCode::METHOD_NOT_ALLOWED).await["code"],
        "METHOD_NOT_ALLOWED"
    );
    // The dashboard and its files still load; its own routes live after `#`.
    for path in ["/", "/index.html", "/app.js", "/styles.css"] {
        let response = server.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

/// H15: blobs were 0644 in 0755 folders. Every blob folder is 0700 and every blob 0600, and the
/// data directory itself 0700.
#[cfg(unix)]
#[tokio::test]
async fn h15_stored_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    server.trained_model(&token).await; // a dataset blob and the model's artifact blobs
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(server.data_dir()), 0o700);
    let mut pending = vec![server.data_dir().join("blobs")];
    let (mut folders, mut files) = (0, 0);
    while let Some(dir) = pending.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        folders += 1;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
                files += 1;
            }
        }
    }
    assert!(folders >= 3 && files >= 3, "{folders} folders, {files} files");
}

/// How long until the server closes `stream` (reads return 0 or fail), at most `within`.
async fn closed_after(
    stream: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(
            within.saturating_sub(started.elapsed()),
            stream.read(&mut buffer),
        )
        .await
        {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {} // an answer (a 408, or a previous response): keep reading
        }
    }
}

fn limited(limits: ConnectionLimits) -> Options {
    Options {
        settings: ServerSettings { connections: limits, ..Options::default().settings },
        ..Default::default()
    }
}

/// H3: partial request heads and idle connections stayed open past 55 s; 500 of them held
/// 500 descriptors. Now: a header read timeout (also between requests), a body read timeout and
/// a cap on connections per client address.
#[tokio::test]
async fn h3_slow_and_idle_clients_are_disconnected_and_capped_per_address() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpSocket, TcpStream};
    let server = TestServer::with(limited(ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        max_per_address: 4,
        ..ConnectionLimits::default()
    }))
    .await;
    let address: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let within = Duration::from_secs(5);

    // Half a request head, then nothing.
    let mut partial = TcpStream::connect(address).await.unwrap();
    partial.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    // Nothing at all.
    let mut silent = TcpStream::connect(address).await.unwrap();
    // A whole request, then idle on the kept-alive connection.
    let mut idle = TcpStream::connect(address).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    // A body that stops halfway.
    let mut stalled = TcpStream::connect(address).await.unwrap();
    stalled
        .write_all(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":")
        .await
        .unwrap();
    for (name, stream) in [
        ("partial head", &mut partial),
        ("silent", &mut silent),
        ("idle", &mut idle),
        ("stalled body", &mut stalled),
    ] {
        let closed = closed_after(stream, within).await;
        assert!(closed.is_some(), "{name}: still open after {within:?}");
    }

    // Four connections from 127.0.0.1 fill its share; a fifth is closed at once, while another
    // loopback address still gets answers.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(address).await.unwrap());
    }
    let mut fifth = TcpStream::connect(address).await.unwrap();
    let closed = closed_after(&mut fifth, Duration::from_millis(500)).await;
    assert!(closed.is_some(), "the fifth connection from one address was kept");
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let other = socket.connect(address).await.unwrap();
    let (status, _) =
        support::exchange(other, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
    assert_eq!(status, 200);
    drop(held);
}

/// Load shedding (beyond H1-H16, found by the soak on a slow store): with every slot taken, one
/// more API request waits the configured time and is answered 503 `UNAVAILABLE` with
/// `Retry-After`, instead of queueing for as long as the store takes; health checks still
/// answer, and a freed slot serves again.
#[tokio::test]
async fn a_server_at_capacity_sheds_requests_early_with_retry_after() {
    use modelyard_server::middleware::admission::Admission;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let queue_wait = Duration::from_millis(300);
    let server = TestServer::with(Options {
        settings: ServerSettings {
            admission: Admission { max_in_flight: 1, queue_wait },
            ..Options::default().settings
        },
        ..Default::default()
    })
    .await;
    let token = server.register("ada").await;
    assert_eq!(server.get("/api/model", &token).await.status(), StatusCode::OK);

    // An upload whose body is still on its way holds the one slot.
    let address = server.base.trim_start_matches("http://");
    let mut upload = tokio::net::TcpStream::connect(address).await.unwrap();
    let part = "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\
                Content-Type: text/csv\r\n\r\na,b\n1,2\n";
    let head = format!(
        "POST /api/data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 100000\r\n\r\n{part}"
    );
    upload.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = std::time::Instant::now();
    let response = server.get("/api/model", &token).await;
    let waited = started.elapsed();
    let retry_after = response.headers().get("retry-after").cloned();
    let error = error_code(response, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(error["code"], "UNAVAILABLE", "{error}");
    assert_eq!(retry_after.as_ref().and_then(|v| v.to_str().ok()), Some("1"));
    assert!(waited >= queue_wait && waited < Duration::from_secs(5), "shed after {waited:?}");
    let health = server.request(Method::GET, "/healthz", None).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "health checks take no slot");

    // The upload's client goes away: its slot is free again.
    drop(upload);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = server.get("/api/model", &token).await.status();
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(std::time::Instant::now() < deadline, "the slot was never given back");
    }
}

/// H10 (continued): 414 and 431 were answered with an empty body by the HTTP parser.
#[tokio::test]
async fn h10_oversized_uris_and_headers_get_json_errors() {
    let server = TestServer::start().await;
    let long_uri = format!("/api/data?x={}", "a".repeat(9 * 1024));
    let response = server.request(Method::GET, &long_uri, None).send().await.unwrap();
    assert_eq!(error_code(response, StatusCode::URI_TOO_LONG).await["code"], "URI_TOO_LONG");
    let response = server
        .request(Method::GET, "/healthz", None)
        .header("x-padding", "b".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    let error = error_code(response, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;
    assert_eq!(error["code"], "HEADERS_TOO_LARGE");
}

/// Reads an SSE response to its end (at most 15 s): the last event, and how long it took.
async fn stream_end(response: reqwest::Response) -> ((String, Value), std::time::Duration) {
    let started = std::time::Instant::now();
    let events = support::read_sse(response, |_, _| false).await;
    (events.last().cloned().unwrap_or_default(), started.elapsed())
}

fn ended_unauthorized(((name, data), took): ((String, Value), std::time::Duration), what: &str) {
    assert_eq!(
        (name.as_str(), data["code"].as_str()),
        ("error", Some("UNAUTHORIZED")),
        "{what}: {data}"
    );
    assert!(took < std::time::Duration::from_secs(10), "{what}: the stream lasted {took:?}");
}

/// H7: an open notification stream kept delivering after its token was logged out. Live
/// streams end on logout, password change, account deletion and token expiry.
#[tokio::test]
async fn h7_live_streams_end_with_their_session() {
    use std::time::Duration;
    let server =
        TestServer::with(Options { trainer: Some(support::slow_trainer()), ..Default::default() })
            .await;
    let login = |name: &'static str| {
        let server = &server;
        async move {
            let body: Value = server
                .post("/api/auth/login", None, json!({ "email": format!("{name}@example.com"), "password": support::PASSWORD }))
                .await
                .json()
                .await
                .unwrap();
            body["token"].as_str().unwrap().to_owned()
        }
    };

    // Logout: the notification stream of that token ends.
    let token = server.register("ada").await;
    let stream = server.get("/api/notif/events", &token).await;
    let end = tokio::spawn(stream_end(stream));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response =
        server.request(Method::POST, "/api/auth/logout", Some(&token)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    ended_unauthorized(end.await.unwrap(), "notifications after logout");

    // Password change: a training run's live events end (the run goes on).
    let token = login("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;
    let run = server.start_run(&token, &model, 60).await;
    let stream = server.get(&format!("/api/training/{run}/events"), &token).await;
    let end = tokio::spawn(stream_end(stream));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = server
        .post(
            "/api/auth/password",
            Some(&token),
            json!({ "currentPassword": support::PASSWORD, "newPassword": "another long passphrase" }),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());
    ended_unauthorized(end.await.unwrap(), "run events after a password change");

    // Account deletion.
    let token = server.register("bob").await;
    let stream = server.get("/api/notif/events", &token).await;
    let end = tokio::spawn(stream_end(stream));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let response = server
        .request(Method::DELETE, "/api/auth/me", Some(&token))
        .json(&json!({ "password": support::PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    ended_unauthorized(end.await.unwrap(), "notifications after account deletion");
}

/// Every blob file under the data directory, by path.
fn blob_files(data_dir: &std::path::Path) -> std::collections::BTreeSet<std::path::PathBuf> {
    let mut pending = vec![data_dir.join("blobs")];
    let mut files = std::collections::BTreeSet::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.insert(path);
            }
        }
    }
    files
}

#[tokio::test]
async fn h6_deleting_an_account_removes_its_files_and_records() {
    let server = TestServer::start().await;
    let bob = server.register("bob").await;
    let (bob_dataset, _, _) = server.trained_model(&bob).await;
    // Bob's checkpoint goes a moment after his run reads as completed: not one of his files.
    let mut bobs_files = blob_files(server.data_dir());
    bobs_files.retain(|path| !path.starts_with(server.data_dir().join("blobs/checkpoints")));
    let ada = server.register("ada").await;
    let (dataset, model, _) = server.trained_model(&ada).await;
    let with_ada = blob_files(server.data_dir());
    assert!(with_ada.len() > bobs_files.len() + 1, "Ada's dataset and artifact files exist");

    let response = server
        .request(Method::DELETE, "/api/auth/me", Some(&ada))
        .json(&json!({ "password": support::PASSWORD }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(blob_files(server.data_dir()), bobs_files, "only Bob's files are left");
    // Ada's ids are gone for everyone; Bob's data is untouched.
    let again = server.register("ada").await;
    for path in [format!("/api/data/{dataset}"), format!("/api/model/{model}")] {
        let response = server.get(&path, &again).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let listed: Value = server.get("/api/data", &again).await.json().await.unwrap();
    assert_eq!(listed["datasets"].as_array().map(Vec::len), Some(0), "the new Ada: {listed}");
    let response = server.get(&format!("/api/data/{bob_dataset}"), &bob).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn h14_every_list_pages_and_runs_are_listed_without_histories() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let (_, model, run) = server.trained_model(&token).await;
    let second = server.upload_iris(&token).await;
    let first_run = server.wait_run(&token, &run).await;
    assert_eq!(first_run["history"].as_array().map(Vec::len), Some(3), "{first_run}");

    // Pages of one walk the datasets newest first; the last page says so with a null cursor.
    let mut walked = Vec::new();
    let mut path = "/api/data?limit=1".to_owned();
    loop {
        let page: Value = server.get(&path, &token).await.json().await.unwrap();
        walked.extend(page["datasets"].as_array().unwrap().iter().map(|d| d["id"].clone()));
        match page["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/data?limit=1&cursor={cursor}"),
            None => break,
        }
        assert!(walked.len() < 5, "the walk ends");
    }
    assert_eq!(walked.len(), 2);
    assert_eq!(walked[0], second, "newest first");

    let history_path = format!("/api/training/{run}/history");
    for (path, key) in [
        ("/api/data", "datasets"),
        ("/api/model", "models"),
        ("/api/training", "runs"),
        ("/api/notif", "notifications"),
        (history_path.as_str(), "history"),
    ] {
        let page: Value =
            server.get(&format!("{path}?limit=1"), &token).await.json().await.unwrap();
        assert_eq!(page[key].as_array().map(Vec::len), Some(1), "{path}: {page}");
        assert!(page.get("nextCursor").is_some(), "{path}: {page}");
        for (query, field) in
            [("limit=0", "limit"), ("limit=100000", "limit"), ("cursor=..%2Fx", "cursor")]
        {
            let response = server.get(&format!("{path}?{query}"), &token).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}?{query}");
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["field"], field, "{path}?{query}: {body}");
        }
    }

    // Lists carry no history; the run and its history endpoint do.
    let runs: Value = server.get("/api/training", &token).await.json().await.unwrap();
    let listed = &runs["runs"][0];
    assert_eq!(listed["history"], json!([]), "{listed}");
    assert_eq!(listed["epochsCompleted"], 3, "{listed}");
    let history: Value =
        server.get(&format!("/api/training/{run}/history"), &token).await.json().await.unwrap();
    assert_eq!(history["history"].as_array().map(Vec::len), Some(3));
    assert_eq!(history["nextCursor"], Value::Null, "{history}");
    // The history pages oldest first, its cursor the last epoch of the page.
    let first: Value = server
        .get(&format!("/api/training/{run}/history?limit=2"), &token)
        .await
        .json()
        .await
        .unwrap();
    let epochs = |page: &Value| -> Vec<Value> {
        page["history"].as_array().unwrap().iter().map(|m| m["epoch"].clone()).collect()
    };
    assert_eq!(epochs(&first), [json!(1), json!(2)], "{first}");
    assert_eq!(first["nextCursor"], "2", "{first}");
    let rest: Value = server
        .get(&format!("/api/training/{run}/history?limit=2&cursor=2"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(epochs(&rest), [json!(3)], "{rest}");
    assert_eq!(rest["nextCursor"], Value::Null, "{rest}");

    // A finished run can be deleted; the model keeps what it trained.
    let deleted = server.request(Method::DELETE, &format!("/api/training/{run}"), Some(&token));
    assert_eq!(deleted.send().await.unwrap().status(), StatusCode::NO_CONTENT);
    let gone = server.get(&format!("/api/training/{run}"), &token).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    let trained: Value =
        server.get(&format!("/api/model/{model}"), &token).await.json().await.unwrap();
    assert!(trained["model"]["latestVersion"].is_object(), "{trained}");
}

#[tokio::test]
async fn h14_quotas_refuse_models_and_runs_past_them_naming_the_setting() {
    let server = TestServer::with(Options {
        max_models_per_user: Some(1),
        max_runs_per_user: Some(1),
        ..Default::default()
    })
    .await;
    let token = server.register("ada").await;
    let (dataset, model, run) = server.trained_model(&token).await;
    server.wait_run(&token, &run).await;
    let response = server
        .post(
            "/api/model",
            Some(&token),
            json!({ "name": "second", "datasetId": dataset, "target": "species" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("maxModelsPerUser"), "{body}");
    let response = server
        .post("/api/training/start", Some(&token), json!({ "modelId": model, "epochs": 1 }))
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("maxRunsPerUser"), "{body}");
}

#[tokio::test]
async fn h7_live_streams_end_when_their_token_expires() {
    use std::time::Duration;
    let server =
        TestServer::with(Options { token_ttl: Some(Duration::from_secs(2)), ..Default::default() })
            .await;
    let token = server.register("ada").await;
    let stream = server.get("/api/notif/events", &token).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let ((name, data), took) = stream_end(stream).await;
    assert_eq!((name.as_str(), data["code"].as_str()), ("error", Some("UNAUTHORIZED")), "{data}");
    // Tokens are honoured for the clock leeway after `exp` (5 s); streams re-check every 2 s.
    assert!(took < Duration::from_secs(2 + 5 + 2 + 2), "{took:?}");
}

/// H2: six wrong passwords for an account made its correct password answer 429 for 15 minutes
/// (and the password change too), from anywhere. Failures now slow down that account from that
/// address only, with growing delays.
#[tokio::test]
async fn h2_failed_logins_slow_the_guessing_address_not_the_owner() {
    use std::net::IpAddr;
    let server = TestServer::start().await;
    server.register("ada").await;
    let from = |ip: [u8; 4]| support::Api {
        base: server.base.clone(),
        client: reqwest::Client::builder().local_address(IpAddr::from(ip)).build().unwrap(),
    };
    let (attacker, owner) = (from([127, 0, 0, 1]), from([127, 0, 0, 2]));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(login_as(&attacker, "not the passphrase").await.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "the guesses are slowed");
    let refused = login_as(&attacker, support::PASSWORD).await;
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "a short, growing delay, not a 15-minute lock: {wait}");

    // The owner, from another address, signs in and changes the password.
    let response = login_as(&owner, support::PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    let response = owner
        .post(
            "/api/auth/password",
            Some(token),
            json!({ "currentPassword": support::PASSWORD, "newPassword": "another long passphrase" }),
        )
        .await;
    assert!(response.status().is_success(), "{}", response.status());

    // The guessing address may try again once its delay is over.
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    assert_eq!(login_as(&attacker, "another long passphrase").await.status(), StatusCode::OK);
}

async fn login_as(api: &support::Api, password: &str) -> reqwest::Response {
    api.post("/api/auth/login", None, json!({ "email": "ada@example.com", "password": password }))
        .await
}

/// Deny by default: every route the router registers (read from the source of `app()`, so a new
/// route is covered the moment it is added) answers 401 without a token, for every method it
/// takes — except an explicit allowlist. A new route without authentication fails this test.
#[tokio::test]
async fn every_route_but_an_allowlist_needs_a_token() {
    const ALLOWED: [&str; 8] = [
        "/", // `bench_hello_app`'s only route; in `app()`, `/` is the dashboard's page
        "/healthz",
        "/readyz",
        "/api/openapi.json",
        "/api/auth/register",
        "/api/auth/login",
        "/api",         // the JSON 404 of unknown API paths
        "/api/{*rest}", // the same
    ];
    let source = include_str!("../src/lib.rs");
    let routes: Vec<&str> = source
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|path| path.starts_with('/') && !path.is_empty())
        .collect();
    assert!(routes.len() >= 25, "found only {routes:?}");
    let server = TestServer::start().await;
    let mut checked = 0;
    for route in routes.iter().filter(|route| !ALLOWED.contains(route)) {
        let path = route.replace("{id}", "0194f2a1-7b3c-7d4e-8f50-6a7b8c9d0e1f");
        assert!(!path.contains('{'), "a path parameter this test cannot fill: {route}");
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let response = server
                .request(method.clone(), &path, None)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            match response.status() {
                // The route does not take this method.
                StatusCode::METHOD_NOT_ALLOWED => {}
                StatusCode::UNAUTHORIZED => checked += 1,
                other => panic!("{method} {route} answered {other} without a token"),
            }
        }
    }
    assert!(checked >= routes.len() - ALLOWED.len(), "{checked} route/method pairs checked");
}
