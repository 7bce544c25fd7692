//! JavaScript arguments as the facade's inputs: the one place each is converted.

use modelyard::{
    ConfigSpec, Error, ListOptions, ModelRequest, PredictOptions, TrainParams, Upload,
};
use napi::bindgen_prelude::{Function, JsObjectValue, Uint8Array};
use napi::{Either, Env, JSON, Unknown};
use serde_json::{Map, Value};

use crate::errors::validation;

/// An id given as a string; a malformed one is not found, as an unknown one is.
pub fn id<T: std::str::FromStr<Err = Error>>(value: &str) -> modelyard::Result<T> {
    value.parse()
}

/// `open(url)` or `open({ store, cache, jwtSecret, workers, ... })`: the options are
/// `ConfigSpec`'s settings with camelCase keys.
pub fn spec(target: Value) -> modelyard::Result<ConfigSpec> {
    let options = match target {
        Value::String(url) => {
            return ConfigSpec::from_map(Map::from_iter([("store".into(), url.into())]));
        }
        Value::Object(options) => options,
        _ => return Err(validation("options", "expected a store URL or an options object")),
    };
    let snake: Map<String, Value> = options
        .into_iter()
        .map(|(key, value)| (modelyard::case::snake_case(&key), value))
        .collect();
    // Its errors name snake_case keys; errors.rs puts every name back in camelCase.
    ConfigSpec::from_map(snake)
}

/// An upload from a file path or from bytes (`Buffer` or `Uint8Array`, copied once).
pub fn upload(name: Option<&str>, source: Either<String, Uint8Array>) -> Upload {
    match source {
        Either::A(path) => Upload::path(path),
        Either::B(bytes) => {
            Upload::bytes(format!("{}.csv", name.unwrap_or("data")), bytes.to_vec())
        }
    }
}

/// `createModel({ name, datasetId, target, features?, task?, layers? })`.
pub fn model_request(request: Value) -> modelyard::Result<ModelRequest> {
    modelyard::json::from_value(request)
}

/// `train(modelId, { epochs, batchSize, ... })`: every setting left out keeps its default.
pub fn train_params(params: Option<Map<String, Value>>) -> modelyard::Result<TrainParams> {
    TrainParams::from_json_map(params.unwrap_or_default())
}

/// A caller's argument as JSON text, by V8's own `JSON.stringify`, for serde to read on the
/// runtime: one call into V8 on the JS thread instead of a napi call per property and value. What
/// JSON cannot hold (a `BigInt`, a cycle, `undefined`) is a `Validation` error naming `field`.
pub fn json_text(env: &Env, field: &str, value: Unknown<'_>) -> modelyard::Result<String> {
    let json: JSON<'_> = env
        .get_global()
        .and_then(|global| global.get_named_property_unchecked("JSON"))
        .map_err(|err| modelyard::Error::internal(err.reason))?;
    json.stringify(value).map_err(|_| {
        validation(field, "expected JSON data (no BigInt, function, undefined or cycle)")
    })
}

/// Reads JSON text with V8's own `JSON.parse`: for results of many values (a thousand
/// predictions, a preview) several times faster than a napi call per property.
pub fn parse_json<'env>(env: &'env Env, text: String) -> napi::Result<Unknown<'env>> {
    let json: JSON<'env> = env.get_global()?.get_named_property_unchecked("JSON")?;
    let parse: Function<'env, String, Unknown<'env>> =
        json.get_named_property_unchecked("parse")?;
    parse.call(text)
}

/// `predict(modelId, rows)`: an array of objects keyed by column name, as JSON text.
pub fn rows(json: &str) -> modelyard::Result<modelyard::Records> {
    modelyard::json::field_from_slice("rows", json.as_bytes())
}

/// `predict(modelId, rows, { allowMissing })`.
pub fn predict_options(options: Option<Map<String, Value>>) -> modelyard::Result<PredictOptions> {
    PredictOptions::from_json_map(options.unwrap_or_default())
}

/// `datasets({ limit, after })` and the other lists: neither asks for everything.
pub fn list_options(options: Option<Map<String, Value>>) -> modelyard::Result<ListOptions> {
    ListOptions::from_json_map(options.unwrap_or_default())
}

/// A `limit` or similar count: a whole number >= 0.
pub fn count(field: &str, value: f64) -> modelyard::Result<usize> {
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= usize::MAX as f64 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(value as usize)
    } else {
        Err(validation(field, format!("expected a whole number >= 0, got {value}")))
    }
}
