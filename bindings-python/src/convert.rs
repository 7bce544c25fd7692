//! Python arguments as the facade's inputs: the one place each is converted, for the
//! synchronous and the asyncio flavours alike.

use std::path::PathBuf;

use modelyard::{
    ConfigSpec, LayerSpec, ModelRequest, Optimizer, Records, Task, TrainParams, Upload,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Map, Value};

use crate::errors::{IntoPyResult, validation};

/// An id given as a string; a malformed one is not found, as an unknown one is.
pub fn id<T: std::str::FromStr<Err = modelyard::Error>>(value: &str) -> PyResult<T> {
    value.parse().into_py_result()
}

/// A Python value as JSON, or a `ValidationError` naming `field`.
pub fn json(field: &str, value: &Bound<'_, PyAny>) -> PyResult<Value> {
    pythonize::depythonize(value)
        .map_err(|err| validation(field, format!("not a plain value: {err}")))
}

/// A `timeout=` in seconds as a duration; negative, NaN or huge is a `ValidationError`.
pub fn timeout(seconds: Option<f64>) -> PyResult<Option<std::time::Duration>> {
    seconds
        .map(std::time::Duration::try_from_secs_f64)
        .transpose()
        .map_err(|err| validation("timeout", format!("not a number of seconds: {err}")))
}

