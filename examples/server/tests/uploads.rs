//! SECURITY-CHECKLIST 12-16 and 18-21 over HTTP: upload limits, hostile file names and contents,
//! formula neutralisation, path-like ids, no URL or path inputs, 409s, download headers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use bytes::Bytes;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{IRIS, Options, TestServer, error_code, raw_get, raw_http};

async fn small_limit_server() -> TestServer {
    TestServer::with(Options { max_upload_bytes: Some(64 * 1024), ..Default::default() }).await
}

async fn dataset_count(server: &TestServer, token: &str) -> usize {
    let body: Value = server.get("/api/data", token).await.json().await.unwrap();
    body["datasets"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_it_is_sent() {
    let server = small_limit_server().await;
    let token = server.register("ada").await;
    // Announces 100 MiB, sends a few bytes: the answer comes without waiting for the rest.
    let head = format!(
        "POST /api/data HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: 104857600\r\n\r\n"
    );
    let (status, body) = raw_http(&server.base, &head, b"--XYZ\r\n").await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("PAYLOAD_TOO_LARGE"), "{body}");
    assert_eq!(dataset_count(&server, &token).await, 0);
}

#[tokio::test]
async fn a_streamed_file_over_the_limit_is_413_and_nothing_is_stored() {
    let server = small_limit_server().await;
    let token = server.register("ada").await;
    // No Content-Length: the limit must hold while streaming.
    let mut chunks: Vec<Result<Bytes, std::io::Error>> =
        vec![Ok(Bytes::from_static(b"--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\n"))];
    for _ in 0..200 {
        chunks.push(Ok(Bytes::from("1,2\n".repeat(256))));
    }
    chunks.push(Ok(Bytes::from_static(b"\r\n--XYZ--\r\n")));
    let body = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let response = server
        .request(Method::POST, "/api/data", Some(&token))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body(body)
        .send()
        .await
        .unwrap();
    let error = error_code(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(error["code"], "PAYLOAD_TOO_LARGE");
    assert_eq!(dataset_count(&server, &token).await, 0);
    // A file under the limit still goes through.
    let response = server.upload(&token, "small", "small.csv", b"a,b\n1,2\n3,4\n".to_vec()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn per_user_quotas_on_files_and_bytes_refuse_and_store_nothing() {
    let server = TestServer::with(Options {
        quota_files_per_user: Some(2),
        quota_bytes_per_user: Some(IRIS.len() as u64 + 100),
        ..Default::default()
    })
    .await;
    let ada = server.register("ada").await;
    server.upload_iris(&ada).await;
    // Over the byte quota: 413, whatever the per-file limit.
    let response = server.upload(&ada, "again", "iris.csv", IRIS.to_vec()).await;
    assert_eq!(
        error_code(response, StatusCode::PAYLOAD_TOO_LARGE).await["code"],
        "PAYLOAD_TOO_LARGE"
    );
    let response = server.upload(&ada, "tiny", "t.csv", b"a,b\n1,2\n".to_vec()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // Over the file quota: refused, nothing stored.
    let response = server.upload(&ada, "third", "t.csv", b"a,b\n1,2\n".to_vec()).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    assert_eq!(dataset_count(&server, &ada).await, 2);
    // Quotas are per user: Bob starts from zero.
    let bob = server.register("bob").await;
    server.upload_iris(&bob).await;
}

#[tokio::test]
async fn hostile_file_names_are_kept_only_as_sanitised_metadata() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let long = format!("{}.csv", "n".repeat(10_000));
    for name in [
        "../../x",
        "a.csv.php",
        "x%00.csv",
        "..\\..\\win.csv",
        "tab\tand\u{7}bell.csv",
        long.as_str(),
    ] {
        let response = server.upload(&token, "named", name, b"a,b\n1,2\n".to_vec()).await;
        if name.contains('\t') && response.status() == StatusCode::BAD_REQUEST {
            // The multipart parser itself refuses raw control bytes in a part header.
            let error = error_code(response, StatusCode::BAD_REQUEST).await;
            assert_eq!(error["field"], "file", "{error}");
            continue;
        }
        assert_eq!(response.status(), StatusCode::CREATED, "{name}");
        let body: Value = response.json().await.unwrap();
        let stored = body["dataset"]["originalFilename"].as_str().unwrap();
        assert!(!stored.contains('/') && !stored.contains('\\'), "{stored}");
        assert!(!stored.contains(".."), "{stored}");
        assert!(!stored.contains("%00") && !stored.chars().any(char::is_control), "{stored}");
        assert!(stored.len() <= 255, "{} bytes", stored.len());
        assert!(body["dataset"].get("blobKey").is_none(), "storage keys stay inside: {body}");
    }
}

#[tokio::test]
async fn binary_compressed_and_non_utf8_content_is_refused_by_its_bytes() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01".to_vec()),
        ("zip", b"PK\x03\x04\x14\0\0\0\x08\0data,more\n1,2\n".to_vec()),
        ("gzip", b"\x1f\x8b\x08\0\0\0\0\0\0\x03a,b\n".to_vec()),
        ("elf", b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec()),
        ("latin-1", b"name,city\nJos\xe9,M\xfcnchen\n".to_vec()),
        ("nul bytes", b"a,b\n1,\0\0\0\n".to_vec()),
    ];
    for (what, bytes) in samples {
        // Named and typed as CSV: only the content decides.
        let response = server.upload(&token, what, "data.csv", bytes).await;
        let status = response.status();
        assert!(
            status == StatusCode::UNSUPPORTED_MEDIA_TYPE || status == StatusCode::BAD_REQUEST,
            "{what}: {status}"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            ["UNSUPPORTED_MEDIA_TYPE", "VALIDATION"]
                .contains(&body["error"]["code"].as_str().unwrap()),
            "{what}: {body}"
        );
    }
    assert_eq!(dataset_count(&server, &token).await, 0);
}

#[tokio::test]
async fn malformed_tables_are_400_naming_the_row_and_column() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let huge_field = format!("a,b\n1,{}\n", "x".repeat(100 * 1024));
    let wide = format!("{}\n", (0..100_000).map(|i| format!("c{i}")).collect::<Vec<_>>().join(","));
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("ragged", b"a,b,c\n1,2,3\n4,5\n".to_vec(), &["row", "2"]),
        ("empty", Vec::new(), &[]),
        ("header only", b"a,b,c\n".to_vec(), &[]),
        ("infinity", b"a,b\n1,2\n3,inf\n".to_vec(), &["row", "column"]),
        ("huge field", huge_field.into_bytes(), &["row", "column"]),
        ("100k columns", wide.into_bytes(), &["column"]),
    ];
    for (what, bytes, mentions) in cases {
        let response = server.upload(&token, what, "t.csv", bytes).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status == StatusCode::BAD_REQUEST, "{what}: {status} {body}");
        assert_eq!(body["error"]["code"], "VALIDATION", "{what}");
        let message = body["error"]["message"].as_str().unwrap().to_lowercase();
        for word in mentions {
            assert!(message.contains(word), "{what}: {message:?} lacks {word:?}");
        }
    }
    // NaN cells are missing values, not numbers: the file is accepted with them counted missing.
    let response = server.upload(&token, "nan", "nan.csv", b"a,b\n1,2\n3,NaN\n".to_vec()).await;
    if response.status() == StatusCode::CREATED {
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["dataset"]["schema"]["columns"][1]["missing"], 1);
    } else {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    // Nothing rejected was stored, so no model (and no run) can be made from it.
    assert!(dataset_count(&server, &token).await <= 1);
}

