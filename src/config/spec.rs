//! [`ConfigSpec`]: the settings of a [`Config`] as plain data, read from JSON or any map of
//! values (Python keyword arguments, JavaScript option objects, a server's flags).

use modelyard_core::{Error, Result};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::keys::{check_keys, describe, expectation};
use super::{Config, IntoConfig};

/// Every setting of a [`Config`] except the trainer, each optional: an absent (or `null`) key
/// keeps its default. [`Config::from_spec`] applies the defaults and checks the values.
#[derive(Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    /// Store URL (default `sled://./modelyard-data`).
    pub store: Option<String>,
    /// Redis URL for the shared cache and events; `""` or `"memory"` keeps them in-process.
    pub cache: Option<String>,
    /// Prefix of every Redis key (default `modelyard`).
    pub cache_namespace: Option<String>,
    /// Blob store URL, `s3://bucket/prefix?endpoint=...` (default: the record store's own).
    pub blobs: Option<String>,
    /// HS256 token secret, at least 32 bytes (default: a generated, persisted development one).
    pub jwt_secret: Option<String>,
    /// Training workers in this process, 0 to 64 (default 1).
    pub workers: Option<usize>,
    /// Seconds a claim holds a run without a heartbeat (default 30).
    pub lease_secs: Option<f64>,
    /// Seconds between lease renewals, shorter than the lease (default 10, or a third of
    /// `lease_secs` when only that is given).
    pub heartbeat_secs: Option<f64>,
    /// Milliseconds between an idle worker's looks for work (default 250).
    pub poll_interval_ms: Option<u64>,
    /// Claims of one run before it fails for good (default 3).
    pub max_attempts: Option<u32>,
    /// Most parameters a model may have (default 20 million).
    pub max_model_params: Option<u64>,
    /// Most memory one training run may need by the estimate, in bytes (default 2 GiB).
    pub max_training_bytes: Option<u64>,
    /// Most rows one run may go through, dataset rows times epochs (default 100 million).
    pub max_run_row_epochs: Option<u64>,
    /// Runs one user may have queued or running at once (default 10).
    pub max_active_runs_per_user: Option<u32>,
    /// Runs one user may keep, finished ones included (default 1 000).
    pub max_runs_per_user: Option<u64>,
    /// Notifications one user keeps; older ones go (default 500).
    pub max_notifications_per_user: Option<u64>,
    /// Models one user may have (default 200).
    pub max_models_per_user: Option<u64>,
    /// Memory for trained models kept loaded between predictions, in bytes (default 256 MiB;
    /// 0 reads the model's files on every call).
    pub loaded_models_bytes: Option<u64>,
    /// Largest dataset upload in bytes (default 2 GiB).
    pub max_upload_bytes: Option<u64>,
    /// Most columns of a dataset (default 2 000).
    pub max_columns: Option<usize>,
    /// Longest single cell in bytes (default 64 KiB).
    pub max_field_bytes: Option<usize>,
    /// Most data rows of a dataset (default: no limit besides the size).
    pub max_rows: Option<u64>,
    /// Total dataset bytes one user may keep (default 4 GiB).
    pub quota_bytes_per_user: Option<u64>,
    /// Datasets one user may keep (default 200).
    pub quota_files_per_user: Option<u64>,
    /// Uploads one user may have under way at once, per process (default 2).
    pub max_concurrent_uploads_per_user: Option<u32>,
    /// Most rows a preview returns (default 1 000).
    pub preview_max_rows: Option<usize>,
    /// Prefix of every read-through cache key (default empty).
    pub cache_key_prefix: Option<String>,
    /// Seconds a cached user lives (default 3 600).
    pub user_cache_ttl_secs: Option<f64>,
    /// Seconds a cached model lives (default 86 400).
    pub model_cache_ttl_secs: Option<f64>,
    /// Seconds a cached finished run lives (default 604 800).
    pub training_cache_ttl_secs: Option<f64>,
    /// Seconds an access token lives (default 3 600).
    pub token_ttl_secs: Option<f64>,
    /// Token issuer, `iss` (default `modelyard`).
    pub jwt_issuer: Option<String>,
    /// Token audience, `aud` (default `modelyard`).
    pub jwt_audience: Option<String>,
    /// Failed logins allowed per account in one window (default 5).
    pub login_max_failures: Option<u32>,
    /// Seconds of the per-account login window, the longest lockout (default 900).
    pub login_window_secs: Option<f64>,
}

impl ConfigSpec {
    /// Reads a JSON object of settings: `{"store": "sled://./data", "workers": 2}`.
    pub fn from_json(json: &str) -> Result<Self> {
        let value = serde_json::from_str(json)
            .map_err(|err| Error::validation("config", format!("not valid JSON: {err}")))?;
        Self::from_value(value)
    }

    /// Reads a JSON value, which must be an object of settings.
    pub fn from_value(value: Value) -> Result<Self> {
        match value {
            Value::Object(map) => Self::from_map(map),
            other => Err(Error::validation(
                "config",
                format!("expected an object of settings, got {}", describe(&other)),
            )),
        }
    }

    /// Reads a map of settings. An unknown key is refused by its name, with the key it most
    /// likely meant; a value of the wrong type by its key, with what was expected.
    pub fn from_map(map: Map<String, Value>) -> Result<Self> {
        check_keys(&map)?;
        let value = Value::Object(map);
        serde_path_to_error::deserialize(&value).map_err(|err| {
            let field = err.path().to_string();
            let expected = expectation(&field).unwrap_or("another value");
            let message = match value.get(&field) {
                Some(value) => format!("expected {expected}, got {}", describe(value)),
                None => format!("expected {expected}: {}", err.inner()),
            };
            Error::validation(field, message)
        })
    }
}

impl IntoConfig for ConfigSpec {
    fn into_config(self) -> Result<Config> {
        Config::from_spec(self)
    }
}
