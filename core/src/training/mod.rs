//! The run lifecycle: start (persist queued, enqueue), workers that claim and train under a lease,
//! cancel, and following a run live.

mod checkpoint;
mod follow;
mod params;
mod worker;

pub use checkpoint::checkpoint_key;
pub use params::{MAX_BATCH_SIZE, MAX_EPOCHS, validate_params};
pub use worker::{Worker, WorkerHandle};

use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;

use crate::models::CostLimits;

use crate::{
    EpochMetrics, EpochPage, Error, Event, EventKind, Job, Listed, ModelId, NotificationKind, Page,
    Result, RunId, RunStatus, Stores, TrainParams, Trainer, TrainingRun, UserId,
    notifications::notify, now,
};

/// How workers run.
#[derive(Debug, Clone)]
pub struct TrainingConfig {
    /// Workers per process (0: this process only serves; others train).
    pub workers: usize,
    /// How long a claim holds a run without a heartbeat.
    pub lease: Duration,
    /// How often a worker renews its lease (well under `lease`).
    pub heartbeat: Duration,
    /// How often an idle worker looks for work.
    pub poll_interval: Duration,
    /// Claims of one run before it fails for good.
    pub max_attempts: u32,
    /// What one run may cost, checked before it is queued.
    pub cost_limits: CostLimits,
    /// Runs one user may have queued or running at once: beyond it a start is a `Conflict`, so
    /// one user cannot fill the queue ahead of everyone else.
    pub max_active_runs_per_user: u32,
    /// Runs one user may keep, finished ones included: beyond it a start is a `Conflict` until
    /// old runs are deleted.
    pub max_runs_per_user: u64,
    /// Notifications one user keeps: past it, the oldest go as new ones arrive.
    pub max_notifications_per_user: u64,
}

/// Runs one user may have queued or running at once, by default.
pub const DEFAULT_MAX_ACTIVE_RUNS_PER_USER: u32 = 10;
/// Runs one user may keep, by default.
pub const DEFAULT_MAX_RUNS_PER_USER: u64 = 1_000;
/// Notifications one user keeps, by default.
pub const DEFAULT_MAX_NOTIFICATIONS_PER_USER: u64 = 500;

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            workers: 1,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll_interval: Duration::from_millis(250),
            max_attempts: 3,
            cost_limits: CostLimits::default(),
            max_active_runs_per_user: DEFAULT_MAX_ACTIVE_RUNS_PER_USER,
            max_runs_per_user: DEFAULT_MAX_RUNS_PER_USER,
            max_notifications_per_user: DEFAULT_MAX_NOTIFICATIONS_PER_USER,
        }
    }
}

/// A live update about one run, as `run.events()` yields it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// An epoch finished.
    Epoch {
        /// Its metrics.
        metrics: EpochMetrics,
    },
    /// The run's status changed.
    Status {
        /// The new status.
        status: RunStatus,
        /// Why, for a failure.
        error: Option<String>,
    },
}

impl RunEvent {
    /// The epoch number of an `Epoch` event.
    pub fn epoch(&self) -> Option<u32> {
        match self {
            Self::Epoch { metrics } => Some(metrics.epoch),
            Self::Status { .. } => None,
        }
    }

    /// The status of a `Status` event that ends the run (completed, failed, cancelled).
    pub fn final_status(&self) -> Option<RunStatus> {
        match self {
            Self::Status { status, .. } if status.is_final() => Some(*status),
            _ => None,
        }
    }
}

/// Starts, lists, cancels and follows training runs.
#[derive(Clone)]
pub struct TrainingService {
    stores: Stores,
    trainer: Option<Arc<dyn Trainer>>,
    config: TrainingConfig,
}

impl TrainingService {
    /// A service over `stores`; `trainer` is needed only by workers.
    pub fn new(stores: Stores, trainer: Option<Arc<dyn Trainer>>, config: TrainingConfig) -> Self {
        Self { stores, trainer, config }
    }

    /// Checks the parameters, persists a queued run and enqueues it.
    ///
    /// A model trains one run at a time: starting while another is queued or running is a
    /// `Conflict`.
    pub async fn start(
        &self,
        owner: UserId,
        model_id: ModelId,
        params: TrainParams,
    ) -> Result<TrainingRun> {
        validate_params(&params)?;
        let model = self.stores.models.get(owner, model_id).await?;
        let dataset = self.stores.datasets.get(owner, model.dataset_id).await?;
        self.config.cost_limits.check_run(&model.summary, dataset.row_count, &params)?;
        let runs = self.stores.runs.list_all(owner).await?;
        if let Some(active) = runs.iter().find(|r| r.model_id == model_id && !r.status.is_final()) {
            return Err(Error::Conflict(format!(
                "model already has an active run {} ({:?})",
                active.id, active.status
            )));
        }
        let active = runs.iter().filter(|r| !r.status.is_final()).count();
        let limit = self.config.max_active_runs_per_user;
        if active >= usize::try_from(limit).unwrap_or(usize::MAX) {
            return Err(Error::Conflict(format!(
                "you already have {active} runs queued or running, the most one user may have \
                 (max_active_runs_per_user = {limit}): wait for one to finish, or cancel one"
            )));
        }
        let kept = self.config.max_runs_per_user;
        if u64::try_from(runs.len()).unwrap_or(u64::MAX) >= kept {
            return Err(Error::Conflict(format!(
                "you have {} runs, the most one user may keep (max_runs_per_user = {kept}): \
                 delete old runs first",
                runs.len()
            )));
        }
        let run = TrainingRun::queued(owner, model_id, model.dataset_id, params);
        self.stores.runs.insert(&run).await?;
        if let Err(err) = self.stores.queue.enqueue(&Job { run_id: run.id, owner }).await {
            let reason = format!("could not be queued: {err}");
            let _ = self.stores.runs.update(owner, run.id, &mut |r| fail(r, &reason)).await;
            return Err(err);
        }
        publish_status(&self.stores, &run, None).await;
        Ok(run)
    }