#[tokio::test]
async fn formula_cells_are_neutralised_in_the_exported_csv() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let csv = "name,amount\n=HYPERLINK(\"http://x\"),1\n+cmd,2\n-cmd,3\n@SUM(A1),4\nplain,-5\n";
    let response = server.upload(&token, "formulas", "f.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["dataset"]["id"].as_str().unwrap().to_owned();
    let exported =
        server.get(&format!("/api/files/datasets/{id}"), &token).await.text().await.unwrap();
    for line in exported.lines().skip(1) {
        let first = line.trim_start_matches('"');
        assert!(!first.starts_with(['=', '+', '-', '@']), "live formula in {line:?}");
    }
    assert!(exported.contains("-5"), "plain negative numbers stay numbers: {exported}");
}

#[tokio::test]
async fn path_like_ids_are_404_on_every_id_route() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let ids = [
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "%252e%252e%252fetc",
        "..%5c..%5cwindows",
        "..;",
        "%2fproc%2fself%2froot",
        "%2Fetc%2Fpasswd",
        "C:%5cboot.ini",
        "%00",
        "%ff%fe",
    ];
    let routes = [
        "/api/data/{}",
        "/api/data/{}/preview",
        "/api/model/{}",
        "/api/model/{}/summary",
        "/api/training/{}",
        "/api/training/{}/history",
        "/api/training/{}/events",
        "/api/files/datasets/{}",
        "/api/files/models/{}",
    ];
    for route in routes {
        for id in ids {
            let path = route.replace("{}", id);
            let (status, body) = raw_get(&server.base, &path, &token).await;
            assert_eq!(status, 404, "{path}: {body}");
            assert!(body.contains("NOT_FOUND"), "{path}: {body}");
        }
    }
    // Raw dot segments never reach a file: the dashboard fallback or a JSON 404 answers.
    for path in [
        "/api/data/../../../../etc/passwd",
        "/api/files/datasets/..;/..;/etc/passwd",
        "//proc/self/root/etc/passwd",
        "/..%2f..%2f..%2fetc/passwd",
        "/static/../Cargo.toml",
    ] {
        let (status, body) = raw_get(&server.base, path, &token).await;
        assert!(
            !body.contains("root:x:0:0") && !body.contains("[package]"),
            "{path} leaked a file"
        );
        assert!(status == 404 || status == 200 || status == 400, "{path}: {status}");
    }
}

