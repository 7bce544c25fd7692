//! A signed-in user's handle, synchronous: every [`crate::Session`] operation, blocking.

use std::sync::Arc;

use bytes::Bytes;

use super::{NotificationEvents, OpenYard, Run};
use crate::Records;
use crate::{
    Dataset, DatasetId, Evaluation, ListOptions, ListPage, Model, ModelArchive, ModelFile, ModelId,
    ModelRequest, ModelSummary, Notification, NotificationId, PredictOptions, Prediction, Preview,
    PublicUser, Result, RunId, Timestamp, TrainParams, TrainingRun, Upload,
};

/// A signed-in user, synchronous. Each call re-checks the token, as [`crate::Session`] does.
/// Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct Session {
    session: crate::Session,
    // Last, so that the async session is dropped before the open yard it may outlive.
    open: Arc<OpenYard>,
}

/// A dataset's CSV, read whole, with formula-like cells neutralised for spreadsheets.
#[derive(Clone, PartialEq)]
pub struct DatasetDownload {
    /// The dataset.
    pub dataset: Dataset,
    /// A file name to save it under: the dataset's name with `.csv`.
    pub filename: String,
    /// The whole CSV.
    pub csv: Bytes,
}

/// Shows the dataset, file name and size, not the bytes.
impl std::fmt::Debug for DatasetDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetDownload")
            .field("dataset", &self.dataset.id)
            .field("filename", &self.filename)
            .field("size_bytes", &self.csv.len())
            .finish()
    }
}

impl Session {
    pub(super) fn new(session: crate::Session, open: Arc<OpenYard>) -> Self {
        Self { session, open }
    }

    /// The async session behind this handle, for async code on its yard's runtime.
    pub fn as_async(&self) -> &crate::Session {
        &self.session
    }