/// `open(url, **settings)`: the settings as a `ConfigSpec`, the URL as its `store`.
pub fn spec(url: Option<String>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<ConfigSpec> {
    let mut map = Map::new();
    if let Some(settings) = settings {
        for (key, value) in settings.iter() {
            let key: String = key.extract()?;
            let value = json(&key, &value)?;
            map.insert(key, value);
        }
    }
    if let Some(url) = url {
        if map.contains_key("store") {
            return Err(validation("store", "given twice: as the URL and as store="));
        }
        map.insert("store".into(), url.into());
    }
    ConfigSpec::from_map(map).into_py_result()
}

/// `upload_dataset`'s source: exactly one of `path`, `data` (bytes or str) or `frame` (a
/// pandas DataFrame, written with `to_csv(index=False)`).
pub fn upload(
    py: Python<'_>,
    name: Option<&str>,
    path: Option<PathBuf>,
    data: Option<&Bound<'_, PyAny>>,
    frame: Option<&Bound<'_, PyAny>>,
) -> PyResult<Upload> {
    let filename = format!("{}.csv", name.unwrap_or("data"));
    Ok(match (path, data, frame) {
        (Some(path), None, None) => Upload::path(path),
        (None, Some(data), None) => match data.extract::<Vec<u8>>() {
            Ok(bytes) => Upload::bytes(filename, bytes),
            Err(_) => Upload::bytes(filename, data.extract::<String>()?.into_bytes()),
        },
        (None, None, Some(frame)) => {
            let kwargs = PyDict::new(py);
            kwargs.set_item("index", false)?;
            let csv: String = frame.call_method("to_csv", (), Some(&kwargs))?.extract()?;
            Upload::bytes(filename, csv.into_bytes())
        }
        _ => return Err(validation("data", "give exactly one of path=, data= or frame=")),
    })
}

/// `create_model`'s arguments as the facade's request.
pub fn model_request(
    name: String,
    dataset_id: &str,
    target: String,
    features: Option<Vec<String>>,
    task: Option<String>,
    layers: Option<&Bound<'_, PyAny>>,
) -> PyResult<ModelRequest> {
    let task: Option<Task> = task
        .map(|task| modelyard::json::field_from_value("task", Value::String(task)))
        .transpose()
        .into_py_result()?;
    let layers: Option<Vec<LayerSpec>> = layers
        .map(|layers| {
            modelyard::json::field_from_value("layers", json("layers", layers)?).into_py_result()
        })
        .transpose()?;
    Ok(ModelRequest { name, dataset_id: id(dataset_id)?, target, features, task, layers })
}

/// `train`'s keyword arguments; every one left out keeps its `TrainParams::default`.
#[derive(Default)]
pub struct TrainArgs<'a, 'py> {
    pub epochs: Option<u32>,
    pub batch_size: Option<u32>,
    pub learning_rate: Option<f64>,
    pub optimizer: Option<String>,
    pub momentum: Option<f64>,
    pub weight_decay: Option<f64>,
    pub validation_split: Option<f64>,
    pub seed: Option<u64>,
    /// A patience in epochs, or `{"patience": 5, "min_delta": 0.001}`.
    pub early_stopping: Option<&'a Bound<'py, PyAny>>,
}

impl TrainArgs<'_, '_> {
    /// The facade's parameters; a bad value is a `ValidationError` naming the keyword.
    pub fn params(self) -> PyResult<TrainParams> {
        let mut params = TrainParams::default();
        params.epochs = self.epochs.unwrap_or(params.epochs);
        params.batch_size = self.batch_size.unwrap_or(params.batch_size);
        params.learning_rate = self.learning_rate.unwrap_or(params.learning_rate);
        params.momentum = self.momentum.unwrap_or(params.momentum);
        params.weight_decay = self.weight_decay.unwrap_or(params.weight_decay);
        params.validation_split = self.validation_split.unwrap_or(params.validation_split);
        params.seed = self.seed.unwrap_or(params.seed);
        if let Some(optimizer) = self.optimizer {
            params.optimizer = modelyard::json::field_from_value::<Optimizer>(
                "optimizer",
                Value::String(optimizer),
            )
            .into_py_result()?;
        }
        if let Some(early_stopping) = self.early_stopping {
            let mut value = json("early_stopping", early_stopping)?;
            if value.is_number() {
                value = serde_json::json!({ "patience": value });
            }
            // The facade's serde names are camelCase; Python's keyword is snake_case.
            if let Some(fields) = value.as_object_mut()
                && let Some(min_delta) = fields.remove("min_delta")
            {
                fields.insert("minDelta".into(), min_delta);
            }
            params.early_stopping =
                Some(modelyard::json::field_from_value("early_stopping", value).into_py_result()?);
        }
        Ok(params)
    }
}

/// Rows to predict, as given: records, or a 2-D array whose columns are the model's features
/// in order (named once the model is known).
pub enum Rows {
    Records(Records),
    Matrix(Vec<Vec<Value>>),
}

impl Rows {
    /// A DataFrame through pandas' own JSON writer (NaN as missing), a 2-D array as its rows, a
    /// list of dicts as it is.
    pub fn from_py(py: Python<'_>, rows: &Bound<'_, PyAny>) -> PyResult<Self> {
        // The common case first, and without probing: `hasattr` on a list raises and swallows
        // an AttributeError per probe, a good part of a one-row predict's cost.
        if rows.is_instance_of::<PyList>() {
            return pythonize::depythonize(rows)
                .map(Self::Records)
                .map_err(|err| validation("rows", format!("expected a list of dicts: {err}")));
        }
        if rows.hasattr("to_json")? && rows.hasattr("columns")? {
            let kwargs = PyDict::new(py);
            kwargs.set_item("orient", "records")?;
            let records: String = rows.call_method("to_json", (), Some(&kwargs))?.extract()?;
            return serde_json::from_str(&records)
                .map(Self::Records)
                .map_err(|err| validation("rows", format!("the DataFrame's JSON: {err}")));
        }
        if rows.hasattr("ndim")? && rows.hasattr("tolist")? {
            if rows.getattr("ndim")?.extract::<usize>()? != 2 {
                return Err(validation("rows", "a numpy array of rows must be 2-D"));
            }
            return pythonize::depythonize(&rows.call_method0("tolist")?)
                .map(Self::Matrix)
                .map_err(|err| validation("rows", format!("not an array of plain values: {err}")));
        }
        pythonize::depythonize(rows).map(Self::Records).map_err(|err| {
            validation(
                "rows",
                format!("expected a list of dicts, a DataFrame or a 2-D array: {err}"),
            )
        })
    }

    /// Whether the model's feature names are needed to read these rows.
    pub fn needs_features(&self) -> bool {
        matches!(self, Self::Matrix(_))
    }

    /// The rows as records; `features` names a matrix's columns.
    pub fn into_records(self, features: &[String]) -> modelyard::Result<Records> {
        match self {
            Self::Records(records) => Ok(records),
            Self::Matrix(matrix) => Records::from_matrix(features, &matrix),
        }
    }
}

/// Class probabilities as a list of rows, columns in the order of the sorted class labels (the
/// order of each prediction's `probabilities`), for `numpy.asarray`.
pub fn probabilities(predictions: &[modelyard::Prediction]) -> PyResult<Vec<Vec<f64>>> {
    predictions
        .iter()
        .map(|prediction| match prediction {
            modelyard::Prediction::Class { probabilities, .. } => {
                Ok(probabilities.values().copied().collect())
            }
            modelyard::Prediction::Value { .. } => Err(validation(
                "model_id",
                "predict_proba needs a classification model; this one is a regression",
            )),
        })
        .collect()
}
