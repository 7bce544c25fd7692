//! [`crate::JobQueue`]: durable jobs, claimed fairly between owners (oldest first within one, and
//! between owners never served) under leases that lapse, are renewed by
//! heartbeats and are checked on every call by the claim's receipt.
//!
//! Short leases are whole seconds and are waited out with more than a second to spare.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::time::{Instant, sleep, sleep_until};

use super::{Fixture, assert_code, offered};
use crate::{Claim, Job, JobQueue, RunId, UserId, now};

const SHORT: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(600);
/// Comfortably past [`SHORT`].
const PAST_SHORT: Duration = Duration::from_millis(2_200);
/// How far a backend's clock reading may differ from ours when it sets a lease.
const CLOCK_SLACK: TimeDelta = TimeDelta::seconds(2);

fn new_job() -> Job {
    Job { run_id: RunId::new(), owner: UserId::new() }
}

fn queue(fx: &Fixture) -> Option<&Arc<dyn JobQueue>> {
    offered(&fx.backend.queue, "job queue")
}

async fn claim(queue: &dyn JobQueue, worker: &str, lease: Duration) -> Claim {
    let claim = queue.claim(worker, lease).await.expect("claim");
    claim.unwrap_or_else(|| panic!("{worker} found no job ready to claim"))
}

async fn assert_nothing_to_claim(queue: &dyn JobQueue, context: &str) {
    let claim = queue.claim("worker-z", LONG).await.expect("claim");
    assert!(claim.is_none(), "{context}: no job should be ready, got {claim:?}");
}

/// An empty queue answers `None`.
pub async fn empty_queue_claims_none(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    assert_nothing_to_claim(queue.as_ref(), "an empty queue").await;
}

/// An enqueued job is claimed once delivered, with a receipt and a lease of the asked length.
pub async fn enqueued_job_is_claimed(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    let job = new_job();
    queue.enqueue(&job).await.expect("enqueue");
    let before = now();
    let claimed = claim(queue.as_ref(), "worker-a", LONG).await;
    let after = now();
    assert_eq!(claimed.job, job, "the claim carries the enqueued job");
    assert_eq!(claimed.deliveries, 1, "a first claim is delivery 1");
    assert!(!claimed.receipt.is_empty(), "a claim has a receipt");
    let lease = TimeDelta::from_std(LONG).expect("a short duration");
    let (earliest, latest) = (before + lease - CLOCK_SLACK, after + lease + CLOCK_SLACK);
    assert!(
        (earliest..=latest).contains(&claimed.lease_until),
        "lease_until {} should be about now + {LONG:?} ({earliest} ..= {latest})",
        claimed.lease_until
    );
}

/// Jobs are handed out in the order they were enqueued.
pub async fn jobs_are_claimed_oldest_first(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    let jobs = [new_job(), new_job(), new_job()];
    for job in &jobs {
        queue.enqueue(job).await.expect("enqueue");
        sleep(Duration::from_millis(3)).await;
    }
    for (n, job) in jobs.iter().enumerate() {
        let claimed = claim(queue.as_ref(), "worker-a", LONG).await;
        assert_eq!(&claimed.job, job, "claim number {} gets job number {}", n + 1, n + 1);
    }
    assert_nothing_to_claim(queue.as_ref(), "after every job was claimed").await;
}

/// Claims go to the owner served least recently (one never served first), oldest job first
/// within an owner and between owners tied: one user's many jobs cannot keep another's waiting.
pub async fn claims_go_to_the_owner_served_least_recently(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    let (ada, bob, cyd) = (UserId::new(), UserId::new(), UserId::new());
    let job = |owner| Job { run_id: RunId::new(), owner };
    let adas = [job(ada), job(ada), job(ada)];
    let bobs = job(bob);
    for queued in adas.iter().chain([&bobs]) {
        queue.enqueue(queued).await.expect("enqueue");
        sleep(Duration::from_millis(3)).await;
    }
    let mut order = Vec::new();
    for _ in 0..2 {
        order.push(claim(queue.as_ref(), "worker-a", LONG).await.job);
    }
    // Both never served: ada's oldest; then bob, never served, before ada's second.
    assert_eq!(order, [adas[0].clone(), bobs.clone()], "a fresh owner goes before a served one");
    // Cyd arrives after ada's remaining jobs and still goes before them.
    let cyds = job(cyd);
    queue.enqueue(&cyds).await.expect("enqueue");
    for _ in 0..3 {
        order.push(claim(queue.as_ref(), "worker-a", LONG).await.job);
    }
    assert_eq!(order[2], cyds, "cyd, never served, before ada's second job");
    assert_eq!(order[3..], [adas[1].clone(), adas[2].clone()], "ada's own jobs oldest first");
    assert_nothing_to_claim(queue.as_ref(), "after every job was claimed").await;
}

