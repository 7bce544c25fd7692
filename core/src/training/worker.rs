//! A training worker: claims a job, holds its lease by heartbeat, trains on a thread of its own
//! while recording every epoch, and ends the run exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{TrainingConfig, checkpoint, fail, publish_status};
use crate::{
    ArtifactFile, BlobKey, CancelToken, Checkpoint, Claim, EpochMetrics, Error, Event, EventKind,
    Lease, ModelVersion, NotificationKind, Result, RunId, RunStatus, Stores, Trainer,
    TrainingInput, TrainingObserver, TrainingOutcome, TrainingRun, datasets, notifications::notify,
    now,
};

/// Trains queued runs one at a time.
pub struct Worker {
    name: String,
    stores: Stores,
    trainer: Arc<dyn Trainer>,
    config: TrainingConfig,
}

/// A worker running in the background.
pub struct WorkerHandle {
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// Stops the worker: a run in progress stops within one batch, keeps its checkpoint and goes
    /// back to the queue for any worker to resume.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        if let Err(err) = self.task.await {
            tracing::error!(%err, "worker task ended abnormally");
        }
    }
}

/// Why a training stopped before its end.
#[derive(Default)]
struct StopReasons {
    /// Another worker owns the run now: touch nothing.
    lease_lost: AtomicBool,
    /// The user asked to cancel.
    cancel_requested: AtomicBool,
    /// The run's record is gone (its account was erased): stop and leave nothing behind.
    run_gone: AtomicBool,
}

impl Worker {
    pub(super) fn new(
        name: String,
        stores: Stores,
        trainer: Arc<dyn Trainer>,
        config: TrainingConfig,
    ) -> Self {
        Self { name, stores, trainer, config }
    }

