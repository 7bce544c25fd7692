//! `Session`: a signed-in user's operations, each one call into `modelyard::blocking` with the
//! GIL released, plus the conversion of its arguments and result.

use modelyard::{
    DatasetId, ModelArchive, ModelId, NotificationId, PredictOptions, Prediction, RunId, blocking,
};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert::{self, Rows, TrainArgs, id};
use crate::errors::IntoPyResult;
use crate::interrupt::wait_in_slices;
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

    /// Exports the signed-in account with its whole workspace (datasets, models, runs with
    /// their histories, notifications, and their files) into the file `path`; another
    /// deployment restores it with `Modelyard.import_`.
    fn export<'py>(
        &self,
        py: Python<'py>,
        path: std::path::PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session.as_async().clone();
        let task = self.session.spawn(async move { session.export(path).await });
        to_py(py, &interruptible(py, task.into_py_result()?)?)
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
        let source = convert::upload(py, name, path, data, frame)?;
        // A task waited in slices: Ctrl-C during a long upload raises `KeyboardInterrupt`
        // within a slice, and the abandoned upload stores nothing.
        let session = self.session.as_async().clone();
        let name = name.map(str::to_owned);
        let task = self
            .session
            .spawn(async move { session.upload_dataset(name.as_deref(), source).await });
        to_py(py, &interruptible(py, task.into_py_result()?)?)
    }

    /// The user's datasets, newest first: all of them, or with `limit` (default 100, at
    /// most 1,000) and/or `after` (the id of the last dataset of the page before) one page.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn datasets<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = modelyard::ListOptions { limit, after: after.map(str::to_owned) };
        to_py(py, &py.detach(|| self.session.datasets_with(&options)).into_py_result()?)
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
        let request = convert::model_request(name, dataset_id, target, features, task, layers)?;
        to_py(py, &py.detach(|| self.session.create_model(request)).into_py_result()?)
    }

    /// The user's models, newest first: all of them, or with `limit` (default 100, at
    /// most 1,000) and/or `after` (the id of the last model of the page before) one page.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn models<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = modelyard::ListOptions { limit, after: after.map(str::to_owned) };
        to_py(py, &py.detach(|| self.session.models_with(&options)).into_py_result()?)
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

    /// Deletes a finished run; `ConflictError` while it is queued or running.
    fn delete_run(&self, py: Python<'_>, run_id: &str) -> PyResult<()> {
        let id: RunId = id(run_id)?;
        py.detach(|| self.session.delete_run(id)).into_py_result()
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
        let params = TrainArgs {
            epochs,
            batch_size,
            learning_rate,
            optimizer,
            momentum,
            weight_decay,
            validation_split,
            seed,
            early_stopping,
        }
        .params()?;
        let run = py.detach(|| self.session.train(id, params)).into_py_result()?;
        Ok(Run::new(run))
    }

    /// The user's runs, newest first, without their per-epoch histories: all of them, or with `limit` (default 100, at
    /// most 1,000) and/or `after` (the id of the last run of the page before) one page.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn runs<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = modelyard::ListOptions { limit, after: after.map(str::to_owned) };
        to_py(py, &py.detach(|| self.session.runs_with(&options)).into_py_result()?)
    }

    /// A handle on one of the user's runs.
    fn run(&self, py: Python<'_>, run_id: &str) -> PyResult<Run> {
        let id: RunId = id(run_id)?;
        Ok(Run::new(py.detach(|| self.session.run(id)).into_py_result()?))
    }

    /// Predicts `rows`: a list of dicts keyed by column name, a pandas DataFrame, or a 2-D
    /// numpy array whose columns are the model's features in order. Every feature needs a
    /// value: a missing one (absent, None, NaN, "") raises `ValidationError` naming it, unless
    /// `allow_missing=True` lets the model impute it.
    #[pyo3(signature = (model_id, rows, *, allow_missing = false))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        model_id: &str,
        rows: &Bound<'py, PyAny>,
        allow_missing: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        let rows = Rows::from_py(py, rows)?;
        let options = PredictOptions { allow_missing };
        to_py(py, &py.detach(|| self.predictions(id, rows, options)).into_py_result()?)
    }

    /// Class probabilities of `rows` (as `predict` takes them) as a numpy array of shape
    /// `(rows, classes)`, columns in the sorted order of the class labels (needs numpy).
    #[pyo3(signature = (model_id, rows, *, allow_missing = false))]
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        model_id: &str,
        rows: &Bound<'py, PyAny>,
        allow_missing: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        let rows = Rows::from_py(py, rows)?;
        let options = PredictOptions { allow_missing };
        let predictions = py.detach(|| self.predictions(id, rows, options)).into_py_result()?;
        let probabilities = convert::probabilities(&predictions)?;
        py.import("numpy")?.call_method1("asarray", (probabilities, "float64"))
    }

    /// Scores a model on a dataset holding its features and target.
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        model_id: &str,
        dataset_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (model, dataset): (ModelId, DatasetId) = (id(model_id)?, id(dataset_id)?);
        let session = self.session.as_async().clone();
        let task = self.session.spawn(async move { session.evaluate(model, dataset).await });
        to_py(py, &interruptible(py, task.into_py_result()?)?)
    }

    /// The trained model as a zip archive (`weights.safetensors`, `model.json`): `filename`,
    /// `files` and the bytes in `data`. `ConflictError` before it has been trained.
    fn model_archive<'py>(&self, py: Python<'py>, model_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        let archive = py.detach(|| self.session.model_archive(id)).into_py_result()?;
        archive_view(py, &archive)
    }

    /// The user's notifications, newest first: all of them, or with `limit` (default 100, at
    /// most 1,000) and/or `after` (the id of the last notification of the page before) one page.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn notifications<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = modelyard::ListOptions { limit, after: after.map(str::to_owned) };
        to_py(py, &py.detach(|| self.session.notifications_with(&options)).into_py_result()?)
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
        Err(crate::errors::not_picklable("Session"))
    }
}

impl Session {
    /// Predicts `rows`, reading the model's feature names first when a matrix needs them.
    fn predictions(
        &self,
        model: ModelId,
        rows: Rows,
        options: PredictOptions,
    ) -> modelyard::Result<Vec<Prediction>> {
        let features =
            if rows.needs_features() { self.session.model(model)?.features } else { Vec::new() };
        self.session.predict_with(model, &rows.into_records(&features)?, options)
    }
}

/// The `ModelArchive` view of an archive: `filename`, `files` and the zip's bytes in `data`.
pub fn archive_view<'py>(py: Python<'py>, archive: &ModelArchive) -> PyResult<Bound<'py, PyAny>> {
    let fields = PyDict::new(py);
    fields.set_item("filename", &archive.filename)?;
    fields.set_item("files", to_py(py, &archive.files)?)?;
    fields.set_item("data", PyBytes::new(py, &archive.zip))?;
    make_view(py, "ModelArchive", fields)
}

/// Waits for `task` in slices with the GIL released; Ctrl-C raises `KeyboardInterrupt` within a
/// slice and drops the task, which aborts the call.
pub(crate) fn interruptible<T: Send + 'static>(
    py: Python<'_>,
    mut task: blocking::Task<T>,
) -> PyResult<T> {
    let done = wait_in_slices(py, None, |slice| task.wait_timeout(slice).into_py_result())?;
    done.ok_or_else(|| modelyard::Error::internal("a wait without a timeout timed out"))
        .into_py_result()
}