    /// The owner's runs, newest first.
    pub async fn list(&self, owner: UserId) -> Result<Vec<TrainingRun>> {
        self.stores.runs.list_all(owner).await
    }

    /// A page of the owner's runs, newest first.
    pub async fn list_page(&self, owner: UserId, page: Page<RunId>) -> Result<Listed<TrainingRun>> {
        self.stores.runs.list(owner, page).await
    }

    /// Deletes a finished run, its history and its checkpoint; a queued or running run is a `Conflict`
    /// (cancel it first). The model keeps the files the run trained.
    pub async fn delete(&self, owner: UserId, id: RunId) -> Result<()> {
        let run = self.get(owner, id).await?;
        if !run.status.is_final() {
            return Err(Error::Conflict(format!(
                "the run is {:?}: cancel it before deleting it",
                run.status
            )));
        }
        self.stores.runs.delete(owner, id).await?;
        self.stores.history.delete_epochs(owner, id).await?;
        if let Err(err) = self.stores.blobs.delete(&checkpoint_key(id)?).await {
            tracing::warn!(%err, run = %id, "checkpoint of a deleted run not removed");
        }
        Ok(())
    }

    /// One of the owner's runs.
    pub async fn get(&self, owner: UserId, id: RunId) -> Result<TrainingRun> {
        self.stores.runs.get(owner, id).await
    }

    /// A run's per-epoch metrics so far, oldest first.
    pub async fn history(&self, owner: UserId, id: RunId) -> Result<Vec<EpochMetrics>> {
        self.get(owner, id).await?;
        self.stores.history.all_epochs(owner, id).await
    }

    /// A page of a run's per-epoch metrics, oldest first: at most `page.limit` epochs
    /// numbered above `page.after`.
    pub async fn history_page(
        &self,
        owner: UserId,
        id: RunId,
        page: Page<u32>,
    ) -> Result<EpochPage> {
        self.get(owner, id).await?;
        self.stores.history.epochs(owner, id, page).await
    }

    /// Cancels a run: a queued run ends at once; a running one stops within one batch.
    /// A finished run is a `Conflict`.
    pub async fn cancel(&self, owner: UserId, id: RunId) -> Result<TrainingRun> {
        let run = self
            .stores
            .runs
            .update(owner, id, &mut |run| match run.status {
                RunStatus::Queued => {
                    run.status = RunStatus::Cancelled;
                    run.finished_at = Some(now());
                    Ok(())
                }
                RunStatus::Running => {
                    run.cancel_requested = true;
                    Ok(())
                }
                status => Err(Error::Conflict(format!("the run already ended ({status:?})"))),
            })
            .await?;
        if run.status == RunStatus::Cancelled {
            publish_status(&self.stores, &run, None).await;
            notify(
                &self.stores,
                self.config.max_notifications_per_user,
                owner,
                NotificationKind::RunCancelled,
                Some(run.id),
                "Training was cancelled before it started.".into(),
            )
            .await?;
        }
        Ok(run)
    }

    /// Follows a run: its history so far, then live epochs and status changes, ending after a
    /// final status.
    pub async fn follow(
        &self,
        owner: UserId,
        id: RunId,
    ) -> Result<BoxStream<'static, Result<RunEvent>>> {
        follow::follow(self.stores.clone(), owner, id).await
    }

    /// A worker that trains queued runs with this service's stores and trainer.
    pub fn worker(&self, name: impl Into<String>) -> Result<Worker> {
        let trainer = self.trainer.clone().ok_or_else(|| {
            Error::NotSupported("no trainer configured: this process cannot train".into())
        })?;
        Ok(Worker::new(name.into(), self.stores.clone(), trainer, self.config.clone()))
    }

    /// The configuration workers use.
    pub fn config(&self) -> &TrainingConfig {
        &self.config
    }
}

/// Marks a run failed; refuses a run that already ended.
fn fail(run: &mut TrainingRun, reason: &str) -> Result<()> {
    if run.status.is_final() {
        return Err(Error::Conflict("the run already ended".into()));
    }
    run.status = RunStatus::Failed;
    run.error = Some(reason.to_owned());
    run.lease = None;
    run.finished_at = Some(now());
    Ok(())
}

/// Publishes a run's status; losing a live event is logged, the record is the truth.
async fn publish_status(stores: &Stores, run: &TrainingRun, error: Option<String>) {
    let event = Event {
        owner: run.owner,
        kind: EventKind::Status { run_id: run.id, status: run.status, error },
    };
    if let Err(err) = stores.events.publish(&event).await {
        tracing::warn!(%err, run = %run.id, "status event not published");
    }
}