    /// Runs in the background until shut down.
    pub fn spawn(self) -> WorkerHandle {
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move { self.run(stop).await });
        WorkerHandle { shutdown, task }
    }

    /// Claims and trains jobs until `shutdown` is cancelled.
    ///
    /// A failing step (the queue or record store unreachable) is retried with a backoff that
    /// doubles from the poll interval up to `MAX_RETRY_BACKOFF` (5 s), and resets after a success:
    /// an outage neither stops the worker nor floods the backend and the log.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            let pause = match self.run_once(&shutdown).await {
                Ok(true) => {
                    failures = 0;
                    continue;
                }
                Ok(false) => {
                    failures = 0;
                    self.config.poll_interval
                }
                Err(err) => {
                    failures = failures.saturating_add(1);
                    let pause = retry_backoff(self.config.poll_interval, failures);
                    tracing::warn!(
                        %err, worker = %self.name, failures, retry_in_ms = pause.as_millis(),
                        "worker step failed; retrying"
                    );
                    pause
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Requeues lapsed leases, then claims and handles at most one job. Returns whether it
    /// found one.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> Result<bool> {
        self.stores.queue.reclaim_expired().await?;
        let Some(claim) = self.stores.queue.claim(&self.name, self.config.lease).await? else {
            return Ok(false);
        };
        let run_id = claim.job.run_id;
        if let Err(err) = self.handle(&claim, shutdown).await {
            // The job stays leased: when the lease lapses another attempt starts.
            tracing::warn!(%err, run = %run_id, worker = %self.name, "run attempt failed");
        }
        Ok(true)
    }

    async fn handle(&self, claim: &Claim, shutdown: &CancellationToken) -> Result<()> {
        let Job { owner, run_id } = claim.job.clone();
        let run = match self.stores.runs.get(owner, run_id).await {
            Ok(run) => run,
            Err(Error::NotFound(_)) => return self.forget_job(claim, run_id).await,
            Err(err) => return Err(err),
        };
        if run.status.is_final() {
            return self.stores.queue.complete(claim).await;
        }
        if claim.deliveries > self.config.max_attempts {
            let reason = format!(
                "training was interrupted {} times (a worker stopped without finishing); giving up",
                claim.deliveries - 1
            );
            return self.end(claim, &run, RunStatus::Failed, None, Some(reason), None).await;
        }
        let attempt = claim.deliveries;
        let lease = Lease { worker: self.name.clone(), until: claim.lease_until };
        let run = self
            .stores
            .runs
            .update(owner, run_id, &mut |run| {
                if run.status.is_final() {
                    return Err(Error::Conflict("the run already ended".into()));
                }
                run.status = RunStatus::Running;
                run.attempt = attempt;
                run.lease = Some(lease.clone());
                run.started_at.get_or_insert_with(now);
                Ok(())
            })
            .await?;
        tracing::info!(run = %run.id, worker = %self.name, attempt, "training started");
        publish_status(&self.stores, &run, None).await;
        if run.cancel_requested {
            return self.end(claim, &run, RunStatus::Cancelled, None, None, None).await;
        }

        let cancel = CancelToken::new();
        let reasons = Arc::new(StopReasons::default());
        let heartbeat = self.spawn_heartbeat(claim, &run, cancel.clone(), reasons.clone());
        let watcher = {
            let (cancel, shutdown) = (cancel.clone(), shutdown.clone());
            tokio::spawn(async move {
                shutdown.cancelled().await;
                cancel.cancel();
            })
        };
        // Dropping these guards stops the heartbeat even if this task is aborted mid-training.
        let _heartbeat = AbortOnDrop(heartbeat);
        let _watcher = AbortOnDrop(watcher);
        let outcome = self.train(&run, cancel.clone(), reasons.clone()).await;
        drop((_heartbeat, _watcher));

        if reasons.run_gone.load(Ordering::SeqCst) {
            return self.forget(claim, &run).await;
        }
        if reasons.lease_lost.load(Ordering::SeqCst) {
            tracing::warn!(run = %run.id, worker = %self.name, "lease lost; leaving the run to its new holder");
            return Ok(());
        }
        let ended = match outcome {
            Ok(TrainingOutcome::Trained(model)) => {
                let version = self.save_artifact(&run, model.files, &model.metrics).await?;
                let files: Vec<BlobKey> =
                    version.artifact.iter().map(|f| f.blob_key.clone()).collect();
                let metrics = Some(model.metrics);
                match self
                    .end(claim, &run, RunStatus::Completed, metrics, None, Some(version))
                    .await
                {
                    // The run or its model was erased while the files were written.
                    Err(err @ Error::NotFound(_)) => {
                        self.forget_history(&run).await;
                        for key in &files {
                            if let Err(err) = self.stores.blobs.delete(key).await {
                                tracing::warn!(%err, %key, "artifact of an erased run not removed");
                            }
                        }
                        Err(err)
                    }
                    other => other,
                }
            }
            Ok(TrainingOutcome::Cancelled) if reasons.cancel_requested.load(Ordering::SeqCst) => {
                self.end(claim, &run, RunStatus::Cancelled, None, None, None).await
            }
            Ok(TrainingOutcome::Cancelled) => self.requeue(claim, &run).await,
            Err(err @ Error::Unavailable(_)) => Err(err),
            Err(err) => {
                let reason = match &err {
                    Error::Validation { field, message } => format!("{field}: {message}"),
                    other => other.to_string(),
                };
                self.end(claim, &run, RunStatus::Failed, None, Some(reason), None).await
            }
        };
        match ended {
            Err(Error::NotFound(_)) => self.forget(claim, &run).await,
            other => other,
        }
    }

    async fn train(
        &self,
        run: &TrainingRun,
        cancel: CancelToken,
        reasons: Arc<StopReasons>,
    ) -> Result<TrainingOutcome> {
        let model = self.stores.models.get(run.owner, run.model_id).await?;
        let dataset = self.stores.datasets.get(run.owner, run.dataset_id).await?;
        let columns = model.columns();
        let table =
            datasets::read_stored_table(self.stores.blobs.as_ref(), &dataset, Some(&columns))
                .await?;
        let resume = match self.stores.blobs.get_bytes(&checkpoint::checkpoint_key(run.id)?).await {
            Ok(bytes) => Some(checkpoint::decode(&bytes)?),
            Err(Error::NotFound(_)) => None,
            Err(err) => return Err(err),
        };
        let mut recorder = EpochRecorder {
            runtime: tokio::runtime::Handle::current(),
            stores: self.stores.clone(),
            run: run.clone(),
            cancel: cancel.clone(),
            reasons,
        };
        let trainer = self.trainer.clone();
        let params = run.params.clone();
        // On a thread of its own (see `threads`): it waits on the store for every epoch, and
        // the kernels' buffers and the allocator's pages of its batches go when it ends.
        crate::threads::on_own_thread("modelyard-train", move || {
            let input = TrainingInput {
                model: &model,
                schema: &dataset.schema,
                table: &table,
                params: &params,
            };
            trainer.train(input, resume, &mut recorder, &cancel)
        })
        .await?
    }

    fn spawn_heartbeat(
        &self,
        claim: &Claim,
        run: &TrainingRun,
        cancel: CancelToken,
        reasons: Arc<StopReasons>,
    ) -> JoinHandle<()> {
        let (stores, claim, config) = (self.stores.clone(), claim.clone(), self.config.clone());
        let (owner, id, attempt) = (run.owner, run.id, run.attempt);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(config.heartbeat).await;
                let renewed = match stores.queue.heartbeat(&claim, config.lease).await {
                    Ok(until) => {
                        stores
                            .runs
                            .update(owner, id, &mut |run| {
                                check_holder(run, attempt)?;
                                if let Some(lease) = &mut run.lease {
                                    lease.until = until;
                                }
                                Ok(())
                            })
                            .await
                    }
                    Err(err) => Err(err),
                };
                match renewed {
                    Ok(run) if run.cancel_requested => {
                        reasons.cancel_requested.store(true, Ordering::SeqCst);
                        cancel.cancel();
                    }
                    Ok(_) => {}
                    Err(Error::NotFound(_)) => {
                        reasons.run_gone.store(true, Ordering::SeqCst);
                        cancel.cancel();
                        return;
                    }
                    Err(Error::Conflict(_)) => {
                        reasons.lease_lost.store(true, Ordering::SeqCst);
                        cancel.cancel();
                        return;
                    }
                    Err(err) => tracing::warn!(%err, run = %id, "heartbeat failed; retrying"),
                }
            }
        })
    }

    async fn save_artifact(
        &self,
        run: &TrainingRun,
        files: Vec<(String, Vec<u8>)>,
        metrics: &std::collections::BTreeMap<String, f64>,
    ) -> Result<ModelVersion> {
        let mut artifact = Vec::with_capacity(files.len());
        for (name, bytes) in files {
            let key = BlobKey::parse(&format!("models/{}/{}/{}", run.model_id, run.id, name))?;
            let size_bytes = self.stores.blobs.put_bytes(&key, bytes.into()).await?;
            artifact.push(ArtifactFile { name, blob_key: key, size_bytes });
        }
        Ok(ModelVersion { run_id: run.id, artifact, metrics: metrics.clone(), trained_at: now() })
    }

    /// Ends the run once: only the holder of the current attempt may, so a worker that lost its
    /// lease can never complete a run twice.
    async fn end(
        &self,
        claim: &Claim,
        run: &TrainingRun,
        status: RunStatus,
        metrics: Option<std::collections::BTreeMap<String, f64>>,
        error: Option<String>,
        version: Option<ModelVersion>,
    ) -> Result<()> {
        let attempt = claim.deliveries;
        if let Some(version) = version {
            // The new version goes live before the run reads as completed, so whoever sees the
            // completion can predict with it at once. Republishing it (if the run is reclaimed
            // after all) only repeats the same kind of change.
            check_holder(&self.stores.runs.get(run.owner, run.id).await?, attempt)?;
            self.publish_version(run, version).await?;
        }
        let ended = self
            .stores
            .runs
            .update(run.owner, run.id, &mut |r| {
                if status == RunStatus::Failed && error.is_some() && r.attempt != attempt {
                    // Giving up after too many attempts: no live holder to check against.
                    return fail(r, error.as_deref().unwrap_or_default());
                }
                check_holder(r, attempt)?;
                r.status = status;
                r.final_metrics = metrics.clone();
                r.error = error.clone();
                r.lease = None;
                r.cancel_requested = false;
                r.finished_at = Some(now());
                Ok(())
            })
            .await?;
        let (kind, message) = match status {
            RunStatus::Completed => {
                (NotificationKind::RunCompleted, "Training completed.".to_owned())
            }
            RunStatus::Cancelled => {
                (NotificationKind::RunCancelled, "Training was cancelled.".to_owned())
            }
            _ => (
                NotificationKind::RunFailed,
                format!("Training failed: {}", ended.error.as_deref().unwrap_or("unknown error")),
            ),
        };
        let keep = self.config.max_notifications_per_user;
        notify(&self.stores, keep, run.owner, kind, Some(run.id), message).await?;
        // Last, so a follower that sees the final status also finds the notification.
        publish_status(&self.stores, &ended, ended.error.clone()).await;
        self.stores.queue.complete(claim).await?;
        let key = checkpoint::checkpoint_key(run.id)?;
        if let Err(err) = self.stores.blobs.delete(&key).await {
            tracing::warn!(%err, run = %run.id, "checkpoint not removed");
        }
        Ok(())
    }

    /// Drops the job of a run whose record is gone, and the checkpoint it may have left.
    async fn forget(&self, claim: &Claim, run: &TrainingRun) -> Result<()> {
        tracing::info!(run = %run.id, worker = %self.name, "the run was deleted; training stopped");
        self.forget_history(run).await;
        self.forget_job(claim, run.id).await
    }

    /// Removes epochs this worker may have recorded after the run's record was deleted.
    async fn forget_history(&self, run: &TrainingRun) {
        if let Err(err) = self.stores.history.delete_epochs(run.owner, run.id).await {
            tracing::warn!(%err, run = %run.id, "history of a deleted run not removed");
        }
    }

    async fn forget_job(&self, claim: &Claim, run: RunId) -> Result<()> {
        let key = checkpoint::checkpoint_key(run)?;
        if let Err(err) = self.stores.blobs.delete(&key).await {
            tracing::warn!(%err, %run, "checkpoint of a deleted run not removed");
        }
        self.stores.queue.complete(claim).await
    }

    /// Points the model at its new version and drops the files of the one it replaces.
    async fn publish_version(&self, run: &TrainingRun, version: ModelVersion) -> Result<()> {
        let mut replaced = None;
        self.stores
            .models
            .update(run.owner, run.model_id, &mut |model| {
                replaced = model.latest_version.replace(version.clone());
                Ok(())
            })
            .await?;
        for file in replaced.iter().flat_map(|v| &v.artifact) {
            if let Err(err) = self.stores.blobs.delete(&file.blob_key).await {
                tracing::warn!(%err, key = %file.blob_key, "old artifact not removed");
            }
        }
        Ok(())
    }

    /// Gives an interrupted run back to the queue (graceful shutdown); its checkpoint stays.
    async fn requeue(&self, claim: &Claim, run: &TrainingRun) -> Result<()> {
        let attempt = claim.deliveries;
        let run = self
            .stores
            .runs
            .update(run.owner, run.id, &mut |r| {
                check_holder(r, attempt)?;
                r.status = RunStatus::Queued;
                r.lease = None;
                Ok(())
            })
            .await?;
        publish_status(&self.stores, &run, None).await;
        self.stores.queue.release(claim).await
    }
}

