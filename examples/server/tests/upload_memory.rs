//! H4: uploads stream to the blob store and through the checks as they arrive. Three concurrent
//! 80 MiB uploads over HTTP grow the process by less than 64 MiB at their peak; a server that
//! held each file in memory before checking it grew by about 240 MiB.
//!
//! A test binary of its own: memory is measured for the whole process, so nothing else may run
//! beside it. The request bodies are generated as they are sent, so the client holds nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::{Options, TestServer};

/// Each upload's CSV.
const FILE_BYTES: usize = 80 << 20;
/// The most the process may grow while the three are under way.
const BUDGET_BYTES: u64 = 64 << 20;

/// A field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// A multipart body with one CSV of about `FILE_BYTES` (a header and rows of 16 numbers),
/// made chunk by chunk as it is sent; returns it and its number of data rows.
fn generated_upload(seed: u64) -> (reqwest::Body, u64) {
    const COLUMNS: usize = 16;
    let head = "--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\
                Content-Type: text/csv\r\n\r\n";
    let header: Vec<String> = (0..COLUMNS).map(|i| format!("x{i}")).collect();
    let row_bytes = COLUMNS * 9; // "-0.12345," or "+0.12345\n": 8 characters and a separator
    let rows = (FILE_BYTES / row_bytes) as u64;
    let mut state = seed | 1;
    let mut left = rows;
    let chunks = futures::stream::iter(
        std::iter::once(Bytes::from(format!("{head}{}\n", header.join(","))))
            .chain(std::iter::from_fn(move || {
                if left == 0 {
                    return None;
                }
                let mut chunk = String::with_capacity(64 * 1024 + row_bytes);
                while left > 0 && chunk.len() < 64 * 1024 {
                    for column in 0..COLUMNS {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        let sign = if state & 1 == 0 { '-' } else { '+' };
                        let end = if column + 1 == COLUMNS { '\n' } else { ',' };
                        chunk.push_str(&format!("{sign}0.{:05}{end}", (state >> 8) % 100_000));
                    }
                    left -= 1;
                }
                Some(Bytes::from(chunk))
            }))
            .chain(std::iter::once(Bytes::from_static(b"\r\n--XYZ--\r\n")))
            .map(Ok::<_, std::io::Error>),
    );
    (reqwest::Body::wrap_stream(chunks), rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_concurrent_80_mib_uploads_grow_memory_by_less_than_64_mib() {
    let server =
        TestServer::with(Options { max_upload_bytes: Some(128 << 20), ..Default::default() }).await;
    let mut tokens = Vec::new();
    for name in ["ada", "grace", "edsger"] {
        tokens.push(server.register(name).await);
    }
    // One small upload first, so what every upload allocates once (pools, buffers) is counted
    // before the measurement starts.
    let response = server.upload(&tokens[0], "warm", "warm.csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(response.status(), StatusCode::CREATED);

    // Resets the peak resident set size (VmHWM) to the current one.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_bytes("VmRSS:");
    let uploads = tokens.iter().zip(1u64..).map(|(token, seed)| {
        let (body, rows) = generated_upload(seed);
        let request = server
            .request(Method::POST, "/api/data", Some(token))
            .header("content-type", "multipart/form-data; boundary=XYZ")
            .timeout(std::time::Duration::from_secs(600))
            .body(body);
        async move { (request.send().await.unwrap(), rows) }
    });
    let answers = futures::future::join_all(uploads).await;
    let peak = status_bytes("VmHWM:");

    for (response, rows) in answers {
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["dataset"]["rowCount"], rows, "{body}");
        assert!(body["dataset"]["sizeBytes"].as_u64().unwrap() >= FILE_BYTES as u64 - 200);
    }
    let growth = peak.saturating_sub(before);
    eprintln!(
        "RSS before {} MiB, peak during three concurrent 80 MiB uploads {} MiB: +{} MiB",
        before >> 20,
        peak >> 20,
        growth >> 20
    );
    assert!(growth < BUDGET_BYTES, "grew by {} MiB", growth >> 20);
}
