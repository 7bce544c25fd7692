//! A signed-in user's handle: every operation of DESIGN §9, checked against the token each call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use modelyard_core::auth::IssuedToken;
use modelyard_core::datasets;
use modelyard_core::{Listed, Page};

use crate::Records;
use crate::signed_in::SignedIn;

use crate::{
    BackupSummary, Dataset, DatasetDownload, DatasetId, Error, Evaluation, Model, ModelArchive,
    ModelFile, ModelId, ModelRequest, ModelSummary, Modelyard, Notification, NotificationId,
    PredictOptions, Prediction, Preview, PublicUser, Result, Run, RunId, Timestamp, TrainParams,
    TrainingRun, Upload, UserId,
};

/// A signed-in user. Each call re-checks the token, so a logged-out or revoked session stops
/// working at once. The one exception: the first call within a second of sign-in or of
/// [`Modelyard::session`] relies on the check just made there, so a server handling one request
/// (check the bearer token, then one operation) verifies the token once, not twice.
#[derive(Clone)]
pub struct Session {
    yard: Modelyard,
    user: PublicUser,
    token: IssuedToken,
    fresh: Arc<Freshness>,
}

/// How long after its token was checked a new session's first call may rely on that check.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// The check made when the session was created, usable once (clones share it).
struct Freshness {
    until: Instant,
    spent: AtomicBool,
}

impl Session {
    pub(crate) fn new(yard: Modelyard, user: PublicUser, token: IssuedToken) -> Self {
        let fresh = Freshness { until: Instant::now() + FRESH_FOR, spent: AtomicBool::new(false) };
        Self { yard, user, token, fresh: Arc::new(fresh) }
    }

    /// Whether this call may rely on the check made at creation, spending it.
    fn take_fresh_check(&self) -> bool {
        Instant::now() < self.fresh.until && !self.fresh.spent.swap(true, Ordering::AcqRel)
    }

    fn spend_fresh_check(&self) {
        self.fresh.spent.store(true, Ordering::Release);
    }

    /// The bearer token, for `Authorization: Bearer <token>`.
    pub fn token(&self) -> &str {
        &self.token.token
    }

    /// When the token expires.
    pub fn expires_at(&self) -> Timestamp {
        self.token.expires_at
    }

    /// Who is signed in (as of sign-in).
    pub fn user(&self) -> &PublicUser {
        &self.user
    }

    async fn owner(&self) -> Result<UserId> {
        if self.take_fresh_check() {
            return Ok(self.user.id);
        }
        Ok(self.yard.inner.auth.authenticate(&self.token.token).await?.id)
    }

    /// The signed-in user, read now.
    pub async fn me(&self) -> Result<PublicUser> {
        Ok(self.yard.inner.auth.authenticate(&self.token.token).await?.public())
    }

    /// Ends this session: its token is refused from now on.
    pub async fn logout(&self) -> Result<()> {
        self.spend_fresh_check();
        self.yard.inner.auth.logout(&self.token.token).await
    }

