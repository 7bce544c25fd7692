//! [`Config::from_spec`]: a [`ConfigSpec`]'s defaults applied and every value checked, each error
//! naming the spec's key.

use std::time::Duration;

use modelyard_core::auth::{AuthConfig, JwtKey};
use modelyard_core::cached::CachePolicy;
use modelyard_core::datasets::DatasetConfig;
use modelyard_core::models::CostLimits;
use modelyard_core::training::TrainingConfig;
use modelyard_core::{Error, Result};

use super::{AuthSettings, Config, ConfigSpec};

/// The store of a spec that names none.
const DEFAULT_STORE: &str = "sled://./modelyard-data";

/// Most training workers one process may run: each trains on its own thread.
const MAX_WORKERS: usize = 64;

/// Longest duration accepted (ten years): anything longer is surely a slip of the keyboard.
const MAX_SECONDS: f64 = 10.0 * 365.25 * 24.0 * 3600.0;

impl Config {
    /// Settings from a [`ConfigSpec`]: defaults for what it leaves out, every value checked. An
    /// error is a `Validation` naming the spec's key (`heartbeat_secs`, `jwt_secret`).
    pub fn from_spec(spec: ConfigSpec) -> Result<Self> {
        let mut config = Config::new(spec.store.as_deref().unwrap_or(DEFAULT_STORE))?;
        config.cache = cache_url(spec.cache.as_deref())?;
        if let Some(namespace) = &spec.cache_namespace {
            config.cache_namespace = not_blank("cache_namespace", namespace)?;
        }
        config.blobs = blobs_url(spec.blobs.as_deref())?;
        config.training = training(&spec)?;
        config.datasets = datasets(&spec)?;
        if let Some(bytes) = spec.loaded_models_bytes {
            config.loaded_models_bytes = bytes;
        }
        if let Some(models) = at_least_one("max_models_per_user", spec.max_models_per_user)? {
            config.max_models_per_user = models;
        }
        config.cache_policy = cache_policy(&spec)?;
        config.auth_settings = auth_settings(&spec)?;
        if let Some(secret) = &spec.jwt_secret {
            let key = JwtKey::hs256(secret.as_bytes())?;
            if !config.auth_settings.is_empty() {
                config.auth = Some(config.auth_settings.apply(AuthConfig::new(key)));
            }
            config.jwt_secret = Some(secret.as_bytes().to_vec());
        }
        Ok(config)
    }
}

/// `None` for the record store's own blobs (`""`); the URL of a registered blob store (such as
/// `s3://bucket/prefix`) otherwise, checked by its backend.
fn blobs_url(blobs: Option<&str>) -> Result<Option<String>> {
    let url = blobs.map(str::trim).unwrap_or_default();
    if url.is_empty() {
        return Ok(None);
    }
    crate::backends::check(crate::backends::Role::Blobs, url)?;
    Ok(Some(url.to_owned()))
}

/// `None` for the in-process cache (`""`, `"memory"`); the URL of a registered cache (Redis:
/// `redis://host:6379/0`, `rediss://...`) otherwise, checked by its backend.
fn cache_url(cache: Option<&str>) -> Result<Option<String>> {
    let url = cache.map(str::trim).unwrap_or_default();
    if url.is_empty() || url.eq_ignore_ascii_case("memory") {
        return Ok(None);
    }
    crate::backends::check(crate::backends::Role::Cache, url)?;
    Ok(Some(url.to_owned()))
}

fn training(spec: &ConfigSpec) -> Result<TrainingConfig> {
    let defaults = TrainingConfig::default();
    let workers = spec.workers.unwrap_or(defaults.workers);
    if workers > MAX_WORKERS {
        return Err(Error::validation(
            "workers",
            format!("must be at most {MAX_WORKERS} per process, got {workers}"),
        ));
    }
    let lease = seconds("lease_secs", spec.lease_secs, Floor::AboveZero)?;
    let heartbeat = match (seconds("heartbeat_secs", spec.heartbeat_secs, Floor::AboveZero)?, lease)
    {
        (Some(heartbeat), _) => heartbeat,
        // As the server always did: three renewals per lease.
        (None, Some(lease)) => lease / 3,
        (None, None) => defaults.heartbeat,
    };
    let lease = lease.unwrap_or(defaults.lease);
    if heartbeat >= lease {
        return Err(Error::validation(
            "heartbeat_secs",
            format!(
                "the heartbeat ({} s) must be shorter than the lease (lease_secs, {} s)",
                heartbeat.as_secs_f64(),
                lease.as_secs_f64()
            ),
        ));
    }
    let poll_interval = at_least_one("poll_interval_ms", spec.poll_interval_ms)?
        .map_or(defaults.poll_interval, Duration::from_millis);
    Ok(TrainingConfig {
        workers,
        lease,
        heartbeat,
        poll_interval,
        max_attempts: at_least_one("max_attempts", spec.max_attempts)?
            .unwrap_or(defaults.max_attempts),
        cost_limits: cost_limits(spec)?,
        max_active_runs_per_user: at_least_one(
            "max_active_runs_per_user",
            spec.max_active_runs_per_user,
        )?
        .unwrap_or(defaults.max_active_runs_per_user),
        max_runs_per_user: at_least_one("max_runs_per_user", spec.max_runs_per_user)?
            .unwrap_or(defaults.max_runs_per_user),
        max_notifications_per_user: at_least_one(
            "max_notifications_per_user",
            spec.max_notifications_per_user,
        )?
        .unwrap_or(defaults.max_notifications_per_user),
    })
}

