//! Real processes for the scale-out and fault tests: a `redis-server` and a FerretDB of their own
//! on free loopback ports with their own temp directories, and `modelyard-server` processes
//! (the binary Cargo built for these tests) talking to them, driven over real HTTP.
//!
//! FerretDB is the binary named by `MODELYARD_TEST_FERRETDB_BIN` (scripts/test builds it and
//! exports it); `redis-server` comes from `PATH`. Without them the tests say they skip, and under
//! `CI=true` they fail instead.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Client, Method, Response, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

pub const SECRET: &str = "cluster-test-secret-cluster-test-secret-0123";

/// The S3 bucket of the tests (`MODELYARD_TEST_S3_URL`, SeaweedFS in CI). Locally a missing one
/// skips the test with a message; under `CI=true` it fails it.
pub fn s3_location() -> Option<S3Location> {
    let url = modelyard_core::testkit::service_url("MODELYARD_TEST_S3_URL", "S3 scale-out")?;
    let config = modelyard_storage_s3::S3Config::from_url(&url).expect("MODELYARD_TEST_S3_URL");
    Some(S3Location { url, config })
}

/// The tests' bucket.
pub struct S3Location {
    url: String,
    config: modelyard_storage_s3::S3Config,
}

impl S3Location {
    /// The bucket's URL with `prefix` as the deployment's folder.
    pub fn url_with_prefix(&self, prefix: &str) -> String {
        match self.url.split_once('?') {
            Some((bucket, query)) => format!("{bucket}/{prefix}?{query}"),
            None => format!("{}/{prefix}", self.url),
        }
    }

    /// The keys of every object under `prefix`, relative to it, read with a client of the
    /// test's own (object_store, credentials from the environment).
    pub async fn list(&self, prefix: &str) -> Vec<String> {
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&self.config.bucket)
            .with_allow_http(true);
        if let Some(endpoint) = &self.config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder.build().unwrap();
        let root = object_store::path::Path::from(prefix);
        let objects: Vec<_> = store.list(Some(&root)).try_collect().await.unwrap();
        objects
            .iter()
            .map(|meta| {
                meta.location
                    .prefix_match(&root)
                    .unwrap()
                    .map(|part| part.as_ref().to_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect()
    }
}

/// The FerretDB binary, when both services can run here. Locally a missing one skips the test
/// with a message; under `CI=true` it fails it.
pub fn services() -> Option<PathBuf> {
    let ferret = std::env::var_os("MODELYARD_TEST_FERRETDB_BIN")
        .map(PathBuf::from)
        .filter(|path| path.is_file());
    let redis = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let mut missing = Vec::new();
    if ferret.is_none() {
        missing.push("MODELYARD_TEST_FERRETDB_BIN (a FerretDB binary; scripts/test builds one)");
    }
    if !redis {
        missing.push("redis-server on PATH");
    }
    if missing.is_empty() {
        return ferret;
    }
    let missing = missing.join(" and ");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{missing} required under CI=true: run scripts/test"
    );
    println!("skipped: {missing} missing; run scripts/test to run this test");
    None
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn stop(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
}

/// A `redis-server` of this test, without persistence (like a cache tier that may restart empty).
pub struct Redis {
    pub port: u16,
    dir: TempDir,
    child: Option<Child>,
    /// More `redis-server` arguments (`--maxmemory 1mb`...).
    extra: Vec<String>,
}

impl Redis {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// A server started with more arguments.
    pub async fn start_with(extra: &[&str]) -> Self {
        let mut redis = Self {
            port: 0,
            dir: tempfile::tempdir().unwrap(),
            child: None,
            extra: extra.iter().map(|&arg| arg.to_owned()).collect(),
        };
        // `free_port` only says nobody listens *now*: a process of a test running beside this
        // one may bind the port first. Then this one exits, and a PING would be answered by the
        // other test's server; so another port is tried.
        for _ in 0..5 {
            redis.port = free_port();
            if redis.spawn().await {
                return redis;
            }
        }
        panic!("redis-server found no free port in 5 tries: {}", redis.log());
    }

    /// Starts `redis-server` on `self.port`: true once *this* process accepts connections (its
    /// own log says so), false when it exited first (the port was taken).
    async fn spawn(&mut self) -> bool {
        let log = std::fs::File::create(self.dir.path().join("redis.log")).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.child.as_mut().unwrap().try_wait().unwrap().is_some() {
                self.child = None;
                return false;
            }
            if self.log().contains("Ready to accept connections") {
                return true;
            }
            assert!(Instant::now() < deadline, "redis-server not ready in 20 s: {}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL): everything it held is gone.
    pub fn kill(&mut self) {
        stop(&mut self.child);
    }

    /// Starts it again on the same port, empty.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        assert!(
            self.spawn().await,
            "port {} was taken while Redis was down: {}",
            self.port,
            self.log()
        );
    }

    /// One inline command (`FLUSHALL`, `PING`); its raw reply, `None` when unreachable.
    pub async fn command(&self, command: &str) -> Option<String> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.ok()?;
        stream.write_all(format!("{command}\r\n").as_bytes()).await.ok()?;
        let mut buffer = vec![0u8; 16 * 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&buffer[..n]).into_owned())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A FerretDB (MongoDB wire protocol on SQLite) of this test, with its own data directory.
pub struct Ferret {
    pub port: u16,
    bin: PathBuf,
    dir: TempDir,
    child: Option<Child>,
}

impl Ferret {
    pub async fn start(bin: &Path) -> Self {
        let mut ferret =
            Self { port: 0, bin: bin.to_owned(), dir: tempfile::tempdir().unwrap(), child: None };
        // Port 0: the kernel picks a port nobody holds and FerretDB reports it, so no test
        // running beside this one can take it between a pick and the bind.
        ferret.port = ferret
            .spawn()
            .await
            .unwrap_or_else(|| panic!("FerretDB did not start: {}", ferret.log()));
        ferret
    }

    /// Starts FerretDB on `self.port` (0: any) and returns the port it listens on, read from
    /// its first line of output (scripts/ferretdb prints its URI once bound); `None` when it
    /// exited first.
    async fn spawn(&mut self) -> Option<u16> {
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("ferretdb.log"))
            .unwrap();
        let mut child = Command::new(&self.bin)
            .arg("-listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("-data")
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(log.try_clone().unwrap())
            .spawn()
            .expect("start FerretDB");
        let stdout = child.stdout.take().unwrap();
        self.child = Some(child);
        // Its first line is the answer; whatever follows goes to the log, so the pipe never
        // closes under it.
        let (first_tx, first_rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            let _ = first_tx.send(line);
            let _ = std::io::copy(&mut stdout, &mut { log });
        });
        let first_line = tokio::time::timeout(Duration::from_secs(30), first_rx)
            .await
            .expect("FerretDB to print its URI within 30 s")
            .unwrap_or_default();
        // `mongodb://127.0.0.1:<port>/`; nothing when it exited (`bind: address already in use`).
        let port = first_line
            .trim()
            .strip_prefix("mongodb://127.0.0.1:")
            .and_then(|rest| rest.trim_end_matches('/').parse().ok());
        if port.is_none() {
            stop(&mut self.child);
        }
        port
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ferretdb.log")).unwrap_or_default()
    }

    /// `mongodb://127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("mongodb://127.0.0.1:{}/{database}", self.port)
    }