/// Refuses a change unless this attempt still holds the running run.
fn check_holder(run: &TrainingRun, attempt: u32) -> Result<()> {
    if run.status != RunStatus::Running || run.attempt != attempt {
        return Err(Error::Conflict("this worker no longer holds the run".into()));
    }
    Ok(())
}

use crate::Job;

/// Aborts a helper task when its owner goes away.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Records each epoch from the trainer's thread: the run's count (which checks that this attempt
/// still holds the run), the epoch's metrics, then the checkpoint, so a crash in between repeats
/// that epoch (an upsert) rather than losing it.
struct EpochRecorder {
    runtime: tokio::runtime::Handle,
    stores: Stores,
    run: TrainingRun,
    cancel: CancelToken,
    reasons: Arc<StopReasons>,
}

impl TrainingObserver for EpochRecorder {
    fn on_epoch(&mut self, metrics: &EpochMetrics, checkpoint: &Checkpoint) -> Result<()> {
        let (owner, id, attempt) = (self.run.owner, self.run.id, self.run.attempt);
        let result = self.runtime.block_on(async {
            let run = self
                .stores
                .runs
                .update(owner, id, &mut |run| {
                    check_holder(run, attempt)?;
                    run.complete_epoch(metrics.epoch);
                    Ok(())
                })
                .await?;
            // After the holder check: a worker that lost the run writes no epoch.
            self.stores.history.put_epoch(owner, id, metrics).await?;
            let key = checkpoint::checkpoint_key(id)?;
            self.stores.blobs.put_bytes(&key, checkpoint::encode(checkpoint)).await?;
            let event =
                Event { owner, kind: EventKind::Epoch { run_id: id, metrics: metrics.clone() } };
            if let Err(err) = self.stores.events.publish(&event).await {
                tracing::warn!(%err, run = %id, "epoch event not published");
            }
            Ok::<_, Error>(run)
        });
        match result {
            Ok(run) if run.cancel_requested => {
                self.reasons.cancel_requested.store(true, Ordering::SeqCst);
                self.cancel.cancel();
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(err @ Error::Conflict(_)) => {
                self.reasons.lease_lost.store(true, Ordering::SeqCst);
                Err(err)
            }
            Err(err @ Error::NotFound(_)) => {
                self.reasons.run_gone.store(true, Ordering::SeqCst);
                Err(err)
            }
            Err(err) => Err(err),
        }
    }
}

/// The longest pause between retries of a failing worker step.
pub const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(5);

/// The pause after the `failures`-th failure in a row: `base`, doubling, at most
/// [`MAX_RETRY_BACKOFF`] (and never less than `base`).
fn retry_backoff(base: Duration, failures: u32) -> Duration {
    let doubled = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled.min(MAX_RETRY_BACKOFF).max(base)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{MAX_RETRY_BACKOFF, retry_backoff};

    #[test]
    fn retries_back_off_from_the_poll_interval_to_the_cap() {
        let base = Duration::from_millis(250);
        let pauses: Vec<u128> = (1..=7).map(|n| retry_backoff(base, n).as_millis()).collect();
        assert_eq!(pauses, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(retry_backoff(base, u32::MAX), MAX_RETRY_BACKOFF);
        // A poll interval above the cap is kept, never shortened.
        let slow = Duration::from_secs(9);
        assert_eq!(retry_backoff(slow, 3), slow);
    }
}
