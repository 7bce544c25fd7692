//! `ConfigSpec`: the facade configured from plain data (JSON, Python keyword arguments,
//! JavaScript option objects). Unknown keys and bad values are refused by the caller's key,
//! every key lands in `Config`, and no secret or password reaches Debug output.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use modelyard::{Config, ConfigSpec, Error, Modelyard, StoreUrl};

const SECRET: &str = "config-spec-secret-config-spec-secret";

/// The error of reading `json` and building a Config from it.
fn refusal(json: &str) -> Error {
    match ConfigSpec::from_json(json).and_then(Config::from_spec) {
        Ok(config) => panic!("{json} accepted: {config:?}"),
        Err(err) => err,
    }
}

fn assert_refused(json: &str, field: &str) -> String {
    let err = refusal(json);
    assert_eq!(err.code(), "VALIDATION", "{json}: {err}");
    assert_eq!(err.field(), Some(field), "{json}: {err}");
    err.to_string()
}

#[test]
fn an_unknown_key_is_a_validation_error_naming_it() {
    let message = assert_refused(r#"{"workers": 1, "wokers": 2}"#, "wokers");
    assert!(message.contains("did you mean `workers`"), "{message}");
    let message = assert_refused(r#"{"jwtSecret": "x"}"#, "jwtSecret");
    assert!(message.contains("did you mean `jwt_secret`"), "{message}");
    let message = assert_refused(r#"{"colour": "blue"}"#, "colour");
    assert!(message.contains("known settings: store, cache"), "{message}");
}

#[test]
fn a_bad_value_names_its_field() {
    let message = assert_refused(r#"{"workers": "many"}"#, "workers");
    assert!(message.contains("expected a whole number"), "{message}");
    assert!(message.contains("got a string"), "{message}");
    let message = assert_refused(r#"{"lease_secs": -1}"#, "lease_secs");
    assert!(message.contains("above 0"), "{message}");
    assert_refused(r#"{"max_rows": 2.5}"#, "max_rows");
    assert_refused(r#"{"max_attempts": 0}"#, "max_attempts");
    assert_refused(r#"{"jwt_issuer": " "}"#, "jwt_issuer");
    assert_refused(r#"{"store": "ftp://x"}"#, "store");
    assert_refused(r#"{"cache": "http://:pw@host"}"#, "cache");
    assert_refused(r#"{"cache_namespace": ""}"#, "cache_namespace");
    assert_refused(r#"{"token_ttl_secs": 0.5}"#, "token_ttl_secs");
    assert_refused(r#"["not", "an", "object"]"#, "config");
    assert_refused("{not json", "config");
}

#[test]
fn a_sled_url_may_size_its_page_cache() {
    // The page cache's size is sled's to read (storage-sled's config tests); the facade keeps
    // the URL and the data directory.
    for (url, dir) in [
        ("sled://./data", "./data"),
        ("sled:rel?cache_mb=16", "rel"),
        ("sled:///abs?cache_mb=1", "/abs"),
    ] {
        let parsed = StoreUrl::parse(url).unwrap();
        assert_eq!((parsed.as_str(), parsed.data_dir()), (url, Some(std::path::Path::new(dir))));
    }
    for (url, says) in [
        ("sled://./data?cache_mb=0", "from 1 to 1048576"),
        ("sled://./data?cache_mb=lots", "from 1 to 1048576"),
        ("sled://./data?cache_mb=1048577", "from 1 to 1048576"),
        ("sled://./data?cache=16", "not \"cache\""),
        ("sled://?cache_mb=16", "names no directory"),
        ("ftp://x", "it knows sled://"),
    ] {
        let err = StoreUrl::parse(url).expect_err(url);
        assert_eq!(err.field(), Some("store"), "{url}: {err}");
        assert!(err.to_string().contains(says), "{url}: {err}");
    }
}

#[tokio::test]
async fn a_sled_store_opens_with_a_small_page_cache() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sled://{}?cache_mb=1", dir.path().join("yard").display());
    let yard = Modelyard::open(url.as_str()).await.unwrap();
    let session = yard.register("ada", "ada@example.com", "a long enough passphrase").await;
    assert_eq!(session.unwrap().me().await.unwrap().username, "ada");
    yard.close().await;
}

#[test]
fn a_bad_cache_url_is_refused_without_echoing_it() {
    let message = assert_refused(r#"{"cache": "http://:hunter2hunter2@host"}"#, "cache");
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn zero_negative_or_infinite_seconds_are_refused() {
    for secs in [0.0, -3.0, f64::NAN, f64::INFINITY, 1e12] {
        let spec = ConfigSpec { lease_secs: Some(secs), ..ConfigSpec::default() };
        let err = Config::from_spec(spec).expect_err("accepted");
        assert_eq!(err.field(), Some("lease_secs"), "{secs}: {err}");
        let spec = ConfigSpec { user_cache_ttl_secs: Some(secs), ..ConfigSpec::default() };
        let err = Config::from_spec(spec).expect_err("accepted");
        assert_eq!(err.field(), Some("user_cache_ttl_secs"), "{secs}: {err}");
    }
}

#[test]
fn more_than_64_workers_are_refused() {
    assert_refused(r#"{"workers": 65}"#, "workers");
    let config = Config::from_spec(ConfigSpec::from_json(r#"{"workers": 64}"#).unwrap()).unwrap();
    assert_eq!(config.training.workers, 64);
}

#[test]
fn a_heartbeat_not_shorter_than_the_lease_is_refused() {
    assert_refused(r#"{"lease_secs": 3, "heartbeat_secs": 3}"#, "heartbeat_secs");
    // Against the default 30 s lease.
    let message = assert_refused(r#"{"heartbeat_secs": 40}"#, "heartbeat_secs");
    assert!(message.contains("shorter than the lease"), "{message}");
}

#[test]
fn a_lease_alone_gets_a_heartbeat_of_a_third_of_it() {
    let config =
        Config::from_spec(ConfigSpec::from_json(r#"{"lease_secs": 4.5}"#).unwrap()).unwrap();
    assert_eq!(config.training.lease, Duration::from_millis(4500));
    assert_eq!(config.training.heartbeat, Duration::from_millis(1500));
}

#[test]
fn a_short_jwt_secret_is_refused_naming_jwt_secret() {
    assert_refused(r#"{"jwt_secret": "only-31-bytes-long-secret-value"}"#, "jwt_secret");
    assert_refused(r#"{"jwt_secret": ""}"#, "jwt_secret");
}

#[test]
fn absent_and_null_keys_keep_the_defaults() {
    let defaults = Config::new("sled://./modelyard-data").unwrap();
    for json in ["{}", r#"{"workers": null, "cache": null, "jwt_secret": null}"#] {
        let config = Config::from_spec(ConfigSpec::from_json(json).unwrap()).unwrap();
        assert_eq!(format!("{config:?}"), format!("{defaults:?}"), "{json}");
    }
    assert!(Config::from_spec(ConfigSpec::default()).unwrap().trainer.is_some());
}

#[test]
fn memory_or_an_empty_cache_means_no_redis() {
    for cache in ["", "memory", " MEMORY "] {
        let spec = ConfigSpec { cache: Some(cache.to_owned()), ..ConfigSpec::default() };
        assert_eq!(Config::from_spec(spec).unwrap().cache, None, "{cache:?}");
    }
}

#[test]
fn debug_output_never_shows_the_secret() {
    let spec = ConfigSpec::from_json(&format!(
        r#"{{"store": "mongodb://app:mongo-pw@db.example/yard", "cache": "redis://:redis-pw@cache:6379/0",
            "jwt_secret": "{SECRET}", "token_ttl_secs": 60}}"#
    ))
    .unwrap();
    let config = Config::from_spec(spec.clone()).unwrap();
    assert!(config.auth.is_some());
    for debug in [format!("{spec:?}"), format!("{config:?}"), format!("{config:#?}")] {
        for secret in [SECRET, "mongo-pw", "redis-pw"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        let compact: String = debug.split_whitespace().collect();
        assert!(compact.contains("jwt_secret:Some(<redacted>"), "{debug}");
        assert!(debug.contains("redis://:<redacted>@cache:6379/0"), "{debug}");
        assert!(debug.contains("mongodb://app:<redacted>@db.example/yard"), "{debug}");
    }
    assert!(format!("{config:?}").contains("trainer: present"));
    let without = Config { trainer: None, ..config };
    assert!(format!("{without:?}").contains("trainer: absent"));
}

#[test]
fn a_spec_from_json_reaches_every_config_field() {
    let spec = ConfigSpec::from_json(&format!(
        r#"{{
            "store": "sled:///tmp/yard", "cache": "redis://cache:6379/2", "cache_namespace": "tenant-a",
            "jwt_secret": "{SECRET}", "workers": 3, "lease_secs": 12, "heartbeat_secs": 2.5,
            "poll_interval_ms": 75, "max_attempts": 4,
            "max_upload_bytes": 1000, "max_columns": 10, "max_field_bytes": 100, "max_rows": 50,
            "quota_bytes_per_user": 5000, "quota_files_per_user": 7, "preview_max_rows": 20,
            "cache_key_prefix": "a:", "user_cache_ttl_secs": 60, "model_cache_ttl_secs": 120.5,
            "training_cache_ttl_secs": 600,
            "token_ttl_secs": 900, "jwt_issuer": "issuer-a", "jwt_audience": "audience-a",
            "login_max_failures": 9, "login_window_secs": 300
        }}"#
    ))
    .unwrap();
    let config = Config::from_spec(spec).unwrap();
    assert_eq!(config.store, StoreUrl::parse("sled:///tmp/yard").unwrap());
    assert_eq!(config.store.data_dir(), Some(std::path::Path::new("/tmp/yard")));
    assert_eq!(config.cache.as_deref(), Some("redis://cache:6379/2"));
    assert_eq!(config.cache_namespace, "tenant-a");
    assert_eq!(config.jwt_secret.as_deref(), Some(SECRET.as_bytes()));
    let training = &config.training;
    assert_eq!(training.workers, 3);
    assert_eq!(training.lease, Duration::from_secs(12));
    assert_eq!(training.heartbeat, Duration::from_millis(2500));
    assert_eq!(training.poll_interval, Duration::from_millis(75));
    assert_eq!(training.max_attempts, 4);
    let datasets = &config.datasets;
    assert_eq!(datasets.max_upload_bytes, 1000);
    assert_eq!(datasets.max_columns, 10);
    assert_eq!(datasets.max_field_bytes, 100);
    assert_eq!(datasets.max_rows, Some(50));
    assert_eq!(datasets.quota_bytes_per_user, 5000);
    assert_eq!(datasets.quota_files_per_user, 7);
    assert_eq!(datasets.preview_max_rows, 20);
    let policy = &config.cache_policy;
    assert_eq!(policy.key_prefix, "a:");
    assert_eq!(policy.user_ttl, Duration::from_secs(60));
    assert_eq!(policy.model_ttl, Duration::from_millis(120_500));
    assert_eq!(policy.training_ttl, Duration::from_secs(600));
    // With a secret given, the auth settings are built around it already.
    let auth = config.auth.as_ref().expect("auth settings with a secret give an AuthConfig");
    assert_eq!(auth.jwt.ttl, Duration::from_secs(900));
    assert_eq!(auth.jwt.issuer, "issuer-a");
    assert_eq!(auth.jwt.audience, "audience-a");
    assert_eq!(auth.login_limit.max_attempts, 9);
    assert_eq!(auth.login_limit.window, Duration::from_secs(300));
    assert_eq!(config.auth_settings.token_ttl, Some(Duration::from_secs(900)));
    assert!(config.trainer.is_some());
}

#[test]
fn a_map_of_values_is_read_like_json() {
    let serde_json::Value::Object(map) = serde_json::json!({ "workers": 2, "lease_secs": 6 })
    else {
        unreachable!()
    };
    let spec = ConfigSpec::from_map(map).unwrap();
    assert_eq!(
        spec,
        ConfigSpec { workers: Some(2), lease_secs: Some(6.0), ..ConfigSpec::default() }
    );
    let value = serde_json::json!({ "workers": 2, "lease_secs": 6 });
    assert_eq!(ConfigSpec::from_value(value).unwrap(), spec);
}

#[tokio::test]
async fn open_accepts_a_spec() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sled://{}", dir.path().display());
    let spec = ConfigSpec::from_value(serde_json::json!({
        "store": store, "workers": 0, "token_ttl_secs": 120
    }))
    .unwrap();
    let yard = Modelyard::open(spec).await.unwrap();
    let session =
        yard.register("ada", "ada@example.com", "a long enough passphrase").await.unwrap();
    assert_eq!(session.me().await.unwrap().username, "ada");
    // No secret given: the token lifetime applies around the persisted development secret.
    assert!(dir.path().join("jwt-secret").exists());
    let lifetime = (session.expires_at() - modelyard::core::now()).num_seconds();
    assert!((100..=121).contains(&lifetime), "token lives {lifetime} s");
    yard.close().await;
}
