//! A real server on a loopback port over a fresh sled directory, a deterministic trainer, and
//! HTTP helpers for the tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use modelyard::CostLimits;
use modelyard::core::Trainer;
use modelyard::{Config, Modelyard};
use modelyard_server::{AppState, ServerSettings, app, serve};
use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const SECRET: &[u8] = b"server-test-secret-server-test-secret!!";
pub const IRIS: &[u8] = include_bytes!("../../../data/iris.csv");

pub use modelyard::core::testkit::StepTrainer;

mod api;
mod sse;

#[allow(unused_imports)] // not every test binary uses both
pub use api::{Api, PASSWORD};

/// 20 x 50 ms per epoch: a run a browser-speed client can watch, cancel or interrupt.
pub fn slow_trainer() -> Arc<StepTrainer> {
    StepTrainer::new(20, Duration::from_millis(50))
}

/// A running server and a client for it.
pub struct TestServer {
    pub api: Api,
    pub yard: Modelyard,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    dir: tempfile::TempDir,
}

/// How to start a test server.
pub struct Options {
    pub trainer: Option<Arc<dyn Trainer>>,
    pub settings: ServerSettings,
    pub max_upload_bytes: Option<u64>,
    pub quota_bytes_per_user: Option<u64>,
    pub quota_files_per_user: Option<u64>,
    pub cost_limits: Option<CostLimits>,
    pub max_active_runs_per_user: Option<u32>,
    pub max_models_per_user: Option<u64>,
    pub max_runs_per_user: Option<u64>,
    pub token_ttl: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            trainer: Some(StepTrainer::quick()),
            settings: ServerSettings {
                static_dir: Some(modelyard_server::default_static_dir()),
                ..ServerSettings::default()
            },
            max_upload_bytes: None,
            quota_bytes_per_user: None,
            quota_files_per_user: None,
            cost_limits: None,
            max_active_runs_per_user: None,
            max_models_per_user: None,
            max_runs_per_user: None,
            token_ttl: None,
        }
    }
}

pub fn facade_config(dir: &std::path::Path, trainer: Option<Arc<dyn Trainer>>) -> Config {
    let mut config = Config::new(&format!("sled://{}", dir.display())).unwrap();
    config.jwt_secret = Some(SECRET.to_vec());
    config.training.lease = Duration::from_secs(2);
    config.training.heartbeat = Duration::from_millis(300);
    config.training.poll_interval = Duration::from_millis(20);
    // Explicit either way, so the tests do not depend on the build's default trainer.
    config.trainer = trainer;
    config
}