    /// Stops the server (SIGKILL).
    pub fn kill(&mut self) {
        stop(&mut self.child);
    }

    /// Starts it again on the same port and data directory.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "still running");
        let port = self.spawn().await;
        assert_eq!(
            port,
            Some(self.port),
            "FerretDB on its old port (taken meanwhile?): {}",
            self.log()
        );
    }
}

impl Drop for Ferret {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// One `modelyard-server` process.
pub struct Server {
    /// Also the prefix of its workers' names (`<name>-<pid>-<n>`).
    pub name: String,
    pub api: Api,
    log: PathBuf,
    _dir: TempDir,
    child: Option<Child>,
}

/// What a server process is started with.
pub struct Launch<'a> {
    pub name: &'a str,
    /// `api`, `worker` or `all`.
    pub role: &'a str,
    pub store: String,
    pub cache: String,
    /// Lease seconds (heartbeat a fifth of it).
    pub lease_secs: f64,
    /// `MODELYARD_BLOBS` (an `s3://` URL; the AWS credentials of this process go with it).
    pub blobs: Option<String>,
}

impl std::ops::Deref for Server {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl Server {
    pub async fn start(launch: Launch<'_>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_modelyard-server"));
        command.env_clear();
        for keep in ["PATH", "HOME", "TMPDIR", "LANG"] {
            if let Some(value) = std::env::var_os(keep) {
                command.env(keep, value);
            }
        }
        // The allocator's options (`MIMALLOC_ALLOW_THP=1`, `MIMALLOC_PURGE_DELAY=0` ...), for
        // memory experiments with the soak.
        for (key, value) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("MIMALLOC_") {
                command.env(key, value);
            }
        }
        let mut child = command
            .env("HOSTNAME", launch.name)
            .env("MODELYARD_BIND", "127.0.0.1:0")
            .env("MODELYARD_ROLE", launch.role)
            .env("MODELYARD_STORE", &launch.store)
            .env("MODELYARD_CACHE", &launch.cache)
            .env("MODELYARD_JWT_SECRET", SECRET)
            .env("MODELYARD_LEASE_SECS", launch.lease_secs.to_string())
            .env("MODELYARD_HEARTBEAT_SECS", (launch.lease_secs / 5.0).to_string())
            .env("RUST_LOG", "info,tower_http=warn")
            .envs(launch.blobs.iter().map(|url| ("MODELYARD_BLOBS", url.clone())))
            .envs(std::env::vars().filter(|(key, _)| {
                launch.blobs.is_some()
                    && ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]
                        .contains(&key.as_str())
            }))
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start modelyard-server");
        let stdout = child.stdout.take().unwrap();
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(base) = line.strip_prefix("modelyard-server listening on ")
                    && let Some(found) = found.take()
                {
                    let _ = found.send(base.trim().to_owned());
                }
            }
        });
        let base =
            tokio::task::spawn_blocking(move || address.recv_timeout(Duration::from_secs(60)))
                .await
                .unwrap()
                .unwrap_or_else(|_| {
                    panic!(
                        "{} did not start: {}",
                        launch.name,
                        std::fs::read_to_string(&log).unwrap()
                    )
                });
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        Self {
            name: launch.name.to_owned(),
            api: Api { base, client },
            log,
            _dir: dir,
            child: Some(child),
        }
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the process with SIGKILL: no shutdown, no checkpoint, the lease just lapses.
    pub fn kill(&mut self) {
        stop(&mut self.child);
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many attempts of `run` this process's workers have started, from its log (the API
    /// shows no worker names: which worker holds a run is an internal of the deployment).
    pub fn attempts_started(&self, run: &str) -> usize {
        self.log().lines().filter(|l| l.contains("training started") && l.contains(run)).count()
    }

    /// Uploads `csv`; returns the dataset id.
    pub async fn upload(&self, token: &str, csv: Vec<u8>) -> String {
        let form = reqwest::multipart::Form::new()
            .text("name", "synthetic")
            .part("file", reqwest::multipart::Part::bytes(csv).file_name("synthetic.csv"));
        let response = self
            .request(Method::POST, "/api/data", Some(token))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        body["dataset"]["id"].as_str().unwrap().to_owned()
    }

    /// A classifier of `label` with hidden layers of `width`; returns the model id.
    pub async fn create_model(&self, token: &str, dataset: &str, hidden: &[u32]) -> String {
        let layers: Vec<Value> = hidden
            .iter()
            .map(|units| json!({ "type": "dense", "units": units, "activation": "relu" }))
            .collect();
        let response = self
            .post(
                "/api/model",
                Some(token),
                json!({ "name": "net", "datasetId": dataset, "target": "label", "layers": layers }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        body["model"]["id"].as_str().unwrap().to_owned()
    }

    /// Queues a run; returns its id.
    pub async fn start_run(&self, token: &str, model: &str, epochs: u32, batch: u32) -> String {
        let response = self
            .post(
                "/api/training/start",
                Some(token),
                json!({ "modelId": model, "epochs": epochs, "batchSize": batch,
                        "learningRate": 0.01, "validationSplit": 0.0 }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        body["run"]["id"].as_str().unwrap().to_owned()
    }

    /// The run as the API shows it, `None` while the API cannot answer.
    pub async fn run(&self, token: &str, run: &str) -> Option<Value> {
        let response = self
            .request(Method::GET, &format!("/api/training/{run}"), Some(token))
            .send()
            .await
            .ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        let body: Value = response.json().await.ok()?;
        Some(body["run"].clone())
    }

    /// Polls the run until it is final.
    pub async fn finished_run(&self, token: &str, run: &str, within: Duration) -> Value {
        eventually(&format!("run {run} to end"), within, || async {
            self.run(token, run).await.filter(|r| {
                ["completed", "failed", "cancelled"].contains(&r["status"].as_str().unwrap_or(""))
            })
        })
        .await
    }

    /// Opens a Server-Sent Events stream.
    pub async fn sse(&self, path: &str, token: &str) -> Response {
        let client = Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap();
        let response =
            client.get(format!("{}{path}", self.base)).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// The epochs of a run's history, in order.
pub fn epochs(run: &Value) -> Vec<u64> {
    run["history"].as_array().unwrap().iter().map(|m| m["epoch"].as_u64().unwrap()).collect()
}

#[path = "../support/api.rs"]
mod api;
#[path = "../support/sse.rs"]
mod sse;
pub use api::Api;
pub use sse::read_events as read_sse;

/// A CSV of `rows` rows: `features` numeric columns and a three-class `label` that depends on
/// them (deterministic, no randomness source needed).
pub fn synthetic_csv(rows: usize, features: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        // 53 random bits as a float in [0, 1).
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = (0..features).map(|i| format!("x{i}")).collect::<Vec<_>>().join(",");
    csv.push_str(",label\n");
    for _ in 0..rows {
        let values: Vec<f64> = (0..features).map(|_| next() * 2.0 - 1.0).collect();
        let score: f64 =
            values.iter().enumerate().map(|(i, v)| if i % 2 == 0 { *v } else { -v }).sum();
        let label = if score < -0.5 {
            "low"
        } else if score > 0.5 {
            "high"
        } else {
            "mid"
        };
        for v in &values {
            csv.push_str(&format!("{v:.4},"));
        }
        csv.push_str(label);
        csv.push('\n');
    }
    csv.into_bytes()
}
