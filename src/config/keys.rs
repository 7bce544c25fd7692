//! The keys a [`super::ConfigSpec`] accepts, checked by name before any value is read, so a typo
//! is reported as the caller spelled it, with the key they probably meant.

use modelyard_core::Result;
use serde_json::{Map, Value};

/// Every key, in the order of [`super::ConfigSpec`]'s fields, with what its value must be.
pub(super) const KEYS: &[(&str, &str)] = &[
    ("store", "a store URL such as sled://./modelyard-data or mongodb://host/db"),
    ("cache", "a Redis URL such as redis://host:6379/0, or \"memory\""),
    ("cache_namespace", "a string"),
    ("blobs", "an S3 location such as s3://bucket/prefix?endpoint=http://host:8333"),
    ("jwt_secret", "a string of at least 32 bytes"),
    ("workers", "a whole number of training workers, 0 to 64"),
    ("lease_secs", "a number of seconds above 0"),
    ("heartbeat_secs", "a number of seconds above 0, less than lease_secs"),
    ("poll_interval_ms", "a whole number of milliseconds, at least 1"),
    ("max_attempts", "a whole number, at least 1"),
    ("max_model_params", "a whole number of parameters, at least 1"),
    ("max_training_bytes", "a whole number of bytes, at least 1"),
    ("max_run_row_epochs", "a whole number of rows, at least 1"),
    ("max_active_runs_per_user", "a whole number of runs, at least 1"),
    ("max_runs_per_user", "a whole number of runs, at least 1"),
    ("max_notifications_per_user", "a whole number of notifications, at least 1"),
    ("max_models_per_user", "a whole number of models, at least 1"),
    ("loaded_models_bytes", "a whole number of bytes, 0 to keep no model loaded"),
    ("max_upload_bytes", "a whole number of bytes, at least 1"),
    ("max_columns", "a whole number, at least 1"),
    ("max_field_bytes", "a whole number of bytes, at least 1"),
    ("max_rows", "a whole number, at least 1"),
    ("quota_bytes_per_user", "a whole number of bytes, at least 1"),
    ("quota_files_per_user", "a whole number, at least 1"),
    ("max_concurrent_uploads_per_user", "a whole number, at least 1"),
    ("preview_max_rows", "a whole number, at least 1"),
    ("cache_key_prefix", "a string"),
    ("user_cache_ttl_secs", "a number of seconds above 0"),
    ("model_cache_ttl_secs", "a number of seconds above 0"),
    ("training_cache_ttl_secs", "a number of seconds above 0"),
    ("token_ttl_secs", "a number of seconds, at least 1"),
    ("jwt_issuer", "a non-empty string"),
    ("jwt_audience", "a non-empty string"),
    ("login_max_failures", "a whole number, at least 1"),
    ("login_window_secs", "a number of seconds, at least 1"),
];

/// Refuses the first key of `map` that is not one of [`KEYS`], naming it and the key it most
/// likely meant.
pub(super) fn check_keys(map: &Map<String, Value>) -> Result<()> {
    let known: Vec<&str> = KEYS.iter().map(|(key, _)| *key).collect();
    modelyard_core::json::refuse_unknown(map, &known)
}

/// What a key's value must be, for the error about a value of the wrong type.
pub(super) fn expectation(key: &str) -> Option<&'static str> {
    KEYS.iter().find(|(known, _)| *known == key).map(|(_, expected)| *expected)
}

/// What a JSON value is, for error messages. Strings are not echoed: one could be a secret.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => format!("the number {number}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_known_keys_are_exactly_the_spec_fields_in_order() {
        // serde's own unknown-field error lists the derived fields: the table must match it.
        let err = serde_json::from_str::<super::super::ConfigSpec>(r#"{"not a key": 1}"#)
            .err()
            .unwrap()
            .to_string();
        let listed = KEYS.iter().map(|(key, _)| format!("`{key}`")).collect::<Vec<_>>();
        let expected = format!("unknown field `not a key`, expected one of {}", listed.join(", "));
        assert!(err.starts_with(&expected), "{err}");
    }
}