#[tokio::test]
async fn no_route_takes_a_url_or_a_server_path() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    // Form fields naming a URL or a local file are ignored: only uploaded bytes count.
    let form = reqwest::multipart::Form::new()
        .text("name", "remote")
        .text("url", "http://127.0.0.1:1/secret.csv")
        .text("path", "/etc/passwd");
    let response = server
        .request(Method::POST, "/api/data", Some(&token))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let error = error_code(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(error["field"], "file");
    assert_eq!(dataset_count(&server, &token).await, 0);
    // No request body in the API description has a URL or path field.
    let doc: Value = server
        .client
        .get(server.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if let Some(props) = schema["properties"].as_object() {
            for prop in props.keys() {
                let lower = prop.to_lowercase();
                assert!(
                    !lower.contains("url") && !lower.contains("path") && !lower.contains("uri"),
                    "{name}.{prop}"
                );
            }
        }
    }
}

#[tokio::test]
async fn early_downloads_double_starts_and_deleting_used_data_are_409() {
    let server =
        TestServer::with(Options { trainer: Some(support::slow_trainer()), ..Default::default() })
            .await;
    let token = server.register("ada").await;
    let dataset = server.upload_iris(&token).await;
    let model = server.create_model(&token, &dataset).await;
    error_code(
        server.get(&format!("/api/files/models/{model}"), &token).await,
        StatusCode::CONFLICT,
    )
    .await;
    let run = server.start_run(&token, &model, 50).await;
    error_code(
        server.get(&format!("/api/files/models/{model}"), &token).await,
        StatusCode::CONFLICT,
    )
    .await;
    let again = server
        .post(
            "/api/training/start",
            Some(&token),
            json!({ "modelId": model, "epochs": 2, "batchSize": 8, "learningRate": 0.1 }),
        )
        .await;
    error_code(again, StatusCode::CONFLICT).await;
    error_code(server.delete(&format!("/api/data/{dataset}"), &token).await, StatusCode::CONFLICT)
        .await;
    error_code(server.delete(&format!("/api/model/{model}"), &token).await, StatusCode::CONFLICT)
        .await;
    server
        .request(Method::POST, &format!("/api/training/{run}/cancel"), Some(&token))
        .send()
        .await
        .unwrap();
    server.wait_run(&token, &run).await;
}

#[tokio::test]
async fn downloads_are_attachments_with_safe_names_and_no_sniffing() {
    let server = TestServer::start().await;
    let token = server.register("ada").await;
    let response = server.upload(&token, "../../évil\"name\r\n", "x.csv", IRIS.to_vec()).await;
    let response = if response.status() == StatusCode::CREATED {
        response
    } else {
        server.upload(&token, "données été", "x.csv", IRIS.to_vec()).await
    };
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["dataset"]["id"].as_str().unwrap().to_owned();
    let (_, model, _) = server.trained_model(&token).await;
    for path in [format!("/api/files/datasets/{id}"), format!("/api/files/models/{model}")] {
        let response = server.get(&path, &token).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        let disposition = headers["content-disposition"].to_str().unwrap();
        assert!(disposition.starts_with("attachment; filename=\""), "{disposition}");
        assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
        assert!(
            !disposition.contains('/')
                && !disposition.contains("..")
                && !disposition.contains('\r'),
            "{disposition}"
        );
        assert_eq!(disposition.matches('"').count(), 2, "{disposition}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["cache-control"], "no-store");
        let content_type = headers["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/csv") || content_type == "application/zip",
            "{content_type}"
        );
    }
}
