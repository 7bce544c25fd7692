//! `modelyard.aio`: the same API as coroutines, for asyncio programs (FastAPI and the like).
//!
//! Each method is one call of the async facade, run as a task on the process's one runtime
//! (the one the synchronous flavour uses), and handed to asyncio by pyo3-async-runtimes: the
//! event loop never blocks, cancelling the awaiting asyncio task drops the call, and the result
//! is converted to its view once it is back in Python.

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use modelyard::blocking::{self, RuntimeShare};
use modelyard::{DatasetId, ModelId, NotificationId, PredictOptions, RunEvent, RunId};
use pyo3::exceptions::{PyStopAsyncIteration, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3_async_runtimes::{TaskLocals, generic};

use crate::convert::{self, Rows, TrainArgs, id};
use crate::errors::IntoPyResult;
use crate::views::View;

/// pyo3-async-runtimes' view of the facade's runtime: tasks are spawned on the runtime the
/// caller entered ([`coroutine`] enters it), and carry the asyncio loop as a task-local.
struct YardRuntime;

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

impl generic::Runtime for YardRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::task::spawn(fut)
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        tokio::task::spawn_blocking(f)
    }
}

impl generic::ContextExt for YardRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|cell| cell.get().cloned()).unwrap_or_default()
    }
}

/// `future` as an asyncio awaitable, run on `runtime`, which it keeps running until it ends.
/// Called from a coroutine of a running event loop.
fn coroutine<'py, F, T>(
    py: Python<'py>,
    runtime: &RuntimeShare,
    future: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let entered = runtime.enter().into_py_result()?;
    let held = runtime.clone();
    let awaitable = generic::future_into_py::<YardRuntime, _, T>(py, async move {
        let _held = held;
        future.await
    });
    drop(entered);
    awaitable
}

/// A facade call's result, or its error as the Python exception.
async fn call<T>(future: impl Future<Output = modelyard::Result<T>>) -> PyResult<View<T>> {
    future.await.map(View).into_py_result()
}

/// A facade call on a clone of `handle` (a session or a run) as a coroutine resolving to the
/// result's view, on `yard`'s runtime.
fn resolve<'py, H, T, F>(
    py: Python<'py>,
    yard: &blocking::Modelyard,
    handle: &H,
    future: impl FnOnce(H) -> F,
) -> PyResult<Bound<'py, PyAny>>
where
    H: Clone,
    T: serde::Serialize + Send + 'static,
    F: Future<Output = modelyard::Result<T>> + Send + 'static,
{
    coroutine(py, &yard.runtime(), call(future(handle.clone())))
}

/// Opens a store without blocking the event loop: `await modelyard.aio.open("sled://./data")`
/// or `async with modelyard.aio.open(...) as yard:`; keywords as `modelyard.open`'s.
#[pyfunction]
#[pyo3(signature = (url=None, **settings))]
pub fn open_async<'py>(
    py: Python<'py>,
    url: Option<String>,
    settings: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = convert::spec(url, settings)?;
    let runtime = RuntimeShare::acquire().into_py_result()?;
    coroutine(py, &runtime, async move {
        let yard = blocking::Modelyard::open_async(spec).await.into_py_result()?;
        Ok(AsyncModelyard { yard })
    })
}

/// An open Modelyard for asyncio: `async with` closes it at the end of the block.
#[pyclass(frozen, module = "modelyard._native")]
pub struct AsyncModelyard {
    yard: blocking::Modelyard,
}

impl AsyncModelyard {
    fn signed_in(&self, session: modelyard::Result<modelyard::Session>) -> PyResult<AsyncSession> {
        Ok(AsyncSession { session: session.into_py_result()?, yard: self.yard.clone() })
    }
}

