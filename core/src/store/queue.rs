use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Result, RunId, Timestamp, UserId};

/// A training job: which run to train, for whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// The run to train.
    pub run_id: RunId,
    /// Its owner (every record read is owner-scoped).
    pub owner: UserId,
}

/// A job held by a worker under a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// The job.
    pub job: Job,
    /// How many times the job has been claimed, this claim included (1 on the first).
    pub deliveries: u32,
    /// When the lease lapses unless renewed.
    pub lease_until: Timestamp,
    /// The backend's receipt for this claim; a later claim of the same job gets another.
    pub receipt: String,
}

/// Training jobs, durable, each held by at most one worker at a time.
///
/// # Behavior
/// - `enqueue` makes a job claimable. Claims are fair between owners: the next claim takes the
///   oldest job of the owner whose latest claim is the oldest (an owner never served first; of
///   owners served equally long ago, the one whose job waited longest), so one user's many jobs
///   cannot keep another's waiting. Jobs of one owner are claimed oldest first.
/// - `claim` hands a ready job to `worker` with a lease of `lease`, or `None` when none is ready.
///   A job is never held by two live claims.
/// - `heartbeat` extends the claim's lease; `Conflict` if the claim is no longer the job's current
///   one (it expired and was reclaimed, or was completed).
/// - `complete` removes the job for good; `Conflict` if the claim is no longer current.
/// - `release` returns the job to the queue at once (graceful shutdown); `Conflict` if not current.
/// - `reclaim_expired` makes every job whose lease lapsed claimable again and returns how many;
///   a later `claim` of it counts one more delivery.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Adds a job.
    async fn enqueue(&self, job: &Job) -> Result<()>;
    /// Takes the next ready job (see the fairness rule above), if any, leased to `worker`.
    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>>;
    /// Extends a claim's lease; returns the new expiry.
    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Timestamp>;
    /// Finishes a job.
    async fn complete(&self, claim: &Claim) -> Result<()>;
    /// Gives a job back unfinished.
    async fn release(&self, claim: &Claim) -> Result<()>;
    /// Requeues jobs whose lease lapsed.
    async fn reclaim_expired(&self) -> Result<u64>;
}