    /// Changes the password; every existing token of the user, this one included, stops working.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<()> {
        let owner = self.owner().await?;
        self.yard.inner.auth.change_password(owner, current, new).await
    }

    /// Deletes the account after checking its password, and everything it owns in every store:
    /// its runs stop, and its datasets, models, runs, notifications and their files are
    /// removed. Every token of it stops working.
    pub async fn delete_account(&self, password: &str) -> Result<()> {
        let owner = self.owner().await?;
        let inner = &self.yard.inner;
        let erase = || async { inner.workspace.erase(owner).await.map(drop) };
        inner.auth.delete_account(owner, password, erase).await
    }

    /// Exports the signed-in account with its whole workspace (datasets and their files,
    /// models and their trained files, runs with their histories, notifications) into the
    /// file `archive`, in the format of [`Modelyard::export`]: another deployment restores
    /// it with [`Modelyard::import`].
    pub async fn export(&self, archive: impl AsRef<std::path::Path>) -> Result<BackupSummary> {
        let owner = self.owner().await?;
        let scope = modelyard_core::backup::Scope::User(owner);
        self.yard.inner.backup.export_file(scope, archive.as_ref()).await
    }

    /// Uploads a CSV dataset: checked, profiled and stored, or refused with nothing stored.
    /// Without a name (`None`) it is named after the file (`iris` for `iris.csv`).
    pub async fn upload_dataset<'a>(
        &self,
        name: impl Into<Option<&'a str>>,
        source: Upload,
    ) -> Result<Dataset> {
        let owner = self.owner().await?;
        let (filename, data) = source.open().await?;
        let name = match name.into() {
            Some(name) => name.to_owned(),
            None => datasets::default_dataset_name(&filename),
        };
        Ok(self.yard.inner.datasets.upload(owner, &name, &filename, data).await?.into())
    }

    /// The user's datasets, newest first.
    pub async fn datasets(&self) -> Result<Vec<Dataset>> {
        Ok(views(self.yard.inner.datasets.list(self.owner().await?).await?))
    }

    /// The user's datasets as a binding's list call asks for them: all, or one page (see
    /// [`ListOptions`]).
    pub async fn datasets_with(&self, options: &ListOptions) -> Result<Vec<Dataset>> {
        options.list(|| self.datasets(), |limit, after| self.datasets_page(limit, after)).await
    }

    /// A page of the user's datasets, newest first: at most `limit` (default 100, at most
    /// 1,000) after the dataset `after` (the `next_cursor` of the page before).
    pub async fn datasets_page(
        &self,
        limit: Option<usize>,
        after: Option<DatasetId>,
    ) -> Result<ListPage<Dataset, DatasetId>> {
        let page = Page::requested(limit, after)?;
        let owner = self.owner().await?;
        Ok(ListPage::of(self.yard.inner.datasets.list_page(owner, page).await?, Dataset::from))
    }

    /// One dataset.
    pub async fn dataset(&self, id: DatasetId) -> Result<Dataset> {
        Ok(self.yard.inner.datasets.get(self.owner().await?, id).await?.into())
    }

    /// A dataset's first `limit` rows (clamped to the configured preview maximum).
    pub async fn preview(&self, id: DatasetId, limit: usize) -> Result<Preview> {
        self.yard.inner.datasets.preview(self.owner().await?, id, limit).await
    }

    /// The dataset as CSV, streamed, with formula-like cells neutralised for spreadsheets.
    pub async fn download_dataset(&self, id: DatasetId) -> Result<DatasetDownload> {
        let (dataset, csv) = self.yard.inner.datasets.download(self.owner().await?, id).await?;
        let filename = datasets::download_filename(&dataset.name, ".csv");
        Ok(DatasetDownload { dataset: dataset.into(), filename, csv })
    }

    /// Deletes a dataset; refused while a model uses it.
    pub async fn delete_dataset(&self, id: DatasetId) -> Result<()> {
        self.yard.inner.datasets.delete(self.owner().await?, id).await
    }

    /// Creates a model on one of the user's datasets.
    pub async fn create_model(&self, request: ModelRequest) -> Result<Model> {
        Ok(self.yard.inner.models.create(self.owner().await?, request).await?.into())
    }

    /// The user's models, newest first.
    pub async fn models(&self) -> Result<Vec<Model>> {
        Ok(views(self.yard.inner.models.list(self.owner().await?).await?))
    }

    /// The user's models as a binding's list call asks for them: all, or one page (see
    /// [`ListOptions`]).
    pub async fn models_with(&self, options: &ListOptions) -> Result<Vec<Model>> {
        options.list(|| self.models(), |limit, after| self.models_page(limit, after)).await
    }

    /// A page of the user's models, newest first (see [`Session::datasets_page`]).
    pub async fn models_page(
        &self,
        limit: Option<usize>,
        after: Option<ModelId>,
    ) -> Result<ListPage<Model, ModelId>> {
        let page = Page::requested(limit, after)?;
        let owner = self.owner().await?;
        Ok(ListPage::of(self.yard.inner.models.list_page(owner, page).await?, Model::from))
    }

    /// One model.
    pub async fn model(&self, id: ModelId) -> Result<Model> {
        Ok(self.yard.inner.models.get(self.owner().await?, id).await?.into())
    }

    /// A model's layers, shapes and parameter counts.
    pub async fn summary(&self, id: ModelId) -> Result<ModelSummary> {
        self.yard.inner.models.summary(self.owner().await?, id).await
    }

    /// Deletes a model; refused while it trains.
    pub async fn delete_model(&self, id: ModelId) -> Result<()> {
        self.yard.inner.models.delete(self.owner().await?, id).await
    }

    /// Predicts rows given as [`Records`], objects keyed by column name (at most 10,000 per call;
    /// read them from JSON, or make them `From` a `Vec` of `serde_json` maps). Every
    /// feature needs a value: a missing one is a `Validation` error naming it (see
    /// [`Session::predict_with`] to impute them).
    pub async fn predict(&self, model: ModelId, rows: &Records) -> Result<Vec<Prediction>> {
        self.predict_with(model, rows, PredictOptions::default()).await
    }

    /// [`Session::predict`] with options: `PredictOptions::allow_missing()` imputes missing
    /// feature values as the model learned in training.
    pub async fn predict_with(
        &self,
        model: ModelId,
        rows: &Records,
        options: PredictOptions,
    ) -> Result<Vec<Prediction>> {
        self.yard.inner.models.predict(self.owner().await?, model, rows, options).await
    }

    /// Predicts the rows of a CSV document with a header naming the model's feature columns;
    /// an empty cell or missing marker is refused as in [`Session::predict`].
    pub async fn predict_csv(&self, model: ModelId, csv: &[u8]) -> Result<Vec<Prediction>> {
        self.predict_csv_with(model, csv, PredictOptions::default()).await
    }

    /// [`Session::predict_csv`] with options.
    pub async fn predict_csv_with(
        &self,
        model: ModelId,
        csv: &[u8],
        options: PredictOptions,
    ) -> Result<Vec<Prediction>> {
        self.yard.inner.models.predict_csv(self.owner().await?, model, csv, options).await
    }

    /// Scores a model on a dataset holding its features and target.
    pub async fn evaluate(&self, model: ModelId, dataset: DatasetId) -> Result<Evaluation> {
        self.yard.inner.models.evaluate(self.owner().await?, model, dataset).await
    }

    /// The trained model's files (`weights.safetensors`, `model.json`); `Conflict` before it
    /// has been trained.
    pub async fn model_files(&self, id: ModelId) -> Result<Vec<ModelFile>> {
        let files = self.yard.inner.models.artifact(self.owner().await?, id).await?;
        Ok(files.into_iter().map(|(name, bytes)| ModelFile { name, bytes }).collect())
    }

    /// The trained model as one zip archive of its files; `Conflict` before it has been trained.
    pub async fn model_archive(&self, id: ModelId) -> Result<ModelArchive> {
        let owner = self.owner().await?;
        let model = self.yard.inner.models.get(owner, id).await?;
        let files = self.yard.inner.models.artifact(owner, id).await?;
        let files: Vec<ModelFile> =
            files.into_iter().map(|(name, bytes)| ModelFile { name, bytes }).collect();
        let filename = datasets::download_filename(&model.name, ".zip");
        tokio::task::spawn_blocking(move || ModelArchive::pack(filename, &files))
            .await
            .map_err(Error::internal)?
    }

    /// Queues a training run of a model.
    pub async fn train(&self, model: ModelId, params: TrainParams) -> Result<Run> {
        let owner = self.owner().await?;
        let run = self.yard.inner.training.start(owner, model, params).await?;
        Ok(Run::new(self.yard.inner.training.clone(), owner, run.id).signed_in(self.signed_in()))
    }

    /// The user's runs, newest first, without their per-epoch histories
    /// (`epochs_completed` says how far each got; [`Run::history`] has the epochs).
    pub async fn runs(&self) -> Result<Vec<TrainingRun>> {
        let runs = self.yard.inner.training.list(self.owner().await?).await?;
        Ok(runs.into_iter().map(TrainingRun::from).collect())
    }

    /// The user's runs as a binding's list call asks for them: all, or one page (see
    /// [`ListOptions`]).
    pub async fn runs_with(&self, options: &ListOptions) -> Result<Vec<TrainingRun>> {
        options.list(|| self.runs(), |limit, after| self.runs_page(limit, after)).await
    }

    /// A page of the user's runs, newest first, without histories (see
    /// [`Session::datasets_page`]).
    pub async fn runs_page(
        &self,
        limit: Option<usize>,
        after: Option<RunId>,
    ) -> Result<ListPage<TrainingRun, RunId>> {
        let page = Page::requested(limit, after)?;
        let owner = self.owner().await?;
        Ok(ListPage::of(self.yard.inner.training.list_page(owner, page).await?, TrainingRun::from))
    }

    /// Deletes one of the user's finished runs; a queued or running run is a `Conflict`
    /// (cancel it first). The model keeps what the run trained.
    pub async fn delete_run(&self, id: RunId) -> Result<()> {
        self.yard.inner.training.delete(self.owner().await?, id).await
    }

    /// A handle on one of the user's runs.
    pub async fn run(&self, id: RunId) -> Result<Run> {
        let owner = self.owner().await?;
        self.yard.inner.training.get(owner, id).await?;
        Ok(Run::new(self.yard.inner.training.clone(), owner, id).signed_in(self.signed_in()))
    }

    /// The user's notifications, newest first.
    pub async fn notifications(&self) -> Result<Vec<Notification>> {
        self.yard.inner.notifications.list(self.owner().await?).await
    }

    /// The user's notifications as a binding's list call asks for them: all, or one page (see
    /// [`ListOptions`]).
    pub async fn notifications_with(&self, options: &ListOptions) -> Result<Vec<Notification>> {
        options
            .list(|| self.notifications(), |limit, after| self.notifications_page(limit, after))
            .await
    }

    /// A page of the user's notifications, newest first (see [`Session::datasets_page`]).
    pub async fn notifications_page(
        &self,
        limit: Option<usize>,
        after: Option<NotificationId>,
    ) -> Result<ListPage<Notification, NotificationId>> {
        let page = Page::requested(limit, after)?;
        let owner = self.owner().await?;
        Ok(ListPage::of(self.yard.inner.notifications.list_page(owner, page).await?, |n| n))
    }

    /// Marks a notification read.
    pub async fn mark_read(&self, id: NotificationId) -> Result<Notification> {
        self.yard.inner.notifications.mark_read(self.owner().await?, id).await
    }

    /// This user's notifications as they are created, live. The stream ends, after an
    /// `Unauthorized` item, once this session's token is refused (logout, password change,
    /// account deletion, expiry).
    pub async fn notification_events(&self) -> Result<BoxStream<'static, Result<Notification>>> {
        let notifications = self.yard.inner.notifications.follow(self.owner().await?).await?;
        Ok(self.signed_in().guard(notifications.map(Ok).boxed()))
    }

    fn signed_in(&self) -> SignedIn {
        SignedIn::new(self.yard.clone(), self.token.token.clone())
    }
}