#[pymethods]
impl AsyncModelyard {
    /// Creates an account and returns a signed-in session.
    fn register<'py>(
        slf: Py<Self>,
        py: Python<'py>,
        username: String,
        email: String,
        password: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let runtime = slf.get().yard.runtime();
        coroutine(py, &runtime, async move {
            let this = slf.get();
            this.signed_in(this.yard.as_async().register(&username, &email, &password).await)
        })
    }

    /// Signs in.
    fn login<'py>(
        slf: Py<Self>,
        py: Python<'py>,
        email: String,
        password: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let runtime = slf.get().yard.runtime();
        coroutine(py, &runtime, async move {
            let this = slf.get();
            this.signed_in(this.yard.as_async().login(&email, &password).await)
        })
    }

    /// The session of an access token, checked now.
    fn session<'py>(slf: Py<Self>, py: Python<'py>, token: String) -> PyResult<Bound<'py, PyAny>> {
        let runtime = slf.get().yard.runtime();
        coroutine(py, &runtime, async move {
            let this = slf.get();
            this.signed_in(this.yard.as_async().session(&token).await)
        })
    }

    /// Backs up every account and everything it owns into the file `path`, as
    /// `Modelyard.export` does.
    fn export<'py>(
        &self,
        py: Python<'py>,
        path: std::path::PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.clone();
        coroutine(py, &self.yard.runtime(), async move { call(yard.as_async().export(path)).await })
    }

    /// Backs up one account, found by `email`, into the file `path`.
    fn export_account<'py>(
        &self,
        py: Python<'py>,
        email: String,
        path: std::path::PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.clone();
        coroutine(py, &self.yard.runtime(), async move {
            call(yard.as_async().export_account(&email, path)).await
        })
    }

    /// Restores an archive into this yard's stores, as `Modelyard.import_` does.
    fn import_<'py>(
        &self,
        py: Python<'py>,
        path: std::path::PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.clone();
        coroutine(py, &self.yard.runtime(), async move { call(yard.as_async().import(path)).await })
    }

    /// Whether the record store answers now; raises `UnavailableError` while it is down.
    fn check_ready<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.clone();
        coroutine(
            py,
            &self.yard.runtime(),
            async move { call(yard.as_async().check_ready()).await },
        )
    }

    /// Stops this yard's training workers gracefully (a run in flight goes back to the queue).
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.clone();
        coroutine(py, &self.yard.runtime(), async move {
            yard.as_async().close().await;
            Ok(())
        })
    }

    fn __aenter__<'py>(slf: Py<Self>, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let runtime = slf.get().yard.runtime();
        coroutine(py, &runtime, async move { Ok(slf) })
    }

    #[pyo3(signature = (*_exc))]
    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let yard = self.yard.clone();
        coroutine(py, &self.yard.runtime(), async move {
            yard.as_async().close().await;
            Ok(false)
        })
    }

    fn __repr__(&self) -> String {
        "<modelyard.aio.Modelyard>".into()
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(crate::errors::not_picklable("Modelyard"))
    }
}

/// A signed-in user, for asyncio. Every call re-checks the token.
#[pyclass(frozen, module = "modelyard._native")]
pub struct AsyncSession {
    session: modelyard::Session,
    /// Keeps the yard open (and its runtime running) while the session lives.
    yard: blocking::Modelyard,
}

impl AsyncSession {
    fn handle(&self, run: modelyard::Result<modelyard::Run>) -> PyResult<AsyncRun> {
        Ok(AsyncRun { run: run.into_py_result()?, yard: self.yard.clone() })
    }
}

#[pymethods]
impl AsyncSession {
    /// The access token.
    #[getter]
    fn token(&self) -> &str {
        self.session.token()
    }

