//! Reading caller-written JSON (HTTP bodies, Python keyword arguments, JavaScript option
//! objects) into typed values, with errors that name the field exactly as the caller wrote it.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Error, Result};

/// Deserialises a JSON document; a bad field is a `Validation` error naming its path
/// (`layers[0].units`), a malformed document one naming `body`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|err| path_error(None, &err))
}

/// Deserialises a JSON value; a bad field is a `Validation` error naming its path.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|err| path_error(None, &err))
}

/// Deserialises the value of the field `field`; errors name `field` (and the path inside it).
pub fn field_from_value<T: DeserializeOwned>(field: &str, value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|err| path_error(Some(field), &err))
}

/// Deserialises the JSON document `bytes`, the value of the field `field`; errors name `field`
/// (and the path inside it).
pub fn field_from_slice<T: DeserializeOwned>(field: &str, bytes: &[u8]) -> Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|err| path_error(Some(field), &err))
}

fn path_error<E: std::fmt::Display>(
    parent: Option<&str>,
    err: &serde_path_to_error::Error<E>,
) -> Error {
    // A segment serde could not name (`?`: inside an untagged enum, or after a syntax error)
    // ends the path: the field is the deepest part the caller can recognise.
    let full = err.path().to_string();
    let path = match full.find('?') {
        Some(at) => full[..at].trim_end_matches('.'),
        None => &full,
    };
    let path = if path.is_empty() { "." } else { path };
    let field = match (parent, path) {
        (None, ".") => "body".to_owned(),
        (None, path) => path.to_owned(),
        (Some(parent), ".") => parent.to_owned(),
        (Some(parent), path) if path.starts_with('[') => format!("{parent}{path}"),
        (Some(parent), path) => format!("{parent}.{path}"),
    };
    Error::validation(field, err.inner().to_string())
}

/// Refuses a key of `fields` that is not in `known`, naming it as the caller wrote it and
/// suggesting the key it most likely meant: a misspelt setting must never be silently ignored.
pub fn refuse_unknown(fields: &Map<String, Value>, known: &[&str]) -> Result<()> {
    let Some(unknown) = fields.keys().find(|key| !known.contains(&key.as_str())) else {
        return Ok(());
    };
    let listed = known.join(", ");
    let message = match closest(unknown, known) {
        Some(near) => format!("unknown setting; did you mean `{near}`? Known settings: {listed}"),
        None => format!("unknown setting; known settings: {listed}"),
    };
    Err(Error::validation(unknown.clone(), message))
}

/// The known key `key` most likely meant: the same letters in another case or separator
/// (`jwtSecret` for `jwt_secret`, `batch_size` for `batchSize`), or a typo at most two edits
/// away (`wokers`).
pub fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let key = normalise(key);
    known
        .iter()
        .map(|k| (edit_distance(&key, &normalise(k)), *k))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
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
    use crate::{TrainParams, TrainRequest};
    use serde_json::json;

    #[test]
    fn a_misspelt_setting_is_refused_with_a_suggestion() {
        let err = TrainParams::from_json_map(json!({ "epocs": 3 }).as_object().unwrap().clone())
            .unwrap_err();
        assert_eq!(err.field(), Some("epocs"));
        assert!(err.to_string().contains("`epochs`"), "{err}");
    }

    #[test]
    fn a_typo_or_another_spelling_suggests_the_key_meant() {
        let known = ["workers", "jwt_secret", "lease_secs", "batchSize"];
        assert_eq!(super::closest("wokers", &known), Some("workers"));
        assert_eq!(super::closest("jwtSecret", &known), Some("jwt_secret"));
        assert_eq!(super::closest("LEASE-SECS", &known), Some("lease_secs"));
        assert_eq!(super::closest("batch_size", &known), Some("batchSize"));
        assert_eq!(super::closest("colour", &known), None);
    }

    #[test]
    fn a_bad_value_names_its_field_and_path() {
        let err = TrainRequest::from_json_value(json!({
            "modelId": uuid::Uuid::now_v7(), "earlyStopping": { "patience": "soon" }
        }))
        .unwrap_err();
        assert_eq!(err.field(), Some("earlyStopping.patience"));
        let err =
            TrainRequest::from_json_value(json!({ "modelId": { "$where": "1" } })).unwrap_err();
        assert_eq!(err.field(), Some("modelId"));
        let err = TrainRequest::from_json_value(json!({ "epochs": 3 })).unwrap_err();
        assert_eq!(err.field(), Some("modelId"));
    }

    #[test]
    fn omitted_settings_take_the_defaults() {
        let id = uuid::Uuid::now_v7();
        let request = TrainRequest::from_json_value(json!({ "modelId": id, "epochs": 7 })).unwrap();
        assert_eq!(request.params, TrainParams { epochs: 7, ..TrainParams::default() });
        assert_eq!(request.model_id.to_string(), id.to_string());
    }
}
