//! The server as a process. `--log-dir`: it writes `server`, `error` and `access` logs to daily
//! files, without colour codes, each line whole (JSON lines parse, whatever the client sent).
//! And it runs without transparent huge pages (see `no_transparent_huge_pages` in main.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A `modelyard-server` process on a fresh sled store, logging into `dir/logs`.
struct Server {
    child: Child,
    url: String,
    logs: PathBuf,
}

impl Server {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let logs = dir.join("logs");
        let mut child = Command::new(env!("CARGO_BIN_EXE_modelyard-server"))
            .env_remove("MODELYARD_JWT_SECRET")
            .env_remove("RUST_LOG")
            .args(["--bind", "127.0.0.1:0", "--workers", "0"])
            .arg("--store")
            .arg(format!("sled://{}", dir.join("data").display()))
            .arg("--log-dir")
            .arg(&logs)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start modelyard-server");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let url = stdout
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("modelyard-server listening on ").map(str::to_owned))
            .expect("the server says where it listens");
        Self { child, url, logs }
    }

    /// Stops it as an operator does (SIGTERM) and waits: the log writers flush on the way out.
    fn stop(mut self) -> PathBuf {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(stderr, "", "with --log-dir nothing is logged to stderr");
        self.logs
    }
}

/// The one file of log `name` (`name.<date>.log`), read whole.
fn log(dir: &Path, name: &str) -> String {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            file.starts_with(&format!("{name}.")) && file.ends_with(".log")
        })
        .collect();
    assert_eq!(files.len(), 1, "one {name} log for today: {files:?}");
    std::fs::read_to_string(&files[0]).unwrap()
}

/// Requests that leave traces: answered ones, a refused sign-in, a path full of odd characters.
async fn traffic(url: &str) -> &'static str {
    let client = reqwest::Client::new();
    assert!(client.get(format!("{url}/healthz")).send().await.unwrap().status().is_success());
    let refused = client
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({ "email": "nobody@example.com", "password": "wrong password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let odd = "/api/%22%0A%1B%5B31m%20admin=true";
    let answer = client.get(format!("{url}{odd}")).send().await.unwrap();
    assert_eq!(answer.status(), 404);
    odd
}

#[tokio::test]
async fn log_dir_writes_server_error_and_access_logs_without_colour() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    traffic(&server.url).await;
    let logs = server.stop();

    let server_log = log(&logs, "server");
    assert!(server_log.contains("ready"), "{server_log}");
    assert!(server_log.contains("stopped"), "{server_log}");
    assert!(!server_log.contains("answered"), "access lines go to the access log only");
    let errors = log(&logs, "error");
    assert!(errors.contains("WARN") && errors.contains("MODELYARD_JWT_SECRET"), "{errors}");
    assert!(!errors.contains(" INFO "), "only warnings and errors: {errors}");
    let access = log(&logs, "access");
    assert_eq!(access.lines().count(), 3, "one line per answer: {access}");
    assert!(
        access.contains("status=401") && access.contains("path=\"/api/auth/login\""),
        "{access}"
    );
    for text in [&server_log, &errors, &access] {
        assert!(!text.contains('\u{1b}'), "no colour codes in files: {text:?}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&logs).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the log directory is the owner's only");
    }
}

#[tokio::test]
async fn json_log_lines_parse_whatever_the_client_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--log-json"]);
    let odd = traffic(&server.url).await;
    let logs = server.stop();

    let lines: Vec<Value> = log(&logs, "access")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    assert_eq!(lines.len(), 3);
    let paths: Vec<&str> = lines.iter().map(|l| l["span"]["path"].as_str().unwrap()).collect();
    // The path is the client's text, logged quoted as one value, never as fields of the line.
    assert_eq!(paths[2], format!("{odd:?}"), "{:?}", lines[2]);
    assert!(lines[2].get("admin").is_none() && lines[2]["fields"].get("admin").is_none());
    assert_eq!(lines[1]["fields"]["status"], 401);
    for name in ["server", "error"] {
        for line in log(&logs, name).lines() {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|err| panic!("{name}: {err}: {line}"));
        }
    }
}

/// The kernel reports the process's THP setting in its status (Linux 5.0 and later).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_server_runs_without_transparent_huge_pages() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    server.stop();
    let setting = status.lines().find_map(|l| l.strip_prefix("THP_enabled:")).map(str::trim);
    assert_eq!(setting, Some("0"), "transparent huge pages are on:\n{status}");
}