    /// Who is signed in (as of sign-in).
    #[getter]
    fn user<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::views::to_py(py, self.session.user())
    }

    /// When the token expires.
    #[getter]
    fn expires_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::views::to_py(py, &self.session.expires_at())
    }

    /// The signed-in user, read now.
    fn me<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.session, |s| async move { s.me().await })
    }

    /// Ends this session: its token is refused from now on.
    fn logout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.session, |s| async move { s.logout().await })
    }

    /// Changes the password; every token of the user, this one included, stops working.
    fn change_password<'py>(
        &self,
        py: Python<'py>,
        current: String,
        new: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.session, |s| async move {
            s.change_password(&current, &new).await
        })
    }

    /// Exports the signed-in account with its workspace into the file `path`, as
    /// `Session.export` does.
    fn export<'py>(
        &self,
        py: Python<'py>,
        path: std::path::PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.session, |s| async move { s.export(path).await })
    }

    /// Uploads a CSV dataset from exactly one of `path`, `data` or `frame`.
    #[pyo3(signature = (name=None, *, path=None, data=None, frame=None))]
    fn upload_dataset<'py>(
        &self,
        py: Python<'py>,
        name: Option<String>,
        path: Option<std::path::PathBuf>,
        data: Option<&Bound<'py, PyAny>>,
        frame: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let source = convert::upload(py, name.as_deref(), path, data, frame)?;
        resolve(py, &self.yard, &self.session, |s| async move {
            s.upload_dataset(name.as_deref(), source).await
        })
    }

    /// The user's datasets, as `Session.datasets` gives them.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn datasets<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = modelyard::ListOptions { limit, after: after.map(str::to_owned) };
        resolve(
            py,
            &self.yard,
            &self.session,
            move |s| async move { s.datasets_with(&options).await },
        )
    }

    /// One dataset.
    fn dataset<'py>(&self, py: Python<'py>, dataset_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: DatasetId = id(dataset_id)?;
        resolve(py, &self.yard, &self.session, |s| async move { s.dataset(id).await })
    }

    /// A dataset's first `limit` rows.
    #[pyo3(signature = (dataset_id, limit=10))]
    fn preview<'py>(
        &self,
        py: Python<'py>,
        dataset_id: &str,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id: DatasetId = id(dataset_id)?;
        resolve(py, &self.yard, &self.session, |s| async move { s.preview(id, limit).await })
    }

    /// Deletes a dataset; `ConflictError` while a model uses it.
    fn delete_dataset<'py>(
        &self,
        py: Python<'py>,
        dataset_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id: DatasetId = id(dataset_id)?;
        resolve(py, &self.yard, &self.session, |s| async move { s.delete_dataset(id).await })
    }

    /// Creates a model, as `Session.create_model` does.
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
        resolve(py, &self.yard, &self.session, |s| async move { s.create_model(request).await })
    }

    /// The user's models, as `Session.models` gives them.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn models<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = modelyard::ListOptions { limit, after: after.map(str::to_owned) };
        resolve(
            py,
            &self.yard,
            &self.session,
            move |s| async move { s.models_with(&options).await },
        )
    }

    /// One model.
    fn model<'py>(&self, py: Python<'py>, model_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        resolve(py, &self.yard, &self.session, |s| async move { s.model(id).await })
    }

    /// A model's layers, output shapes and parameter counts.
    fn summary<'py>(&self, py: Python<'py>, model_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        resolve(py, &self.yard, &self.session, |s| async move { s.summary(id).await })
    }

    /// Deletes a model; `ConflictError` while it trains.
    fn delete_model<'py>(&self, py: Python<'py>, model_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        resolve(py, &self.yard, &self.session, |s| async move { s.delete_model(id).await })
    }

    /// Deletes a finished run; `ConflictError` while it is queued or running.
    fn delete_run<'py>(&self, py: Python<'py>, run_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: RunId = id(run_id)?;
        resolve(py, &self.yard, &self.session, |s| async move { s.delete_run(id).await })
    }

    /// Queues a training run, as `Session.train` does; resolves to an `aio.Run`.
    #[pyo3(signature = (
        model_id, *, epochs=None, batch_size=None, learning_rate=None, optimizer=None,
        momentum=None, weight_decay=None, validation_split=None, seed=None, early_stopping=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn train<'py>(
        slf: Py<Self>,
        py: Python<'py>,
        model_id: &str,
        epochs: Option<u32>,
        batch_size: Option<u32>,
        learning_rate: Option<f64>,
        optimizer: Option<String>,
        momentum: Option<f64>,
        weight_decay: Option<f64>,
        validation_split: Option<f64>,
        seed: Option<u64>,
        early_stopping: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
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
        let runtime = slf.get().yard.runtime();
        coroutine(py, &runtime, async move {
            let this = slf.get();
            this.handle(this.session.train(id, params).await)
        })
    }

    /// The user's runs, as `Session.runs` gives them.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn runs<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = modelyard::ListOptions { limit, after: after.map(str::to_owned) };
        resolve(py, &self.yard, &self.session, move |s| async move { s.runs_with(&options).await })
    }

    /// A handle on one of the user's runs.
    fn run<'py>(slf: Py<Self>, py: Python<'py>, run_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: RunId = id(run_id)?;
        let runtime = slf.get().yard.runtime();
        coroutine(py, &runtime, async move {
            let this = slf.get();
            this.handle(this.session.run(id).await)
        })
    }

    /// Predicts `rows`, as `Session.predict` does.
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
        resolve(py, &self.yard, &self.session, |s| async move {
            let features =
                if rows.needs_features() { s.model(id).await?.features } else { Vec::new() };
            s.predict_with(id, &rows.into_records(&features)?, options).await
        })
    }

    /// Scores a model on a dataset holding its features and target.
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        model_id: &str,
        dataset_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (model, dataset): (ModelId, DatasetId) = (id(model_id)?, id(dataset_id)?);
        resolve(py, &self.yard, &self.session, |s| async move { s.evaluate(model, dataset).await })
    }

    /// The trained model as a zip archive, as `Session.model_archive` gives it.
    fn model_archive<'py>(&self, py: Python<'py>, model_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id: ModelId = id(model_id)?;
        let session = self.session.clone();
        coroutine(py, &self.yard.runtime(), async move {
            let archive = session.model_archive(id).await.into_py_result()?;
            Ok(Archive(archive))
        })
    }

    /// The user's notifications, as `Session.notifications` gives them.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn notifications<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = modelyard::ListOptions { limit, after: after.map(str::to_owned) };
        resolve(py, &self.yard, &self.session, move |s| async move {
            s.notifications_with(&options).await
        })
    }

    /// Marks a notification read and resolves to it.
    fn mark_read<'py>(
        &self,
        py: Python<'py>,
        notification_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id: NotificationId = id(notification_id)?;
        resolve(py, &self.yard, &self.session, |s| async move { s.mark_read(id).await })
    }

    fn __repr__(&self) -> String {
        let user = self.session.user();
        format!("<modelyard.aio.Session user={:?} id={}>", user.username, user.id)
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(crate::errors::not_picklable("Session"))
    }
}