/// A job held under a live lease is not handed to anyone else.
pub async fn claimed_job_is_not_claimed_again(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    queue.enqueue(&new_job()).await.expect("enqueue");
    claim(queue.as_ref(), "worker-a", LONG).await;
    assert_nothing_to_claim(queue.as_ref(), "the only job is held by worker-a").await;
}

/// Many workers claiming at once never get the same job twice, and get every job.
pub async fn concurrent_claims_hand_each_job_out_once(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    let jobs: Vec<Job> = (0..12).map(|_| new_job()).collect();
    for job in &jobs {
        queue.enqueue(job).await.expect("enqueue");
    }
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let queue = queue.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Some(claimed) =
                    queue.claim(&format!("worker-{w}"), LONG).await.expect("claim")
                {
                    assert_eq!(claimed.deliveries, 1, "nothing was delivered before");
                    got.push(claimed.job.run_id);
                }
                got
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for worker in workers {
        claimed.extend(worker.await.expect("worker task panicked"));
    }
    let distinct: HashSet<RunId> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), claimed.len(), "a job was handed out twice: {claimed:?}");
    let enqueued: HashSet<RunId> = jobs.iter().map(|j| j.run_id).collect();
    assert_eq!(distinct, enqueued, "every enqueued job is handed out");
}

/// A completed job is gone: it is not reclaimed after its lease would have lapsed.
pub async fn completed_job_is_gone(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    queue.enqueue(&new_job()).await.expect("enqueue");
    let claimed = claim(queue.as_ref(), "worker-a", SHORT).await;
    queue.complete(&claimed).await.expect("complete");
    sleep(PAST_SHORT).await;
    assert_eq!(queue.reclaim_expired().await.expect("reclaim_expired"), 0, "nothing to reclaim");
    assert_nothing_to_claim(queue.as_ref(), "after complete").await;
}

/// A job whose lease lapsed is reclaimed and claimed again with one more delivery and a new
/// receipt.
pub async fn expired_lease_is_reclaimed_with_one_more_delivery(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    let job = new_job();
    queue.enqueue(&job).await.expect("enqueue");
    let first = claim(queue.as_ref(), "worker-a", SHORT).await;
    sleep(PAST_SHORT).await;
    assert_eq!(queue.reclaim_expired().await.expect("reclaim_expired"), 1, "one lapsed lease");
    let second = claim(queue.as_ref(), "worker-b", LONG).await;
    assert_eq!(second.job, job, "the reclaimed job");
    assert_eq!(second.deliveries, 2, "a reclaimed job's next claim is delivery 2");
    assert_ne!(second.receipt, first.receipt, "a new claim gets a new receipt");
}

/// `reclaim_expired` counts and requeues the lapsed leases only, not the live ones.
pub async fn reclaim_expired_counts_only_lapsed_jobs(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    for _ in 0..3 {
        queue.enqueue(&new_job()).await.expect("enqueue");
    }
    let lapsing = [
        claim(queue.as_ref(), "worker-a", SHORT).await,
        claim(queue.as_ref(), "worker-b", SHORT).await,
    ];
    let live = claim(queue.as_ref(), "worker-c", LONG).await;
    sleep(PAST_SHORT).await;
    assert_eq!(queue.reclaim_expired().await.expect("reclaim_expired"), 2, "two lapsed leases");
    assert_eq!(queue.reclaim_expired().await.expect("reclaim_expired"), 0, "none left lapsed");

    let again = [
        claim(queue.as_ref(), "worker-d", LONG).await,
        claim(queue.as_ref(), "worker-d", LONG).await,
    ];
    let reclaimed: HashSet<RunId> = again.iter().map(|c| c.job.run_id).collect();
    let lapsed: HashSet<RunId> = lapsing.iter().map(|c| c.job.run_id).collect();
    assert_eq!(reclaimed, lapsed, "exactly the lapsed jobs are claimable again");
    assert_nothing_to_claim(queue.as_ref(), "the live lease is not reclaimed").await;
    queue.complete(&live).await.expect("the live claim is still current");
}

/// A lease that has not lapsed is not reclaimed.
pub async fn unexpired_lease_is_not_reclaimed(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    queue.enqueue(&new_job()).await.expect("enqueue");
    let claimed = claim(queue.as_ref(), "worker-a", LONG).await;
    assert_eq!(queue.reclaim_expired().await.expect("reclaim_expired"), 0, "nothing lapsed");
    assert_nothing_to_claim(queue.as_ref(), "the job is held under a live lease").await;
    queue.complete(&claimed).await.expect("the claim is still current");
}

