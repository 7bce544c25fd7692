//! The soak of issue 13 (docs/SECURITY.md): `SOAK_USERS` clients, each from its own loopback
//! address, mix sign-ins, uploads, model creation, training starts, history and list reads and
//! live notification streams against a real `modelyard-server` process for `SOAK_SECONDS`,
//! driven by goose; then every write the server acknowledged is looked up again, and the
//! server's resident memory, sampled every five seconds, is printed as a curve. First on sled,
//! then on FerretDB + Redis.
//!
//! It fails on any 5xx answer, any request that got no answer, any acknowledged write missing
//! afterwards, and, with `SOAK_MAX_RSS_GROWTH` (0.25 = 25 %), memory growing more than that
//! after warm-up (the first third of the run). CI runs it short (100 clients, 30 s, the
//! defaults); `scripts/soak` runs the documented 1,000 clients for 10 minutes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[allow(unused_imports)] // the SSE reader the other cluster tests use
mod cluster;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use cluster::{Ferret, Launch, Redis, Server};
use futures::StreamExt;
use goose::config::GooseDefaultType;
use goose::prelude::*;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// How hard and how long: `SOAK_USERS` (100), `SOAK_HATCH_RATE` (50 clients/s),
/// `SOAK_SECONDS` (30), `SOAK_EPOCHS` (3 per run), `SOAK_MAX_RSS_GROWTH` (unset: reported only).
/// Where: `SOAK_ONLY` (`sled` or `mongo`; unset: both), `SOAK_MONGO_URL` (a MongoDB-protocol
/// server of the caller's, such as FerretDB on PostgreSQL, instead of a FerretDB on SQLite
/// started here), `SOAK_SLED_CACHE_MB` (sled's page cache; unset: the store's default).
/// `MIMALLOC_*` variables reach the server (the allocator's options).
#[derive(Debug, Clone)]
struct Settings {
    users: usize,
    hatch_rate: usize,
    seconds: usize,
    epochs: u32,
    max_rss_growth: Option<f64>,
    only: Option<String>,
    mongo_url: Option<String>,
    /// `?cache_mb=N` for the sled store's URL, or nothing.
    sled_options: String,
}

