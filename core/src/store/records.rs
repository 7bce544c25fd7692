use async_trait::async_trait;

use super::Mutation;
use crate::{
    Dataset, DatasetId, Model, ModelId, Notification, NotificationId, Result, RunId, TrainingRun,
    User, UserId,
};

/// Accounts.
///
/// # Behavior
/// - `create_user` fails with `Conflict` when another user has the same email after
///   [`crate::normalize_email`], or the same username (case-insensitively); nothing is written then.
/// - `find_user_by_email` matches on the normalised email and returns `None` when there is none.
/// - `update_user` applies the mutation atomically; the mutation may not change the id or email.
/// - Missing ids are `NotFound`. A created user is durable when `create_user` returns.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user.
    async fn create_user(&self, user: &User) -> Result<()>;
    /// The user with this id.
    async fn get_user(&self, id: UserId) -> Result<User>;
    /// The user whose normalised email equals `email` normalised.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    /// Atomically changes one user and returns it as stored.
    async fn update_user(&self, id: UserId, mutation: Mutation<'_, User>) -> Result<User>;
    /// Removes a user; `NotFound` if absent. Frees the email and username.
    async fn delete_user(&self, id: UserId) -> Result<()>;
}

/// Dataset records (the bytes live in the [`super::BlobStore`]).
///
/// # Behavior
/// - Every read takes the caller's id; a dataset of another owner is `NotFound`.
/// - `create_dataset` with an existing id is `Conflict`.
/// - `list_datasets` returns the owner's datasets, newest first.
#[async_trait]
pub trait DatasetStore: Send + Sync {
    /// Stores a new dataset record.
    async fn create_dataset(&self, dataset: &Dataset) -> Result<()>;
    /// The owner's dataset with this id.
    async fn get_dataset(&self, owner: UserId, id: DatasetId) -> Result<Dataset>;
    /// The owner's datasets, newest first.
    async fn list_datasets(&self, owner: UserId) -> Result<Vec<Dataset>>;
    /// Removes the owner's dataset record; `NotFound` if absent or not theirs.
    async fn delete_dataset(&self, owner: UserId, id: DatasetId) -> Result<()>;
}

/// Model records.
///
/// # Behavior
/// As [`DatasetStore`], plus `update_model`: an atomic change of one of the owner's models.
#[async_trait]
pub trait ModelStore: Send + Sync {
    /// Stores a new model record.
    async fn create_model(&self, model: &Model) -> Result<()>;
    /// The owner's model with this id.
    async fn get_model(&self, owner: UserId, id: ModelId) -> Result<Model>;
    /// The owner's models, newest first.
    async fn list_models(&self, owner: UserId) -> Result<Vec<Model>>;
    /// Atomically changes one of the owner's models and returns it as stored.
    async fn update_model(
        &self,
        owner: UserId,
        id: ModelId,
        mutation: Mutation<'_, Model>,
    ) -> Result<Model>;
    /// Removes the owner's model; `NotFound` if absent or not theirs.
    async fn delete_model(&self, owner: UserId, id: ModelId) -> Result<()>;
}

/// Training runs.
///
/// # Behavior
/// As [`ModelStore`]. `update_run` is how a run's lifecycle moves (claim, append an epoch,
/// heartbeat, finish); its atomicity is what stops two workers from both completing a run.
#[async_trait]
pub trait RunStore: Send + Sync {
    /// Stores a new run.
    async fn create_run(&self, run: &TrainingRun) -> Result<()>;
    /// The owner's run with this id.
    async fn get_run(&self, owner: UserId, id: RunId) -> Result<TrainingRun>;
    /// The owner's runs, newest first.
    async fn list_runs(&self, owner: UserId) -> Result<Vec<TrainingRun>>;
    /// Atomically changes one of the owner's runs and returns it as stored.
    async fn update_run(
        &self,
        owner: UserId,
        id: RunId,
        mutation: Mutation<'_, TrainingRun>,
    ) -> Result<TrainingRun>;
}

/// Notifications.
///
/// # Behavior
/// Owner-scoped as the other records; `list_notifications` is newest first; `mark_read` is
/// idempotent.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a new notification.
    async fn create_notification(&self, notification: &Notification) -> Result<()>;
    /// The owner's notifications, newest first.
    async fn list_notifications(&self, owner: UserId) -> Result<Vec<Notification>>;
    /// Marks one of the owner's notifications read and returns it.
    async fn mark_read(&self, owner: UserId, id: NotificationId) -> Result<Notification>;
}
