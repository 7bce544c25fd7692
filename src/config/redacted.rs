//! Debug output of the settings that never shows a secret: the token secret is replaced by
//! `<redacted>`, and so is the password of any URL (Redis, MongoDB).

use std::fmt;

use super::{Config, ConfigSpec, StoreUrl};

const REDACTED: &str = "<redacted>";

/// Prints `<redacted>` in place of a value.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Prints a URL, quoted, with its password redacted.
struct RedactedUrl<'a>(&'a str);

impl fmt::Debug for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&modelyard_core::text::redact_url(self.0), f)
    }
}

/// Prints only whether a value is there.
struct Presence(bool);

impl fmt::Debug for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0 { "present" } else { "absent" })
    }
}

impl fmt::Debug for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&RedactedUrl(self.as_str()), f)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be forgotten here.
        let Config {
            store,
            jwt_secret,
            auth,
            auth_settings,
            datasets,
            training,
            loaded_models_bytes,
            max_models_per_user,
            cache_policy,
            trainer,
            cache,
            cache_namespace,
            blobs,
        } = self;
        f.debug_struct("Config")
            .field("store", store)
            .field("jwt_secret", &jwt_secret.as_ref().map(|_| Redacted))
            .field("auth", auth)
            .field("auth_settings", auth_settings)
            .field("datasets", datasets)
            .field("training", training)
            .field("loaded_models_bytes", loaded_models_bytes)
            .field("max_models_per_user", max_models_per_user)
            .field("cache_policy", cache_policy)
            .field("trainer", &Presence(trainer.is_some()))
            .field("cache", &cache.as_deref().map(RedactedUrl))
            .field("cache_namespace", cache_namespace)
            .field("blobs", blobs)
            .finish()
    }
}

impl fmt::Debug for ConfigSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Destructured so that a new field cannot be forgotten here.
        let ConfigSpec {
            store,
            cache,
            cache_namespace,
            blobs,
            jwt_secret,
            workers,
            lease_secs,
            heartbeat_secs,
            poll_interval_ms,
            max_attempts,
            max_model_params,
            max_training_bytes,
            max_run_row_epochs,
            max_active_runs_per_user,
            max_runs_per_user,
            max_notifications_per_user,
            max_models_per_user,
            loaded_models_bytes,
            max_upload_bytes,
            max_columns,
            max_field_bytes,
            max_rows,
            quota_bytes_per_user,
            quota_files_per_user,
            max_concurrent_uploads_per_user,
            preview_max_rows,
            cache_key_prefix,
            user_cache_ttl_secs,
            model_cache_ttl_secs,
            training_cache_ttl_secs,
            token_ttl_secs,
            jwt_issuer,
            jwt_audience,
            login_max_failures,
            login_window_secs,
        } = self;
        f.debug_struct("ConfigSpec")
            .field("store", &store.as_deref().map(RedactedUrl))
            .field("cache", &cache.as_deref().map(RedactedUrl))
            .field("cache_namespace", cache_namespace)
            .field("blobs", blobs)
            .field("jwt_secret", &jwt_secret.as_ref().map(|_| Redacted))
            .field("workers", workers)
            .field("lease_secs", lease_secs)
            .field("heartbeat_secs", heartbeat_secs)
            .field("poll_interval_ms", poll_interval_ms)
            .field("max_attempts", max_attempts)
            .field("max_model_params", max_model_params)
            .field("max_training_bytes", max_training_bytes)
            .field("max_run_row_epochs", max_run_row_epochs)
            .field("max_active_runs_per_user", max_active_runs_per_user)
            .field("max_runs_per_user", max_runs_per_user)
            .field("max_notifications_per_user", max_notifications_per_user)
            .field("max_models_per_user", max_models_per_user)
            .field("loaded_models_bytes", loaded_models_bytes)
            .field("max_upload_bytes", max_upload_bytes)
            .field("max_columns", max_columns)
            .field("max_field_bytes", max_field_bytes)
            .field("max_rows", max_rows)
            .field("quota_bytes_per_user", quota_bytes_per_user)
            .field("quota_files_per_user", quota_files_per_user)
            .field("max_concurrent_uploads_per_user", max_concurrent_uploads_per_user)
            .field("preview_max_rows", preview_max_rows)
            .field("cache_key_prefix", cache_key_prefix)
            .field("user_cache_ttl_secs", user_cache_ttl_secs)
            .field("model_cache_ttl_secs", model_cache_ttl_secs)
            .field("training_cache_ttl_secs", training_cache_ttl_secs)
            .field("token_ttl_secs", token_ttl_secs)
            .field("jwt_issuer", jwt_issuer)
            .field("jwt_audience", jwt_audience)
            .field("login_max_failures", login_max_failures)
            .field("login_window_secs", login_window_secs)
            .finish()
    }
}