    /// Runs an async call as a task on this session's runtime, to wait for in slices or
    /// abandon (see [`super::Task`]): `session.spawn({ let s = session.as_async().clone();
    /// async move { s.datasets().await } })`.
    pub fn spawn<T, F>(&self, future: F) -> Result<super::Task<T>>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        super::Task::spawn(self.open.clone(), future)
    }

    /// The bearer token, for `Authorization: Bearer <token>`.
    pub fn token(&self) -> &str {
        self.session.token()
    }

    /// When the token expires.
    pub fn expires_at(&self) -> Timestamp {
        self.session.expires_at()
    }

    /// Who is signed in (as of sign-in).
    pub fn user(&self) -> &PublicUser {
        self.session.user()
    }

    /// The signed-in user, read now.
    pub fn me(&self) -> Result<PublicUser> {
        self.open.block_on(self.session.me())
    }

    /// Ends this session: its token is refused from now on.
    pub fn logout(&self) -> Result<()> {
        self.open.block_on(self.session.logout())
    }

    /// Changes the password; every existing token of the user, this one included, stops working.
    pub fn change_password(&self, current: &str, new: &str) -> Result<()> {
        self.open.block_on(self.session.change_password(current, new))
    }

    /// Exports the signed-in account with its whole workspace into the file `archive`, as
    /// [`crate::Session::export`] does.
    pub fn export(&self, archive: impl AsRef<std::path::Path>) -> Result<crate::BackupSummary> {
        self.open.block_on(self.session.export(archive))
    }

    /// Deletes the account after checking its password; every token of it stops working.
    pub fn delete_account(&self, password: &str) -> Result<()> {
        self.open.block_on(self.session.delete_account(password))
    }

    /// Uploads a CSV dataset: checked, profiled and stored, or refused with nothing stored.
    /// Without a name (`None`) it is named after the file (`iris` for `iris.csv`).
    pub fn upload_dataset<'a>(
        &self,
        name: impl Into<Option<&'a str>>,
        source: Upload,
    ) -> Result<Dataset> {
        self.open.block_on(self.session.upload_dataset(name, source))
    }

    /// The user's datasets, newest first.
    pub fn datasets(&self) -> Result<Vec<Dataset>> {
        self.open.block_on(self.session.datasets())
    }

    /// The user's datasets: all, or one page (see [`crate::Session::datasets_with`]).
    pub fn datasets_with(&self, options: &ListOptions) -> Result<Vec<Dataset>> {
        self.open.block_on(self.session.datasets_with(options))
    }

    /// A page of the user's datasets (see [`crate::Session::datasets_page`]).
    pub fn datasets_page(
        &self,
        limit: Option<usize>,
        after: Option<DatasetId>,
    ) -> Result<ListPage<Dataset, DatasetId>> {
        self.open.block_on(self.session.datasets_page(limit, after))
    }

    /// One dataset.
    pub fn dataset(&self, id: DatasetId) -> Result<Dataset> {
        self.open.block_on(self.session.dataset(id))
    }

    /// A dataset's first `limit` rows (clamped to the configured preview maximum).
    pub fn preview(&self, id: DatasetId, limit: usize) -> Result<Preview> {
        self.open.block_on(self.session.preview(id, limit))
    }

    /// The dataset as CSV, read whole, with formula-like cells neutralised for spreadsheets.
    pub fn download_dataset(&self, id: DatasetId) -> Result<DatasetDownload> {
        self.open.block_on(async {
            let download = self.session.download_dataset(id).await?;
            let (dataset, filename) = (download.dataset.clone(), download.filename.clone());
            Ok(DatasetDownload { dataset, filename, csv: download.bytes().await? })
        })
    }

    /// Deletes a dataset; refused while a model uses it.
    pub fn delete_dataset(&self, id: DatasetId) -> Result<()> {
        self.open.block_on(self.session.delete_dataset(id))
    }

    /// Creates a model on one of the user's datasets.
    pub fn create_model(&self, request: ModelRequest) -> Result<Model> {
        self.open.block_on(self.session.create_model(request))
    }

    /// The user's models, newest first.
    pub fn models(&self) -> Result<Vec<Model>> {
        self.open.block_on(self.session.models())
    }

    /// One model.
    pub fn model(&self, id: ModelId) -> Result<Model> {
        self.open.block_on(self.session.model(id))
    }

    /// A model's layers, shapes and parameter counts.
    pub fn summary(&self, id: ModelId) -> Result<ModelSummary> {
        self.open.block_on(self.session.summary(id))
    }

    /// Deletes a model; refused while it trains.
    pub fn delete_model(&self, id: ModelId) -> Result<()> {
        self.open.block_on(self.session.delete_model(id))
    }

    /// The user's models: all, or one page (see [`crate::Session::models_with`]).
    pub fn models_with(&self, options: &ListOptions) -> Result<Vec<Model>> {
        self.open.block_on(self.session.models_with(options))
    }

    /// A page of the user's models (see [`crate::Session::datasets_page`]).
    pub fn models_page(
        &self,
        limit: Option<usize>,
        after: Option<ModelId>,
    ) -> Result<ListPage<Model, ModelId>> {
        self.open.block_on(self.session.models_page(limit, after))
    }

    /// Predicts rows given as [`Records`], objects keyed by column name (at most 10,000 per call); a
    /// missing feature value is refused, naming it.
    pub fn predict(&self, model: ModelId, rows: &Records) -> Result<Vec<Prediction>> {
        self.open.block_on(self.session.predict(model, rows))
    }

    /// [`Session::predict`] with options (`PredictOptions::allow_missing()` imputes).
    pub fn predict_with(
        &self,
        model: ModelId,
        rows: &Records,
        options: PredictOptions,
    ) -> Result<Vec<Prediction>> {
        self.open.block_on(self.session.predict_with(model, rows, options))
    }

    /// Predicts the rows of a CSV document with a header naming the model's feature columns.
    pub fn predict_csv(&self, model: ModelId, csv: &[u8]) -> Result<Vec<Prediction>> {
        self.open.block_on(self.session.predict_csv(model, csv))
    }

    /// [`Session::predict_csv`] with options.
    pub fn predict_csv_with(
        &self,
        model: ModelId,
        csv: &[u8],
        options: PredictOptions,
    ) -> Result<Vec<Prediction>> {
        self.open.block_on(self.session.predict_csv_with(model, csv, options))
    }

    /// Scores a model on a dataset holding its features and target.
    pub fn evaluate(&self, model: ModelId, dataset: DatasetId) -> Result<Evaluation> {
        self.open.block_on(self.session.evaluate(model, dataset))
    }

    /// The trained model's files (`weights.safetensors`, `model.json`); `Conflict` before it
    /// has been trained.
    pub fn model_files(&self, id: ModelId) -> Result<Vec<ModelFile>> {
        self.open.block_on(self.session.model_files(id))
    }

    /// The trained model as one zip archive of its files; `Conflict` before it has been trained.
    pub fn model_archive(&self, id: ModelId) -> Result<ModelArchive> {
        self.open.block_on(self.session.model_archive(id))
    }

    /// Queues a training run of a model.
    pub fn train(&self, model: ModelId, params: TrainParams) -> Result<Run> {
        let run = self.open.block_on(self.session.train(model, params))?;
        Ok(Run::new(run, self.open.clone()))
    }

    /// The user's runs, newest first, without their histories.
    pub fn runs(&self) -> Result<Vec<TrainingRun>> {
        self.open.block_on(self.session.runs())
    }

    /// The user's runs: all, or one page (see [`crate::Session::runs_with`]).
    pub fn runs_with(&self, options: &ListOptions) -> Result<Vec<TrainingRun>> {
        self.open.block_on(self.session.runs_with(options))
    }

    /// A page of the user's runs (see [`crate::Session::runs_page`]).
    pub fn runs_page(
        &self,
        limit: Option<usize>,
        after: Option<RunId>,
    ) -> Result<ListPage<TrainingRun, RunId>> {
        self.open.block_on(self.session.runs_page(limit, after))
    }

    /// Deletes a finished run; a queued or running run is a `Conflict`.
    pub fn delete_run(&self, id: RunId) -> Result<()> {
        self.open.block_on(self.session.delete_run(id))
    }

    /// A handle on one of the user's runs.
    pub fn run(&self, id: RunId) -> Result<Run> {
        let run = self.open.block_on(self.session.run(id))?;
        Ok(Run::new(run, self.open.clone()))
    }

    /// The user's notifications, newest first.
    pub fn notifications(&self) -> Result<Vec<Notification>> {
        self.open.block_on(self.session.notifications())
    }

    /// The user's notifications: all, or one page (see [`crate::Session::notifications_with`]).
    pub fn notifications_with(&self, options: &ListOptions) -> Result<Vec<Notification>> {
        self.open.block_on(self.session.notifications_with(options))
    }

    /// A page of the user's notifications (see [`crate::Session::datasets_page`]).
    pub fn notifications_page(
        &self,
        limit: Option<usize>,
        after: Option<NotificationId>,
    ) -> Result<ListPage<Notification, NotificationId>> {
        self.open.block_on(self.session.notifications_page(limit, after))
    }

    /// Marks a notification read.
    pub fn mark_read(&self, id: NotificationId) -> Result<Notification> {
        self.open.block_on(self.session.mark_read(id))
    }

    /// This user's notifications as they are created, live; the iterator never ends by itself
    /// (use [`NotificationEvents::next_timeout`] to wait a bounded time).
    pub fn notification_events(&self) -> Result<NotificationEvents> {
        let stream = self.open.block_on(self.session.notification_events())?;
        Ok(NotificationEvents::new(stream, self.open.clone()))
    }
}

/// Shows who the session is for and when it expires; never the token.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.session, f)
    }
}