fn cost_limits(spec: &ConfigSpec) -> Result<CostLimits> {
    let defaults = CostLimits::default();
    Ok(CostLimits {
        max_params: at_least_one("max_model_params", spec.max_model_params)?
            .unwrap_or(defaults.max_params),
        max_training_bytes: at_least_one("max_training_bytes", spec.max_training_bytes)?
            .unwrap_or(defaults.max_training_bytes),
        max_row_epochs: at_least_one("max_run_row_epochs", spec.max_run_row_epochs)?
            .unwrap_or(defaults.max_row_epochs),
    })
}

fn datasets(spec: &ConfigSpec) -> Result<DatasetConfig> {
    let defaults = DatasetConfig::default();
    Ok(DatasetConfig {
        max_upload_bytes: at_least_one("max_upload_bytes", spec.max_upload_bytes)?
            .unwrap_or(defaults.max_upload_bytes),
        max_columns: at_least_one("max_columns", spec.max_columns)?.unwrap_or(defaults.max_columns),
        max_field_bytes: at_least_one("max_field_bytes", spec.max_field_bytes)?
            .unwrap_or(defaults.max_field_bytes),
        max_rows: at_least_one("max_rows", spec.max_rows)?.or(defaults.max_rows),
        quota_bytes_per_user: at_least_one("quota_bytes_per_user", spec.quota_bytes_per_user)?
            .unwrap_or(defaults.quota_bytes_per_user),
        quota_files_per_user: at_least_one("quota_files_per_user", spec.quota_files_per_user)?
            .unwrap_or(defaults.quota_files_per_user),
        max_concurrent_uploads_per_user: at_least_one(
            "max_concurrent_uploads_per_user",
            spec.max_concurrent_uploads_per_user,
        )?
        .unwrap_or(defaults.max_concurrent_uploads_per_user),
        preview_max_rows: at_least_one("preview_max_rows", spec.preview_max_rows)?
            .unwrap_or(defaults.preview_max_rows),
    })
}

fn cache_policy(spec: &ConfigSpec) -> Result<CachePolicy> {
    let defaults = CachePolicy::default();
    Ok(CachePolicy {
        key_prefix: spec.cache_key_prefix.clone().unwrap_or(defaults.key_prefix),
        user_ttl: seconds("user_cache_ttl_secs", spec.user_cache_ttl_secs, Floor::AboveZero)?
            .unwrap_or(defaults.user_ttl),
        model_ttl: seconds("model_cache_ttl_secs", spec.model_cache_ttl_secs, Floor::AboveZero)?
            .unwrap_or(defaults.model_ttl),
        training_ttl: seconds(
            "training_cache_ttl_secs",
            spec.training_cache_ttl_secs,
            Floor::AboveZero,
        )?
        .unwrap_or(defaults.training_ttl),
        reinvalidate_after: defaults.reinvalidate_after,
    })
}

fn auth_settings(spec: &ConfigSpec) -> Result<AuthSettings> {
    Ok(AuthSettings {
        // The auth service refuses shorter tokens and windows: say so with the spec's key.
        token_ttl: seconds("token_ttl_secs", spec.token_ttl_secs, Floor::OneSecond)?,
        issuer: spec.jwt_issuer.as_deref().map(|s| not_blank("jwt_issuer", s)).transpose()?,
        audience: spec.jwt_audience.as_deref().map(|s| not_blank("jwt_audience", s)).transpose()?,
        login_max_failures: at_least_one("login_max_failures", spec.login_max_failures)?,
        login_window: seconds("login_window_secs", spec.login_window_secs, Floor::OneSecond)?,
    })
}

/// The shortest duration a setting accepts.
#[derive(Clone, Copy)]
enum Floor {
    AboveZero,
    OneSecond,
}

/// A duration from seconds: finite, above its floor, at most [`MAX_SECONDS`].
fn seconds(field: &str, value: Option<f64>, floor: Floor) -> Result<Option<Duration>> {
    let Some(secs) = value else { return Ok(None) };
    let refuse = |message: String| Err(Error::validation(field, message));
    if !secs.is_finite() {
        return refuse(format!("expected a finite number of seconds, got {secs}"));
    }
    match floor {
        Floor::AboveZero if secs <= 0.0 => {
            return refuse(format!("must be above 0 seconds, got {secs}"));
        }
        Floor::OneSecond if secs < 1.0 => {
            return refuse(format!("must be at least 1 second, got {secs}"));
        }
        _ => {}
    }
    if secs > MAX_SECONDS {
        return refuse(format!("must be at most {MAX_SECONDS} seconds (ten years), got {secs}"));
    }
    Ok(Some(Duration::from_secs_f64(secs)))
}

/// A count or size that must be at least 1.
fn at_least_one<T: Copy + PartialOrd + From<u8>>(
    field: &str,
    value: Option<T>,
) -> Result<Option<T>> {
    match value {
        Some(count) if count < T::from(1) => {
            Err(Error::validation(field, "must be at least 1, got 0"))
        }
        other => Ok(other),
    }
}

fn not_blank(field: &str, value: &str) -> Result<String> {
    if value.trim().is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    Ok(value.to_owned())
}
