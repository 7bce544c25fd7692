//! `Session`: a signed-in user's operations, each one call into `modelyard::blocking` with the
//! GIL released, plus the conversion of its arguments and result.

use modelyard::{
    DatasetId, LayerSpec, ModelId, ModelRequest, NotificationId, Optimizer, RunId, Task,
    TrainParams, Upload, blocking,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use serde_json::{Map, Value};

use crate::errors::{IntoPyResult, validation};
use crate::run::Run;
use crate::views::{make_view, to_py};

/// A signed-in user. Every call re-checks the token: after `logout()` the session is refused.
#[pyclass(frozen, module = "modelyard._native")]
pub struct Session {
    session: blocking::Session,
}

impl Session {
    pub fn new(session: blocking::Session) -> Self {
        Self { session }
    }
}

/// An id given as a string; a malformed one is not found, as an unknown one is.
fn id<T: std::str::FromStr<Err = modelyard::Error>>(value: &str) -> PyResult<T> {
    value.parse().into_py_result()
}

/// A Python value as JSON, or a `ValidationError` naming `field`.
fn json(field: &str, value: &Bound<'_, PyAny>) -> PyResult<Value> {
    pythonize::depythonize(value)
        .map_err(|err| validation(field, format!("not a plain value: {err}")))
}

#[pymethods]
impl Session {
    /// The access token, for `Authorization: Bearer <token>` or `yard.session(token)`.
    #[getter]
    fn token(&self) -> &str {
        self.session.token()
    }

    /// Who is signed in (as of sign-in).
    #[getter]
    fn user<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, self.session.user())
    }

    /// When the token expires.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.session.expires_at())
    }

    /// The signed-in user, read now.
    fn me<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let user = py.detach(|| self.session.me()).into_py_result()?;
        to_py(py, &user)
    }

    /// Ends this session: its token is refused from now on.
    fn logout(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.session.logout()).into_py_result()
    }

    /// Changes the password; every token of the user, this one included, stops working.
    fn change_password(&self, py: Python<'_>, current: &str, new: &str) -> PyResult<()> {
        py.detach(|| self.session.change_password(current, new)).into_py_result()
    }

    /// Uploads a CSV dataset from exactly one of `path` (a file), `data` (bytes or str) or
    /// `frame` (a pandas DataFrame, written with `to_csv(index=False)`). Without a name it is
    /// named after the file (`iris` for `iris.csv`).
    #[pyo3(signature = (name=None, *, path=None, data=None, frame=None))]
    fn upload_dataset<'py>(
        &self,
        py: Python<'py>,
        name: Option<&str>,
        path: Option<std::path::PathBuf>,
        data: Option<&Bound<'py, PyAny>>,
        frame: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filename = format!("{}.csv", name.unwrap_or("data"));
        let source = match (path, data, frame) {
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
        };
        let dataset = py.detach(|| self.session.upload_dataset(name, source)).into_py_result()?;
        to_py(py, &dataset)
    }

    /// The user's datasets, newest first.
    fn datasets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let datasets = py.detach(|| self.session.datasets()).into_py_result()?;
        to_py(py, &datasets)
    }

    /// One dataset.
    fn dataset<'py>(&self, py: Python<'py>, dataset_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: DatasetId = id(dataset_id)?;
        to_py(py, &py.detach(|| self.session.dataset(id)).into_py_result()?)
    }

    /// A dataset's first `limit` rows (`Preview.to_frame()` makes a DataFrame of them).
    #[pyo3(signature = (dataset_id, limit=10))]
    fn preview<'py>(
        &self,
        py: Python<'py>,
        dataset_id: &str,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id: DatasetId = id(dataset_id)?;
        to_py(py, &py.detach(|| self.session.preview(id, limit)).into_py_result()?)
    }

    /// Deletes a dataset; `ConflictError` while a model uses it.
    fn delete_dataset(&self, py: Python<'_>, dataset_id: &str) -> PyResult<()> {
        let id: DatasetId = id(dataset_id)?;
        py.detach(|| self.session.delete_dataset(id)).into_py_result()
    }

    /// Creates a model predicting `target` from `features` (default: every usable column);
    /// `task` is `"classification"` or `"regression"` (default: inferred); `layers` a list like
    /// `[{"type": "dense", "units": 32, "activation": "relu"}, {"type": "dropout", "rate": 0.1}]`.
    #[pyo3(signature = (name, dataset_id, target, features=None, task=None, layers=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_model<'py>(
        &self,
        py: Python<'py>,
        name: String,
        dataset_id: &str,
        target: String,
        features: Option<Vec<String>>,
        task: Option<String>,
        layers: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let task: Option<Task> = task
            .map(|task| modelyard::json::field_from_value("task", Value::String(task)))
            .transpose()
            .into_py_result()?;
        let layers: Option<Vec<LayerSpec>> = layers
            .map(|layers| {
                modelyard::json::field_from_value("layers", json("layers", layers)?)
                    .into_py_result()
            })
            .transpose()?;
        let request =
            ModelRequest { name, dataset_id: id(dataset_id)?, target, features, task, layers };
        to_py(py, &py.detach(|| self.session.create_model(request)).into_py_result()?)
    }

    /// The user's models, newest first.
    fn models<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &py.detach(|| self.session.models()).into_py_result()?)
    }

    /// One model.
    fn model<'py>(&self, py: Python<'py>, model_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        to_py(py, &py.detach(|| self.session.model(id)).into_py_result()?)
    }

    /// A model's layers, output shapes and parameter counts; `print()` it for a Keras-like table.
    fn summary<'py>(&self, py: Python<'py>, model_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        to_py(py, &py.detach(|| self.session.summary(id)).into_py_result()?)
    }

    /// Deletes a model; `ConflictError` while it trains.
    fn delete_model(&self, py: Python<'_>, model_id: &str) -> PyResult<()> {
        let id: ModelId = id(model_id)?;
        py.detach(|| self.session.delete_model(id)).into_py_result()
    }

    /// Queues a training run; every setting left out keeps its default. `early_stopping` is a
    /// patience in epochs or `{"patience": 5, "min_delta": 0.001}`.
    #[pyo3(signature = (
        model_id, *, epochs=None, batch_size=None, learning_rate=None, optimizer=None,
        momentum=None, weight_decay=None, validation_split=None, seed=None, early_stopping=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        &self,
        py: Python<'_>,
        model_id: &str,
        epochs: Option<u32>,
        batch_size: Option<u32>,
        learning_rate: Option<f64>,
        optimizer: Option<String>,
        momentum: Option<f64>,
        weight_decay: Option<f64>,
        validation_split: Option<f64>,
        seed: Option<u64>,
        early_stopping: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Run> {
        let id: ModelId = id(model_id)?;
        let mut params = TrainParams::default();
        params.epochs = epochs.unwrap_or(params.epochs);
        params.batch_size = batch_size.unwrap_or(params.batch_size);
        params.learning_rate = learning_rate.unwrap_or(params.learning_rate);
        params.momentum = momentum.unwrap_or(params.momentum);
        params.weight_decay = weight_decay.unwrap_or(params.weight_decay);
        params.validation_split = validation_split.unwrap_or(params.validation_split);
        params.seed = seed.unwrap_or(params.seed);
        if let Some(optimizer) = optimizer {
            params.optimizer = modelyard::json::field_from_value::<Optimizer>(
                "optimizer",
                Value::String(optimizer),
            )
            .into_py_result()?;
        }
        if let Some(early_stopping) = early_stopping {
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
        let run = py.detach(|| self.session.train(id, params)).into_py_result()?;
        Ok(Run::new(run))
    }

    /// The user's runs, newest first.
    fn runs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &py.detach(|| self.session.runs()).into_py_result()?)
    }

    /// A handle on one of the user's runs.
    fn run(&self, py: Python<'_>, run_id: &str) -> PyResult<Run> {
        let id: RunId = id(run_id)?;
        Ok(Run::new(py.detach(|| self.session.run(id)).into_py_result()?))
    }

    /// Predicts `rows`: a list of dicts keyed by column name, a pandas DataFrame, or a 2-D
    /// numpy array whose columns are the model's features in order.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        model_id: &str,
        rows: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        let rows = self.rows(py, id, rows)?;
        to_py(py, &py.detach(|| self.session.predict(id, &rows)).into_py_result()?)
    }

    /// Scores a model on a dataset holding its features and target.
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        model_id: &str,
        dataset_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (model, dataset): (ModelId, DatasetId) = (id(model_id)?, id(dataset_id)?);
        to_py(py, &py.detach(|| self.session.evaluate(model, dataset)).into_py_result()?)
    }

    /// The trained model as a zip archive (`weights.safetensors`, `model.json`): `filename`,
    /// `files` and the bytes in `data`. `ConflictError` before it has been trained.
    fn model_archive<'py>(&self, py: Python<'py>, model_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        let archive = py.detach(|| self.session.model_archive(id)).into_py_result()?;
        let fields = PyDict::new(py);
        fields.set_item("filename", &archive.filename)?;
        fields.set_item("files", to_py(py, &archive.files)?)?;
        fields.set_item("data", PyBytes::new(py, &archive.zip))?;
        make_view(py, "ModelArchive", fields)
    }

    /// The user's notifications, newest first.
    fn notifications<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &py.detach(|| self.session.notifications()).into_py_result()?)
    }

    /// Marks a notification read and returns it.
    fn mark_read<'py>(
        &self,
        py: Python<'py>,
        notification_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id: NotificationId = id(notification_id)?;
        to_py(py, &py.detach(|| self.session.mark_read(id)).into_py_result()?)
    }

    fn __repr__(&self) -> String {
        let user = self.session.user();
        format!("<modelyard.Session user={:?} id={}>", user.username, user.id)
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(pyo3::exceptions::PyTypeError::new_err(
            "a Session is a live handle and cannot be pickled: pickle session.token and call \
             yard.session(token) instead",
        ))
    }
}