impl std::ops::Deref for TestServer {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = facade_config(dir.path(), options.trainer);
        if let Some(limit) = options.max_upload_bytes {
            config.datasets.max_upload_bytes = limit;
        }
        if let Some(quota) = options.quota_bytes_per_user {
            config.datasets.quota_bytes_per_user = quota;
        }
        if let Some(quota) = options.quota_files_per_user {
            config.datasets.quota_files_per_user = quota;
        }
        if let Some(runs) = options.max_active_runs_per_user {
            config.training.max_active_runs_per_user = runs;
        }
        if let Some(models) = options.max_models_per_user {
            config.max_models_per_user = models;
        }
        if let Some(runs) = options.max_runs_per_user {
            config.training.max_runs_per_user = runs;
        }
        if let Some(limits) = options.cost_limits {
            config.training.cost_limits = limits;
        }
        if let Some(ttl) = options.token_ttl {
            config.auth_settings.token_ttl = Some(ttl);
        }
        let settings = ServerSettings {
            max_upload_bytes: config.datasets.max_upload_bytes,
            ..options.settings
        };
        let yard = Modelyard::open(config).await.unwrap();
        let state = AppState::new(yard.clone(), settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app(state.clone()), state.clone(), async move {
            let _ = stopped.await;
        }));
        // Answers as the server sent them: reqwest's gzip feature (which goose, the soak's load
        // generator, turns on) would otherwise decompress them and drop `content-encoding`.
        let client = Client::builder().timeout(Duration::from_secs(30)).no_gzip().build().unwrap();
        Self { api: Api { base, client }, yard, state, stop: Some(stop), task: Some(task), dir }
    }

    /// The sled store's directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Stops serving like a SIGTERM would, then stops the workers.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("graceful shutdown within 10 s")
                .unwrap()
                .unwrap();
        }
        self.yard.close().await;
    }

    pub async fn upload(
        &self,
        token: &str,
        name: &str,
        filename: &str,
        bytes: Vec<u8>,
    ) -> Response {
        let form = reqwest::multipart::Form::new()
            .text("name", name.to_owned())
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()));
        self.upload_form(token, form).await
    }

    /// Sends `form` to `POST /api/data` as it is.
    pub async fn upload_form(&self, token: &str, form: reqwest::multipart::Form) -> Response {
        self.request(Method::POST, "/api/data", Some(token)).multipart(form).send().await.unwrap()
    }

    /// Uploads iris; returns the dataset id.
    pub async fn upload_iris(&self, token: &str) -> String {
        let response = self.upload(token, "iris", "iris.csv", IRIS.to_vec()).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["dataset"]["id"].as_str().unwrap().to_owned()
    }

    /// Creates a model on a dataset; returns its id.
    pub async fn create_model(&self, token: &str, dataset: &str) -> String {
        let response = self
            .post(
                "/api/model",
                Some(token),
                json!({ "name": "iris mlp", "datasetId": dataset, "target": "species",
                        "layers": [{ "type": "dense", "units": 8, "activation": "relu" }] }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        body["model"]["id"].as_str().unwrap().to_owned()
    }

    /// Starts a run; returns its id.
    pub async fn start_run(&self, token: &str, model: &str, epochs: u32) -> String {
        let response = self
            .post(
                "/api/training/start",
                Some(token),
                json!({ "modelId": model, "epochs": epochs, "batchSize": 16, "learningRate": 0.01 }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        body["run"]["id"].as_str().unwrap().to_owned()
    }

    /// Polls a run until its status is final; returns the run.
    pub async fn wait_run(&self, token: &str, run: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let body: Value =
                self.get(&format!("/api/training/{run}"), token).await.json().await.unwrap();
            let status = body["run"]["status"].as_str().unwrap().to_owned();
            if ["completed", "failed", "cancelled"].contains(&status.as_str()) {
                return body["run"].clone();
            }
            assert!(tokio::time::Instant::now() < deadline, "run {run} still {status}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The user's notifications once there are any.
    pub async fn notifications_soon(&self, token: &str) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let body: Value = self.get("/api/notif", token).await.json().await.unwrap();
            let notes = body["notifications"].as_array().unwrap().clone();
            if !notes.is_empty() || tokio::time::Instant::now() > deadline {
                return notes;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A trained iris model: (dataset id, model id, run id).
    pub async fn trained_model(&self, token: &str) -> (String, String, String) {
        let dataset = self.upload_iris(token).await;
        let model = self.create_model(token, &dataset).await;
        let run = self.start_run(token, &model, 3).await;
        let finished = self.wait_run(token, &run).await;
        assert_eq!(finished["status"], "completed", "{finished}");
        (dataset, model, run)
    }
}

/// The error body's code, after checking the status.
pub async fn error_code(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.headers());
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    body["error"].clone()
}

/// Reads Server-Sent Events until the stream ends, `stop` says so, or 30 s pass: (event, data)
/// pairs.
pub async fn read_sse(
    response: Response,
    stop: impl FnMut(&str, &Value) -> bool,
) -> Vec<(String, Value)> {
    sse::read_events(response, Duration::from_secs(30), stop).await.0
}

/// Sends `request_head` (and `body`) as raw bytes, so paths reach the server exactly as written
/// (no client-side normalisation of `..`); returns the status and the body.
pub async fn raw_http(base: &str, request_head: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::AsyncWriteExt;
    let address = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request_head.as_bytes()).await.unwrap();
    let _ = stream.write_all(body).await;
    exchange(stream, "").await
}

/// Sends `request_head` on an open connection and reads the answer to its end: status and body.
pub async fn exchange(mut stream: tokio::net::TcpStream, request_head: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request_head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// `GET path` with a bearer token, the path sent byte for byte.
pub async fn raw_get(base: &str, path: &str, token: &str) -> (u16, String) {
    let head = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    raw_http(base, &head, b"").await
}