/// Heartbeats extend a lease past its first expiry, so the job is not reclaimed.
pub async fn heartbeat_keeps_lease_alive(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    queue.enqueue(&new_job()).await.expect("enqueue");
    let start = Instant::now();
    let claimed = claim(queue.as_ref(), "worker-a", SHORT).await;

    sleep_until(start + Duration::from_millis(500)).await;
    let extended = Duration::from_secs(10);
    let before = now();
    let until = queue.heartbeat(&claimed, extended).await.expect("heartbeat of a live claim");
    let extension = TimeDelta::from_std(extended).expect("a short duration");
    assert!(until > claimed.lease_until, "heartbeat moves the expiry later");
    assert!(until >= before + extension - CLOCK_SLACK, "heartbeat sets about now + lease");

    sleep_until(start + PAST_SHORT).await;
    assert_eq!(queue.reclaim_expired().await.expect("reclaim_expired"), 0, "lease was renewed");
    assert_nothing_to_claim(queue.as_ref(), "the heartbeating worker holds the job").await;
    queue.complete(&claimed).await.expect("the renewed claim is still current");
}

/// A worker that heartbeats late, before anyone reclaimed its job, still holds the job: only a
/// reclaim or a completion makes a claim stale.
pub async fn late_heartbeat_before_reclaim_keeps_the_job(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    queue.enqueue(&new_job()).await.expect("enqueue");
    let claimed = claim(queue.as_ref(), "worker-a", SHORT).await;
    sleep(PAST_SHORT).await;
    queue.heartbeat(&claimed, LONG).await.expect("a lapsed but unreclaimed claim is current");
    assert_eq!(queue.reclaim_expired().await.expect("reclaim_expired"), 0, "lease was renewed");
    queue.complete(&claimed).await.expect("the renewed claim completes");
}

/// After a lapsed job was reclaimed and claimed by another worker, the first worker's receipt
/// can neither complete, heartbeat nor release it; the new holder can.
pub async fn stale_claim_cannot_complete(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    queue.enqueue(&new_job()).await.expect("enqueue");
    let stale = claim(queue.as_ref(), "worker-a", SHORT).await;
    sleep(PAST_SHORT).await;
    assert_eq!(queue.reclaim_expired().await.expect("reclaim_expired"), 1, "one lapsed lease");
    let current = claim(queue.as_ref(), "worker-b", LONG).await;

    assert_code(queue.complete(&stale).await, "CONFLICT", "complete with a stale claim");
    assert_code(queue.heartbeat(&stale, LONG).await, "CONFLICT", "heartbeat with a stale claim");
    assert_code(queue.release(&stale).await, "CONFLICT", "release with a stale claim");

    queue.heartbeat(&current, LONG).await.expect("the current claim heartbeats");
    queue.complete(&current).await.expect("the current claim completes");
    assert_nothing_to_claim(queue.as_ref(), "after the current holder completed").await;
}

/// Once completed, a claim is no longer current: every further call with it is a `Conflict`.
pub async fn completed_claim_is_no_longer_current(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    queue.enqueue(&new_job()).await.expect("enqueue");
    let claimed = claim(queue.as_ref(), "worker-a", LONG).await;
    queue.complete(&claimed).await.expect("complete");
    assert_code(queue.complete(&claimed).await, "CONFLICT", "complete twice");
    assert_code(queue.heartbeat(&claimed, LONG).await, "CONFLICT", "heartbeat after complete");
    assert_code(queue.release(&claimed).await, "CONFLICT", "release after complete");
}

/// A released job can be claimed again at once, as one more delivery; the released receipt is
/// no longer current.
pub async fn released_job_is_claimable_at_once(fx: &Fixture) {
    let Some(queue) = queue(fx) else { return };
    let job = new_job();
    queue.enqueue(&job).await.expect("enqueue");
    let released = claim(queue.as_ref(), "worker-a", LONG).await;
    queue.release(&released).await.expect("release");

    let again = claim(queue.as_ref(), "worker-b", LONG).await;
    assert_eq!(again.job, job, "the released job");
    assert_eq!(again.deliveries, 2, "a released job's next claim is delivery 2");
    assert_ne!(again.receipt, released.receipt, "a new claim gets a new receipt");
    assert_code(queue.complete(&released).await, "CONFLICT", "complete with a released claim");
    queue.complete(&again).await.expect("the new claim completes");
}
