//! The keys a [`super::ConfigSpec`] accepts, checked by name before any value is read, so a typo
//! is reported as the caller spelled it, with the key they probably meant.

use modelyard_core::{Error, Result};
use serde_json::{Map, Value};

/// Every key, in the order of [`super::ConfigSpec`]'s fields, with what its value must be.
pub(super) const KEYS: &[(&str, &str)] = &[
    ("store", "a store URL such as sled://./modelyard-data or mongodb://host/db"),
    ("cache", "a Redis URL such as redis://host:6379/0, or \"memory\""),
    ("cache_namespace", "a string"),
    ("jwt_secret", "a string of at least 32 bytes"),
    ("workers", "a whole number of training workers, 0 to 64"),
    ("lease_secs", "a number of seconds above 0"),
    ("heartbeat_secs", "a number of seconds above 0, less than lease_secs"),
    ("poll_interval_ms", "a whole number of milliseconds, at least 1"),
    ("max_attempts", "a whole number, at least 1"),
    ("max_upload_bytes", "a whole number of bytes, at least 1"),
    ("max_columns", "a whole number, at least 1"),
    ("max_field_bytes", "a whole number of bytes, at least 1"),
    ("max_rows", "a whole number, at least 1"),
    ("quota_bytes_per_user", "a whole number of bytes, at least 1"),
    ("quota_files_per_user", "a whole number, at least 1"),
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

/// Refuses the first key of `map` that is not one of [`KEYS`], naming it.
pub(super) fn check_keys(map: &Map<String, Value>) -> Result<()> {
    match map.keys().find(|key| !KEYS.iter().any(|(known, _)| known == key)) {
        None => Ok(()),
        Some(unknown) => Err(Error::validation(unknown.as_str(), unknown_key_message(unknown))),
    }
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

fn unknown_key_message(unknown: &str) -> String {
    let known = KEYS.iter().map(|(key, _)| *key).collect::<Vec<_>>().join(", ");
    match closest_key(unknown) {
        Some(key) => format!("unknown setting; did you mean {key:?}? Known settings: {known}"),
        None => format!("unknown setting; known settings: {known}"),
    }
}

/// The known key `unknown` most likely meant: the same letters in another case or separator
/// (`jwtSecret`, `JWT-SECRET`), or a typo at most two edits away (`wokers`).
fn closest_key(unknown: &str) -> Option<&'static str> {
    let unknown = normalise(unknown);
    KEYS.iter()
        .map(|(key, _)| (edit_distance(&unknown, &normalise(key)), *key))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, key)| key)
}

fn normalise(key: &str) -> Vec<char> {
    key.chars().filter(|c| !matches!(c, '_' | '-')).flat_map(char::to_lowercase).collect()
}

/// Levenshtein distance: insertions, deletions and substitutions.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
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

    #[test]
    fn a_typo_or_another_spelling_suggests_the_key_meant() {
        assert_eq!(closest_key("wokers"), Some("workers"));
        assert_eq!(closest_key("jwtSecret"), Some("jwt_secret"));
        assert_eq!(closest_key("LEASE-SECS"), Some("lease_secs"));
        assert_eq!(closest_key("colour"), None);
    }
}