/// A model archive once it reaches Python: the `ModelArchive` view, bytes as `bytes`.
struct Archive(modelyard::ModelArchive);

impl<'py> IntoPyObject<'py> for Archive {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        crate::session::archive_view(py, &self.0)
    }
}

/// One training run, for asyncio.
#[pyclass(frozen, module = "modelyard._native")]
pub struct AsyncRun {
    run: modelyard::Run,
    /// Keeps the yard open while the handle lives.
    yard: blocking::Modelyard,
}

#[pymethods]
impl AsyncRun {
    /// The run's id.
    #[getter]
    fn id(&self) -> String {
        self.run.id().to_string()
    }

    /// The run, read now.
    fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.run, |run| async move { run.get().await })
    }

    /// Its status now.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.run, |run| async move { run.status().await })
    }

    /// Per-epoch metrics so far.
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.run, |run| async move { run.history().await })
    }

    /// One page of the per-epoch metrics, as `Run.history_page` gives it.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn history_page<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<u32>,
    ) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.run, move |run| async move {
            Ok::<_, modelyard::Error>(run.history_page(limit, after).await?.items)
        })
    }

    /// `async for event in run.events():` its history so far, then live epochs and status
    /// changes, ending after the final status. Leaving the loop releases the stream.
    fn events(&self) -> AsyncRunEvents {
        AsyncRunEvents {
            run: self.run.clone(),
            stream: Arc::new(tokio::sync::Mutex::new(None)),
            yard: self.yard.clone(),
        }
    }

    /// Resolves to the run once it has ended; `TimeoutError` if `timeout` seconds pass first.
    /// Cancelling the awaiting task stops the wait, not the run.
    #[pyo3(signature = (timeout=None))]
    fn wait<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let timeout = crate::convert::timeout(timeout)?;
        let run = self.run.clone();
        coroutine(py, &self.yard.runtime(), async move {
            let Some(timeout) = timeout else { return call(run.wait()).await };
            match tokio::time::timeout(timeout, run.wait()).await {
                Ok(finished) => finished.map(View).into_py_result(),
                Err(_elapsed) => Err(PyTimeoutError::new_err(format!(
                    "run {} still going after {timeout:?}",
                    run.id()
                ))),
            }
        })
    }

    /// Asks the run to stop and resolves to it.
    fn cancel<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        resolve(py, &self.yard, &self.run, |run| async move { run.cancel().await })
    }

    fn __repr__(&self) -> String {
        format!("<modelyard.aio.Run id={}>", self.run.id())
    }

    fn __reduce__(&self) -> PyResult<()> {
        Err(crate::errors::not_picklable("Run"))
    }
}

type EventStream = BoxStream<'static, modelyard::Result<RunEvent>>;

/// A run's live events as an async iterator; the stream opens at the first `__anext__`.
#[pyclass(frozen, module = "modelyard._native")]
pub struct AsyncRunEvents {
    run: modelyard::Run,
    /// `None` until opened. An async lock: one `__anext__` at a time reads the stream.
    stream: Arc<tokio::sync::Mutex<Option<EventStream>>>,
    yard: blocking::Modelyard,
}

#[pymethods]
impl AsyncRunEvents {
    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (run, stream) = (self.run.clone(), self.stream.clone());
        coroutine(py, &self.yard.runtime(), async move {
            let mut stream = stream.lock().await;
            if stream.is_none() {
                *stream = Some(run.events().await.into_py_result()?.fuse().boxed());
            }
            let next = match stream.as_mut() {
                Some(events) => events.next().await,
                None => None,
            };
            match next {
                Some(event) => event.map(View).into_py_result(),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }
}

/// The stream holds tokio resources: it is dropped inside the runtime that made them.
impl Drop for AsyncRunEvents {
    fn drop(&mut self) {
        let stream = std::mem::replace(&mut self.stream, Arc::new(tokio::sync::Mutex::new(None)));
        let runtime = self.yard.runtime();
        match runtime.enter() {
            Ok(_entered) => drop(stream),
            Err(_forked) => std::mem::forget(stream),
        }
    }
}

/// The classes of the asyncio flavour, for the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(open_async, m)?)?;
    m.add_class::<AsyncModelyard>()?;
    m.add_class::<AsyncSession>()?;
    m.add_class::<AsyncRun>()?;
    m.add_class::<AsyncRunEvents>()?;
    Ok(())
}