/// Records as the views users see.
/// How a binding's list call was asked: `{ limit, after }` (JavaScript) or `limit=`, `after=`
/// (Python). Neither asks for the whole list; either asks for one page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct ListOptions {
    /// Items in the page (default 100, at most 1,000).
    pub limit: Option<usize>,
    /// The id of the last item of the page before.
    pub after: Option<String>,
}

impl ListOptions {
    /// Options from a JSON object; an unknown key is refused, naming it.
    pub fn from_json_map(fields: serde_json::Map<String, serde_json::Value>) -> Result<Self> {
        modelyard_core::json::refuse_unknown(&fields, &["limit", "after"])?;
        modelyard_core::json::from_value(serde_json::Value::Object(fields))
    }

    /// Runs a binding's list call: `all` without a limit or cursor, else one page by `page`.
    async fn list<T, Id, All, Paged>(
        &self,
        all: impl FnOnce() -> All,
        page: impl FnOnce(Option<usize>, Option<Id>) -> Paged,
    ) -> Result<Vec<T>>
    where
        Id: std::str::FromStr,
        All: std::future::Future<Output = Result<Vec<T>>>,
        Paged: std::future::Future<Output = Result<ListPage<T, Id>>>,
    {
        let (limit, after) = self.parse::<Id>()?;
        if limit.is_none() && after.is_none() {
            return all().await;
        }
        Ok(page(limit, after).await?.items)
    }