impl Session {
    /// `rows` as JSON objects: a DataFrame through pandas' own JSON writer (NaN as missing), a
    /// 2-D array zipped with the model's feature names, a list of dicts as it is.
    fn rows(
        &self,
        py: Python<'_>,
        model: ModelId,
        rows: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Map<String, Value>>> {
        if rows.hasattr("to_json")? && rows.hasattr("columns")? {
            let kwargs = PyDict::new(py);
            kwargs.set_item("orient", "records")?;
            let records: String = rows.call_method("to_json", (), Some(&kwargs))?.extract()?;
            return serde_json::from_str(&records)
                .map_err(|err| validation("rows", format!("the DataFrame's JSON: {err}")));
        }
        if rows.hasattr("ndim")? && rows.hasattr("tolist")? {
            if rows.getattr("ndim")?.extract::<usize>()? != 2 {
                return Err(validation("rows", "a numpy array of rows must be 2-D"));
            }
            let values: Vec<Vec<Value>> = pythonize::depythonize(&rows.call_method0("tolist")?)
                .map_err(|err| {
                    validation("rows", format!("not an array of plain values: {err}"))
                })?;
            let features = py.detach(|| self.session.model(model)).into_py_result()?.features;
            return values
                .into_iter()
                .enumerate()
                .map(|(i, row)| {
                    if row.len() != features.len() {
                        return Err(validation(
                            "rows",
                            format!(
                                "row {i} has {} values; the model reads {} features {:?}",
                                row.len(),
                                features.len(),
                                features
                            ),
                        ));
                    }
                    Ok(features.iter().cloned().zip(row).collect())
                })
                .collect();
        }
        pythonize::depythonize(rows).map_err(|err| {
            validation(
                "rows",
                format!("expected a list of dicts, a DataFrame or a 2-D array: {err}"),
            )
        })
    }
}