impl Settings {
    fn from_env() -> Self {
        fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
            std::env::var(name)
                .ok()
                .map(|v| v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a number")))
        }
        Self {
            users: var("SOAK_USERS").unwrap_or(100),
            hatch_rate: var("SOAK_HATCH_RATE").unwrap_or(50),
            seconds: var("SOAK_SECONDS").unwrap_or(30),
            epochs: var("SOAK_EPOCHS").unwrap_or(3),
            max_rss_growth: var("SOAK_MAX_RSS_GROWTH"),
            only: std::env::var("SOAK_ONLY").ok().filter(|only| !only.is_empty()).inspect(|only| {
                assert!(only == "sled" || only == "mongo", "SOAK_ONLY={only}: sled or mongo");
            }),
            mongo_url: std::env::var("SOAK_MONGO_URL").ok().filter(|url| !url.is_empty()),
            sled_options: std::env::var("SOAK_SLED_CACHE_MB")
                .ok()
                .map(|mb| format!("?cache_mb={mb}"))
                .unwrap_or_default(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak_on_sled_then_on_ferretdb_and_redis() {
    let settings = Settings::from_env();
    if settings.only.as_deref() != Some("mongo") {
        let dir = tempfile::tempdir().unwrap();
        let sled = Server::start(Launch {
            name: "soak-sled",
            role: "all",
            store: format!(
                "sled://{}{}",
                dir.path().join("store").display(),
                settings.sled_options
            ),
            cache: "memory".into(),
            lease_secs: 30.0,
            blobs: None,
        })
        .await;
        let passed = soak(&sled, "sled", &settings).await;
        assert!(passed, "the soak on sled failed (see above); server log:\n{}", tail(&sled.log()));
    }
    if settings.only.as_deref() == Some("sled") {
        return;
    }

    let Some(ferret_bin) = cluster::services() else { return };
    let redis = Redis::start().await;
    // The caller's server (its own database per run), or a FerretDB on SQLite of this test.
    let (store, _ferret) = match &settings.mongo_url {
        Some(url) => {
            let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
            (format!("{}/soak{}", url.trim_end_matches('/'), nonce.as_secs()), None)
        }
        None => {
            let ferret = Ferret::start(&ferret_bin).await;
            (ferret.url("soak"), Some(ferret))
        }
    };
    let shared = Server::start(Launch {
        name: "soak-mongo",
        role: "all",
        store,
        cache: redis.url(),
        lease_secs: 30.0,
        blobs: None,
    })
    .await;
    let passed = soak(&shared, "FerretDB + Redis", &settings).await;
    assert!(passed, "the soak on FerretDB + Redis failed; server log:\n{}", tail(&shared.log()));
}

/// The last lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The password of every soak account.
const PASSWORD: &str = "a soak test passphrase";

/// What every client shares: the upload, and the tallies checked at the end.
struct Soak {
    host: String,
    csv: Vec<u8>,
    target: String,
    epochs: u32,
    /// Makes the accounts of this soak unique on a store that outlives it.
    nonce: String,
    /// Writes the server acknowledged (2xx), by client.
    accounts: Mutex<Vec<Account>>,
    server_errors: AtomicU64,
    unanswered: AtomicU64,
    refused: AtomicU64,
    answered: AtomicU64,
}

/// One client's account and the writes the server acknowledged to it.
#[derive(Debug, Clone, Default)]
struct Account {
    index: usize,
    token: String,
    datasets: Vec<String>,
    models: Vec<String>,
    runs: Vec<String>,
}

/// One goose user's state between its transactions.
#[derive(Debug, Default)]
struct Client {
    index: usize,
    email: String,
    token: String,
    dataset: Option<String>,
    model: Option<String>,
    run: Option<String>,
}

/// The soak of each server under load, by its base URL: goose's transactions are plain
/// functions, and find their soak through the user's base URL.
static SOAKS: OnceLock<Mutex<Vec<&'static Soak>>> = OnceLock::new();

fn soak_of(host: &str) -> &'static Soak {
    let soaks = SOAKS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
    let host = host.trim_end_matches('/');
    soaks.iter().copied().find(|s| s.host == host).expect("a soak runs against this host")
}

/// Client `index`'s own loopback address (127.1.0.2, 127.1.0.3 ...): limits per client address
/// (connections, request rate, sign-in budget) apply per client, as for real users.
fn address(index: usize) -> IpAddr {
    let octet = |n: usize| u8::try_from(n % 250).unwrap_or(0);
    IpAddr::V4(Ipv4Addr::new(127, 1 + octet(index / 62_500), octet(index / 250), octet(index) + 2))
}

/// Records that client `index` got an acknowledged write.
fn acknowledge(soak: &Soak, index: usize, record: impl FnOnce(&mut Account)) {
    let mut accounts = soak.accounts.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(account) = accounts.iter_mut().find(|a| a.index == index) {
        record(account);
    }
}

/// Sends one request as the client and sorts the answer: a 2xx is returned; a refusal the API
/// documents under load (409, 413, 429) counts as refused; a 5xx or no answer fails the run.
async fn send(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    name: &str,
    build: impl FnOnce(RequestBuilder) -> RequestBuilder,
) -> Result<Option<Response>, Box<TransactionError>> {
    let soak = soak_of(user.base_url.as_str());
    let mut builder = user.get_request_builder(&method, path)?;
    if let Some(client) = user.get_session_data::<Client>()
        && !client.token.is_empty()
    {
        builder = builder.bearer_auth(&client.token);
    }
    let request = GooseRequest::builder().set_request_builder(build(builder)).name(name).build();
    let mut goose = user.request(request).await?;
    let response = match goose.response {
        Ok(response) => response,
        Err(err) => {
            soak.unanswered.fetch_add(1, Ordering::Relaxed);
            let mut why = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                why.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("{name}: no answer: {why}");
            return Ok(None);
        }
    };
    let status = response.status();
    soak.answered.fetch_add(1, Ordering::Relaxed);
    if status.is_server_error() {
        soak.server_errors.fetch_add(1, Ordering::Relaxed);
        let body = response.text().await.unwrap_or_default();
        eprintln!("{name}: {status}: {body}");
        return user.set_failure(name, &mut goose.request, None, Some(&body)).map(|()| None);
    }
    if status.is_success() {
        return Ok(Some(response));
    }
    if matches!(
        status,
        StatusCode::CONFLICT | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS
    ) {
        soak.refused.fetch_add(1, Ordering::Relaxed);
        user.set_success(&mut goose.request)?;
        return Ok(None);
    }
    let body = response.text().await.unwrap_or_default();
    eprintln!("{name}: unexpected {status}: {body}");
    user.set_failure(name, &mut goose.request, None, Some(&body)).map(|()| None)
}

async fn json_of(response: Response) -> Value {
    response.json().await.unwrap_or(Value::Null)
}

/// The text at `pointer` (`/dataset/id`) in an acknowledged answer.
async fn text_at(answer: Option<Response>, pointer: &str) -> Option<String> {
    json_of(answer?).await.pointer(pointer)?.as_str().map(str::to_owned)
}

fn client(user: &mut GooseUser) -> &mut Client {
    user.get_session_data_unchecked_mut::<Client>()
}

/// Each client's first steps: its own address, an account, a dataset and a model.
async fn sign_up(user: &mut GooseUser) -> TransactionResult {
    let soak = soak_of(user.base_url.as_str());
    let index = user.weighted_users_index;
    // The server closes a connection idle for 10 s (its header read timeout): a client that
    // reused one at that moment would lose a POST, so the pool lets them go after 5 s, as
    // HTTP clients facing an idle timeout do.
    let builder = reqwest::Client::builder()
        .local_address(address(index))
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(4);
    user.set_client_builder(builder).await?;
    let email = format!("soak{}u{index}@example.com", soak.nonce);
    user.set_session_data(Client { index, email: email.clone(), ..Client::default() });
    soak.accounts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Account { index, ..Account::default() });
    let body = json!({ "username": format!("soak{}u{index}", soak.nonce), "email": email, "password": PASSWORD });
    let Some(answer) =
        send(user, GooseMethod::Post, "/api/auth/register", "register", |r| r.json(&body)).await?
    else {
        return Ok(());
    };
    let token = json_of(answer).await["token"].as_str().unwrap_or_default().to_owned();
    client(user).token.clone_from(&token);
    acknowledge(soak, index, |a| a.token = token);
    upload(user).await?;
    create_model(user).await
}

async fn login(user: &mut GooseUser) -> TransactionResult {
    let body = json!({ "email": client(user).email, "password": PASSWORD });
    let answer =
        send(user, GooseMethod::Post, "/api/auth/login", "login", |r| r.json(&body)).await?;
    if let Some(token) = text_at(answer, "/token").await {
        client(user).token = token;
    }
    Ok(())
}

async fn upload(user: &mut GooseUser) -> TransactionResult {
    let soak = soak_of(user.base_url.as_str());
    let index = client(user).index;
    let form = || {
        let part = reqwest::multipart::Part::bytes(soak.csv.clone())
            .file_name("data.csv")
            .mime_str("text/csv")
            .unwrap_or_else(|_| reqwest::multipart::Part::bytes(Vec::new()));
        reqwest::multipart::Form::new().text("name", "soak data").part("file", part)
    };
    let answer =
        send(user, GooseMethod::Post, "/api/data", "upload", |r| r.multipart(form())).await?;
    if let Some(id) = text_at(answer, "/dataset/id").await {
        client(user).dataset = Some(id.clone());
        acknowledge(soak, index, |a| a.datasets.push(id));
    }
    Ok(())
}

async fn create_model(user: &mut GooseUser) -> TransactionResult {
    let soak = soak_of(user.base_url.as_str());
    let (index, Some(dataset)) = (client(user).index, client(user).dataset.clone()) else {
        return Ok(());
    };
    let body = json!({ "name": "soak model", "datasetId": dataset, "target": soak.target });
    let answer =
        send(user, GooseMethod::Post, "/api/model", "create model", |r| r.json(&body)).await?;
    if let Some(id) = text_at(answer, "/model/id").await {
        client(user).model = Some(id.clone());
        acknowledge(soak, index, |a| a.models.push(id));
    }
    Ok(())
}

async fn train(user: &mut GooseUser) -> TransactionResult {
    let soak = soak_of(user.base_url.as_str());
    let (index, Some(model)) = (client(user).index, client(user).model.clone()) else {
        return Ok(());
    };
    let body = json!({ "modelId": model, "epochs": soak.epochs, "batchSize": 16 });
    let answer =
        send(user, GooseMethod::Post, "/api/training/start", "train", |r| r.json(&body)).await?;
    if let Some(id) = text_at(answer, "/run/id").await {
        client(user).run = Some(id.clone());
        acknowledge(soak, index, |a| a.runs.push(id));
    }
    Ok(())
}

async fn history(user: &mut GooseUser) -> TransactionResult {
    match client(user).run.clone() {
        Some(run) => {
            let path = format!("/api/training/{run}/history");
            send(user, GooseMethod::Get, &path, "history", |r| r).await?;
        }
        None => {
            send(user, GooseMethod::Get, "/api/training?limit=20", "runs", |r| r).await?;
        }
    }
    Ok(())
}

async fn lists(user: &mut GooseUser) -> TransactionResult {
    send(user, GooseMethod::Get, "/api/data?limit=20", "datasets", |r| r).await?;
    send(user, GooseMethod::Get, "/api/model?limit=20", "models", |r| r).await?;
    Ok(())
}

/// Holds a live notification stream open for up to three seconds, reading what arrives.
async fn stream(user: &mut GooseUser) -> TransactionResult {
    if let Some(answer) = send(user, GooseMethod::Get, "/api/notif/events", "events", |r| r).await?
    {
        let mut body = answer.bytes_stream();
        let until = tokio::time::Instant::now() + Duration::from_secs(3);
        while let Ok(Some(_)) = tokio::time::timeout_at(until, body.next()).await {}
    }
    Ok(())
}

/// Resident memory of `pid` in MiB, from /proc.
fn rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Every acknowledged write of `account`, looked up in its lists; returns the missing ones.
async fn missing_writes(host: &str, account: &Account) -> Result<Vec<String>, String> {
    let http = reqwest::Client::builder()
        .local_address(address(account.index))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let mut missing = Vec::new();
    for (path, key, acked) in [
        ("/api/data", "datasets", &account.datasets),
        ("/api/model", "models", &account.models),
        ("/api/training", "runs", &account.runs),
    ] {
        if acked.is_empty() {
            continue;
        }
        let mut listed = std::collections::BTreeSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = format!("{host}{path}?limit=1000");
            if let Some(cursor) = &cursor {
                url.push_str(&format!("&cursor={cursor}"));
            }
            let answer = http.get(&url).bearer_auth(&account.token).send().await;
            let page: Value = match answer {
                Ok(a) if a.status().is_success() => a.json().await.map_err(|e| e.to_string())?,
                Ok(a) => return Err(format!("{url}: {}", a.status())),
                Err(err) => return Err(format!("{url}: {err}")),
            };
            for item in page[key].as_array().into_iter().flatten() {
                listed.insert(item["id"].as_str().unwrap_or_default().to_owned());
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        missing.extend(
            acked.iter().filter(|id| !listed.contains(*id)).map(|id| format!("{key}/{id}")),
        );
    }
    Ok(missing)
}

/// Soaks `server` and prints the report; whether it passed.
async fn soak(server: &Server, backend: &str, args: &Settings) -> bool {
    let nonce = format!(
        "{:x}",
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
    );
    let host = server.base.trim_end_matches('/').to_owned();
    let soak: &'static Soak = Box::leak(Box::new(Soak {
        host: host.clone(),
        csv: include_bytes!("../../data/iris.csv").to_vec(),
        target: "species".to_owned(),
        epochs: args.epochs,
        nonce,
        accounts: Mutex::new(Vec::new()),
        server_errors: AtomicU64::new(0),
        unanswered: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        answered: AtomicU64::new(0),
    }));
    SOAKS.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner()).push(soak);

    // The memory curve: one sample every five seconds, from before the first client.
    let started = Instant::now();
    let samples = std::sync::Arc::new(Mutex::new(Vec::<(f64, f64)>::new()));
    let sampler = server.pid().map(|pid| {
        let samples = samples.clone();
        tokio::spawn(async move {
            loop {
                if let Some(mib) = rss_mib(pid) {
                    let at = started.elapsed().as_secs_f64();
                    samples.lock().unwrap_or_else(|e| e.into_inner()).push((at, mib));
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        })
    });

    let user = scenario!("client")
        .set_wait_time(Duration::from_secs(1), Duration::from_secs(4))
        .unwrap()
        .register_transaction(transaction!(sign_up).set_on_start().set_name("sign up"))
        .register_transaction(transaction!(login).set_weight(1).unwrap().set_name("login"))
        .register_transaction(transaction!(upload).set_weight(1).unwrap().set_name("upload"))
        .register_transaction(
            transaction!(create_model).set_weight(1).unwrap().set_name("create model"),
        )
        .register_transaction(transaction!(train).set_weight(2).unwrap().set_name("train"))
        .register_transaction(transaction!(history).set_weight(3).unwrap().set_name("history"))
        .register_transaction(transaction!(lists).set_weight(2).unwrap().set_name("lists"))
        .register_transaction(transaction!(stream).set_weight(1).unwrap().set_name("events"));
    let startup = args.users.div_ceil(args.hatch_rate.max(1));
    GooseAttack::initialize_with_config(goose::config::GooseConfiguration::default())
        .and_then(|attack| {
            attack.register_scenario(user).set_default(GooseDefault::Host, host.as_str())
        })
        .and_then(|attack| attack.set_default(GooseDefault::Users, args.users))
        .and_then(|attack| attack.set_default(GooseDefault::StartupTime, startup))
        .and_then(|attack| attack.set_default(GooseDefault::RunTime, args.seconds))
        .and_then(|attack| attack.set_default(GooseDefault::NoTelnet, true))
        .and_then(|attack| attack.set_default(GooseDefault::NoWebSocket, true))
        .and_then(|attack| attack.set_default(GooseDefault::NoResetMetrics, true))
        .expect("the goose attack is configured")
        .execute()
        .await
        .expect("the goose attack runs");
    let load_secs = started.elapsed().as_secs_f64();
    if let Some(sampler) = sampler {
        sampler.abort();
    }

    // Every acknowledged write must be there.
    let accounts = soak.accounts.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let acked: usize =
        accounts.iter().map(|a| a.datasets.len() + a.models.len() + a.runs.len()).sum();
    let checked: Vec<Result<Vec<String>, String>> = futures::stream::iter(&accounts)
        .filter(|a| std::future::ready(!a.token.is_empty()))
        .map(|account| missing_writes(&host, account))
        .buffer_unordered(16)
        .collect()
        .await;
    let mut missing = Vec::new();
    let mut unreadable = Vec::new();
    for result in checked {
        match result {
            Ok(m) => missing.extend(m),
            Err(err) => unreadable.push(err),
        }
    }

    let s = soak;
    let (server_errors, unanswered) =
        (s.server_errors.load(Ordering::Relaxed), s.unanswered.load(Ordering::Relaxed));
    println!(
        "\n== soak on {backend}: {} clients for {load_secs:.0} s against {}",
        args.users, s.host
    );
    println!(
        "answers {}, refused under load (409/413/429) {}, 5xx {server_errors}, no answer {unanswered}",
        s.answered.load(Ordering::Relaxed),
        s.refused.load(Ordering::Relaxed)
    );
    println!(
        "acknowledged writes {acked} ({} accounts): missing afterwards {}, accounts unreadable {}",
        accounts.iter().filter(|a| !a.token.is_empty()).count(),
        missing.len(),
        unreadable.len()
    );
    for line in missing.iter().chain(&unreadable).take(20) {
        println!("  {line}");
    }
    let mut ok =
        server_errors == 0 && unanswered == 0 && missing.is_empty() && unreadable.is_empty();

    let samples = samples.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !samples.is_empty() {
        println!("server resident memory (MiB), every 5 s:");
        for chunk in samples.chunks(6) {
            let line: Vec<String> =
                chunk.iter().map(|(at, mib)| format!("{at:>5.0}s {mib:>6.1}")).collect();
            println!("  {}", line.join("  "));
        }
        let warm = samples[samples.len() / 3].1;
        let end = samples.last().map_or(warm, |s| s.1);
        let peak = samples.iter().map(|s| s.1).fold(0.0, f64::max);
        let growth = (end - warm) / warm;
        println!(
            "after warm-up ({:.0} s): {warm:.1} MiB; end {end:.1} MiB ({:+.1} %); peak {peak:.1} MiB",
            samples[samples.len() / 3].0,
            growth * 100.0
        );
        if let Some(max) = args.max_rss_growth
            && growth > max
        {
            println!(
                "FAIL: memory grew {:.1} % after warm-up (limit {:.0} %)",
                growth * 100.0,
                max * 100.0
            );
            ok = false;
        }
    }
    println!("{}", if ok { "soak: PASS" } else { "soak: FAIL" });
    ok
}
