//! A signed-in user's handle: every operation of DESIGN §9, checked against the token each call.

use futures::stream::BoxStream;
use modelyard_core::auth::IssuedToken;
use modelyard_core::{ByteStream, Timestamp};

use crate::{
    Dataset, DatasetId, Evaluation, Model, ModelId, ModelRequest, ModelSummary, Modelyard,
    Notification, NotificationId, Prediction, Preview, PublicUser, Result, Run, RunId, TrainParams,
    TrainingRun, Upload, UserId,
};

/// A signed-in user. Each call re-checks the token, so a logged-out or revoked session stops
/// working at once.
#[derive(Clone)]
pub struct Session {
    yard: Modelyard,
    user: PublicUser,
    token: IssuedToken,
}

impl Session {
    pub(crate) fn new(yard: Modelyard, user: PublicUser, token: IssuedToken) -> Self {
        Self { yard, user, token }
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
        Ok(self.yard.inner.auth.authenticate(&self.token.token).await?.id)
    }

    /// The signed-in user, read now.
    pub async fn me(&self) -> Result<PublicUser> {
        Ok(self.yard.inner.auth.authenticate(&self.token.token).await?.public())
    }

    /// Ends this session: its token is refused from now on.
    pub async fn logout(&self) -> Result<()> {
        self.yard.inner.auth.logout(&self.token.token).await
    }

    /// Changes the password; every existing token of the user, this one included, stops working.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<()> {
        let owner = self.owner().await?;
        self.yard.inner.auth.change_password(owner, current, new).await
    }

    /// Deletes the account after checking its password; every token of it stops working.
    pub async fn delete_account(&self, password: &str) -> Result<()> {
        let owner = self.owner().await?;
        self.yard.inner.auth.delete_account(owner, password).await
    }

    /// Uploads a CSV dataset: checked, profiled and stored, or refused with nothing stored.
    pub async fn upload_dataset(&self, name: &str, source: Upload) -> Result<Dataset> {
        let owner = self.owner().await?;
        let (filename, data) = source.open().await?;
        self.yard.inner.datasets.upload(owner, name, &filename, data).await
    }

    /// The user's datasets, newest first.
    pub async fn datasets(&self) -> Result<Vec<Dataset>> {
        self.yard.inner.datasets.list(self.owner().await?).await
    }

    /// One dataset.
    pub async fn dataset(&self, id: DatasetId) -> Result<Dataset> {
        self.yard.inner.datasets.get(self.owner().await?, id).await
    }

    /// A dataset's first `limit` rows.
    pub async fn preview(&self, id: DatasetId, limit: usize) -> Result<Preview> {
        self.yard.inner.datasets.preview(self.owner().await?, id, limit).await
    }

    /// The dataset as CSV, with formula-like cells neutralised for spreadsheets.
    pub async fn download_dataset(&self, id: DatasetId) -> Result<(Dataset, ByteStream)> {
        self.yard.inner.datasets.download(self.owner().await?, id).await
    }

    /// Deletes a dataset; refused while a model uses it.
    pub async fn delete_dataset(&self, id: DatasetId) -> Result<()> {
        self.yard.inner.datasets.delete(self.owner().await?, id).await
    }

    /// Creates a model on one of the user's datasets.
    pub async fn create_model(&self, request: ModelRequest) -> Result<Model> {
        self.yard.inner.models.create(self.owner().await?, request).await
    }

    /// The user's models, newest first.
    pub async fn models(&self) -> Result<Vec<Model>> {
        self.yard.inner.models.list(self.owner().await?).await
    }

    /// One model.
    pub async fn model(&self, id: ModelId) -> Result<Model> {
        self.yard.inner.models.get(self.owner().await?, id).await
    }

    /// A model's layers, shapes and parameter counts.
    pub async fn summary(&self, id: ModelId) -> Result<ModelSummary> {
        self.yard.inner.models.summary(self.owner().await?, id).await
    }

    /// Deletes a model; refused while it trains.
    pub async fn delete_model(&self, id: ModelId) -> Result<()> {
        self.yard.inner.models.delete(self.owner().await?, id).await
    }

    /// Predicts rows given as JSON objects keyed by column name.
    pub async fn predict(
        &self,
        model: ModelId,
        rows: &[serde_json::Map<String, serde_json::Value>],
    ) -> Result<Vec<Prediction>> {
        self.yard.inner.models.predict(self.owner().await?, model, rows).await
    }

    /// Scores a model on a dataset holding its features and target.
    pub async fn evaluate(&self, model: ModelId, dataset: DatasetId) -> Result<Evaluation> {
        self.yard.inner.models.evaluate(self.owner().await?, model, dataset).await
    }

    /// The trained model's files (`weights.safetensors`, `model.json`).
    pub async fn model_artifact(&self, id: ModelId) -> Result<Vec<(String, bytes::Bytes)>> {
        self.yard.inner.models.artifact(self.owner().await?, id).await
    }

    /// Queues a training run of a model.
    pub async fn train(&self, model: ModelId, params: TrainParams) -> Result<Run> {
        let owner = self.owner().await?;
        let run = self.yard.inner.training.start(owner, model, params).await?;
        Ok(Run::new(self.yard.inner.training.clone(), owner, run.id))
    }

    /// The user's runs, newest first.
    pub async fn runs(&self) -> Result<Vec<TrainingRun>> {
        self.yard.inner.training.list(self.owner().await?).await
    }

    /// A handle on one of the user's runs.
    pub async fn run(&self, id: RunId) -> Result<Run> {
        let owner = self.owner().await?;
        self.yard.inner.training.get(owner, id).await?;
        Ok(Run::new(self.yard.inner.training.clone(), owner, id))
    }

    /// The user's notifications, newest first.
    pub async fn notifications(&self) -> Result<Vec<Notification>> {
        self.yard.inner.notifications.list(self.owner().await?).await
    }

    /// Marks a notification read.
    pub async fn mark_read(&self, id: NotificationId) -> Result<Notification> {
        self.yard.inner.notifications.mark_read(self.owner().await?, id).await
    }

    /// Live notifications for this user.
    pub async fn notification_events(&self) -> Result<BoxStream<'static, Notification>> {
        self.yard.inner.notifications.follow(self.owner().await?).await
    }
}