    /// The limit and the id `after` stands for; text that is no id is a `Validation` error
    /// on `after`.
    pub fn parse<Id: std::str::FromStr>(&self) -> Result<(Option<usize>, Option<Id>)> {
        let after =
            match self.after.as_deref() {
                None => None,
                Some(text) => Some(text.parse().map_err(|_| {
                    Error::validation("after", "not the id of an item of this list")
                })?),
            };
        Ok((self.limit, after))
    }
}

/// One page of a list, newest first, and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage<T, Id> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass it as `after` for the next page; `None` when this page ends the list.
    pub next_cursor: Option<Id>,
}

impl<T, Id> ListPage<T, Id> {
    fn of<R: modelyard_core::Record<Id = Id>>(listed: Listed<R>, view: impl Fn(R) -> T) -> Self {
        Self { items: listed.records.into_iter().map(view).collect(), next_cursor: listed.next }
    }
}

fn views<R, V: From<R>>(records: Vec<R>) -> Vec<V> {
    records.into_iter().map(V::from).collect()
}

/// Shows who the session is for and when it expires; never the token.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user.id)
            .field("expires_at", &self.token.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    const PASSWORD: &str = "a long enough passphrase";

    async fn yard(dir: &std::path::Path) -> crate::Modelyard {
        let mut config = crate::Config::new(&format!("sled://{}", dir.display())).unwrap();
        config.jwt_secret = Some(vec![7u8; 32]);
        config.trainer = None;
        crate::Modelyard::open(config).await.unwrap()
    }

    #[tokio::test]
    async fn a_logged_out_session_is_refused_on_its_very_next_call() {
        let dir = tempfile::tempdir().unwrap();
        let yard = yard(dir.path()).await;
        let ada = yard.register("ada", "ada@example.com", PASSWORD).await.unwrap();
        ada.logout().await.unwrap();
        assert_eq!(ada.datasets().await.unwrap_err().code(), "UNAUTHORIZED");
    }

    #[tokio::test]
    async fn only_the_first_call_relies_on_the_creation_check() {
        let dir = tempfile::tempdir().unwrap();
        let yard = yard(dir.path()).await;
        let ada = yard.register("ada", "ada@example.com", PASSWORD).await.unwrap();
        let request = yard.session(ada.token()).await.unwrap();
        assert!(request.datasets().await.unwrap().is_empty());
        ada.change_password(PASSWORD, "another long enough passphrase").await.unwrap();
        // The creation check is spent: every later call sees the revocation.
        assert_eq!(request.datasets().await.unwrap_err().code(), "UNAUTHORIZED");
        assert_eq!(request.clone().models().await.unwrap_err().code(), "UNAUTHORIZED");
    }
}
