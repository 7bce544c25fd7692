//! The durable job queue: one document per queued or held job in `jobs`,
//! `{ _id: run id, owner, seq, state: "ready" | "leased", deliveries, leaseUntil, receipt, worker }`.
//!
//! - `seq` comes from an atomic `$inc` on the `counters` document `jobs`, so jobs are claimed in
//!   enqueue order across processes; a released or reclaimed job keeps its `seq` (its place).
//! - `claim` is fair between owners: it looks at the oldest ready job of each owner, the owner
//!   whose latest claim is oldest first (a `counters` document `served/<owner>` holds the `seq`
//!   drawn at their latest claim; never served counts as 0; ties go to the smaller job `seq`),
//!   takes the first whose lock ([`crate::locks`]) it gets,
//!   checks it is still ready and sets it `leased` with a fresh receipt and `deliveries + 1`. (On
//!   MongoDB alone one `findOneAndUpdate` would do; FerretDB v1 does not apply it atomically, so
//!   two workers could both win one job: the lock makes the claim exclusive on both.)
//! - `heartbeat`, `complete` and `release` match on `_id`, `state: "leased"` and the receipt
//!   under the job's lock, so a claim that was reclaimed, completed or released is a `Conflict`.
//! - `reclaim_expired` moves each leased job whose `leaseUntil` has passed back to `ready` under
//!   its lock, dropping its receipt. Lease times come from this process's clock, so the clocks of
//!   processes sharing a queue must agree to well under a lease.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use modelyard_core::{Claim, Error, Job, JobQueue, Result, RunId, Timestamp, UserId};
use mongodb::bson::{self, Document, doc};
use mongodb::options::ReturnDocument;

use crate::MongoStore;
use crate::error::{corrupt, map_error};
use crate::records::back_off;

/// How many rounds a claim tries while every candidate is busy with other workers.
const MAX_CLAIM_ROUNDS: u32 = 200;

const READY: &str = "ready";
const LEASED: &str = "leased";

/// `now + lease` in milliseconds, as BSON stores it; a lease too long to represent is refused.
fn lease_end(lease: Duration) -> Result<bson::DateTime> {
    let end = chrono::Duration::from_std(lease)
        .ok()
        .and_then(|lease| modelyard_core::now().checked_add_signed(lease))
        .ok_or_else(|| Error::validation("lease", "lease is too long"))?;
    Ok(bson::DateTime::from_millis(end.timestamp_millis()))
}

/// A BSON time as a [`Timestamp`].
fn timestamp(time: bson::DateTime) -> Result<Timestamp> {
    chrono::DateTime::from_timestamp_millis(time.timestamp_millis())
        .ok_or_else(|| corrupt("lease", "lease time out of range"))
}

/// The error for a claim that is no longer its job's live one.
fn stale_claim() -> Error {
    Error::Conflict("the claim is no longer current".into())
}

/// The filter matching `claim` only while it is its job's live claim.
fn current(claim: &Claim) -> Document {
    doc! { "_id": claim.job.run_id.to_string(), "state": LEASED, "receipt": &claim.receipt }
}

/// The `counters` document marking when `owner` was last served.
fn served_key(owner: &str) -> String {
    format!("served/{owner}")
}

/// The `seq` of a counter or served mark.
fn seq_of(stored: &Document) -> Result<i64> {
    match stored.get("seq") {
        Some(bson::Bson::Int64(seq)) => Ok(*seq),
        Some(bson::Bson::Int32(seq)) => Ok(i64::from(*seq)),
        other => Err(corrupt("job counter", format!("seq is {other:?}"))),
    }
}

/// The deliveries so far of a stored job.
fn deliveries_of(stored: &Document) -> Result<u32> {
    let deliveries = match stored.get("deliveries") {
        Some(bson::Bson::Int32(n)) => i64::from(*n),
        Some(bson::Bson::Int64(n)) => *n,
        other => return Err(corrupt("job", format!("deliveries is {other:?}"))),
    };
    u32::try_from(deliveries).map_err(|err| corrupt("job", err))
}

/// The claim of the job stored as `stored`, leased now for delivery `deliveries` until `until`
/// (the receipt is filled in by the caller).
fn claim_of(stored: &Document, deliveries: u32, until: bson::DateTime) -> Result<Claim> {
    let field = |err| corrupt("job", err);
    let run_id: RunId = stored.get_str("_id").map_err(field)?.parse()?;
    let owner: UserId = stored.get_str("owner").map_err(field)?.parse()?;
    Ok(Claim {
        job: Job { run_id, owner },
        deliveries,
        lease_until: timestamp(until)?,
        receipt: String::new(),
    })
}

/// The lock of a claim's job.
fn job_lock(claim: &Claim) -> String {
    format!("jobs/{}", claim.job.run_id)
}

impl MongoStore {
    /// The next enqueue sequence number, from one atomic increment.
    async fn next_seq(&self) -> Result<i64> {
        let mut attempts = 0;
        loop {
            let counter = self
                .counters
                .find_one_and_update(doc! { "_id": "jobs" }, doc! { "$inc": { "seq": 1_i64 } })
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await
                .map_err(map_error);
            match counter {
                Ok(Some(counter)) => return seq_of(&counter),
                Ok(None) => return Err(Error::internal("the job counter upsert returned nothing")),
                // Two first-ever upserts raced on the counter's `_id`: the loser increments.
                Err(Error::Conflict(_)) if attempts < 3 => attempts += 1,
                Err(err) => return Err(err),
            }
        }
    }
}

#[async_trait]
impl JobQueue for MongoStore {
    async fn enqueue(&self, job: &Job) -> Result<()> {
        let seq = self.next_seq().await?;
        let document = doc! {
            "_id": job.run_id.to_string(),
            "owner": job.owner.to_string(),
            "seq": seq,
            "state": READY,
            "deliveries": 0_i64,
        };
        match self.jobs.insert_one(document).await.map_err(map_error) {
            // A run already waiting or held is queued once: enqueue is idempotent.
            Ok(_) | Err(Error::Conflict(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>> {
        for attempt in 0..MAX_CLAIM_ROUNDS {
            let candidates = self.fair_candidates().await?;
            if candidates.is_empty() {
                return Ok(None);
            }
            for (id, owner) in candidates {
                // Busy means another worker is taking or changing it: try the next one.
                let Some(lock) = self.try_lock(&format!("jobs/{id}")).await? else { continue };
                let claimed = self.claim_locked(&id, worker, lease).await;
                self.unlock(lock).await;
                if let Some(claim) = claimed? {
                    self.mark_served(&owner).await?;
                    return Ok(Some(claim));
                }
            }
            back_off(attempt).await;
        }
        Err(Error::unavailable("the job queue is too busy to claim from; try again"))
    }

    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Timestamp> {
        self.locked(&job_lock(claim), self.heartbeat_locked(claim, lease)).await
    }

    async fn complete(&self, claim: &Claim) -> Result<()> {
        self.locked(&job_lock(claim), self.complete_locked(claim)).await
    }

    async fn release(&self, claim: &Claim) -> Result<()> {
        self.locked(&job_lock(claim), self.release_locked(claim)).await
    }

    async fn reclaim_expired(&self) -> Result<u64> {
        let now = bson::DateTime::from_millis(modelyard_core::now().timestamp_millis());
        let lapsed = doc! { "state": LEASED, "leaseUntil": { "$lte": now } };
        let cursor = self.jobs.find(lapsed.clone()).await.map_err(map_error)?;
        let lapsed_jobs: Vec<Document> = cursor.try_collect().await.map_err(map_error)?;
        let mut reclaimed = 0;
        for job in lapsed_jobs {
            let id = job.get_str("_id").map_err(|err| corrupt("job", err))?.to_owned();
            let mut filter = lapsed.clone();
            filter.insert("_id", &id);
            let requeued = self.locked(&format!("jobs/{id}"), self.requeue_locked(filter)).await?;
            reclaimed += u64::from(requeued);
        }
        Ok(reclaimed)
    }
}

impl MongoStore {
    /// `(job id, owner)` of the oldest ready job of each owner, the owner served least recently
    /// first. Every ready job is read: the queue is short, each user having at most a few runs
    /// queued or running.
    async fn fair_candidates(&self) -> Result<Vec<(String, String)>> {
        let cursor = self
            .jobs
            .find(doc! { "state": READY })
            .projection(doc! { "owner": 1, "seq": 1 })
            .sort(doc! { "seq": 1 })
            .await
            .map_err(map_error)?;
        let ready: Vec<Document> = cursor.try_collect().await.map_err(map_error)?;
        let mut owners = HashSet::new();
        let mut oldest = Vec::new();
        for job in &ready {
            let id = job.get_str("_id").map_err(|err| corrupt("job", err))?;
            let owner = job.get_str("owner").map_err(|err| corrupt("job", err))?;
            if owners.insert(owner) {
                oldest.push((id.to_owned(), owner.to_owned()));
            }
        }
        let keys: Vec<String> = oldest.iter().map(|(_, owner)| served_key(owner)).collect();
        let cursor =
            self.counters.find(doc! { "_id": { "$in": keys } }).await.map_err(map_error)?;
        let marks: Vec<Document> = cursor.try_collect().await.map_err(map_error)?;
        let mut served = HashMap::new();
        for mark in &marks {
            let key = mark.get_str("_id").map_err(|err| corrupt("served mark", err))?;
            served.insert(key.to_owned(), seq_of(mark)?);
        }
        // A stable sort: owners served equally long ago (never) keep the order of their jobs.
        oldest.sort_by_key(|(_, owner)| served.get(&served_key(owner)).copied().unwrap_or(0));
        Ok(oldest)
    }

    /// Records that `owner` was served now: their mark takes the next enqueue sequence number.
    async fn mark_served(&self, owner: &str) -> Result<()> {
        let seq = self.next_seq().await?;
        let marked = self
            .counters
            .update_one(doc! { "_id": served_key(owner) }, doc! { "$set": { "seq": seq } })
            .upsert(true)
            .await
            .map_err(map_error);
        match marked {
            // Two first-ever marks of one owner raced on its `_id`: the other one stands.
            Ok(_) | Err(Error::Conflict(_)) => Ok(()),
            Err(err) => Err(err),
        }
    }

    /// Leases the job `id` if it is still ready, once its lock is held.
    async fn claim_locked(&self, id: &str, worker: &str, lease: Duration) -> Result<Option<Claim>> {
        let ready =
            self.jobs.find_one(doc! { "_id": id, "state": READY }).await.map_err(map_error)?;
        let Some(ready) = ready else { return Ok(None) };
        let deliveries = deliveries_of(&ready)?.saturating_add(1);
        let receipt = uuid::Uuid::new_v4().to_string();
        let until = lease_end(lease)?;
        let updated = self
            .jobs
            .update_one(
                doc! { "_id": id, "state": READY },
                doc! {
                    "$set": {
                        "state": LEASED,
                        "leaseUntil": until,
                        "receipt": &receipt,
                        "worker": worker,
                        "deliveries": i64::from(deliveries),
                    },
                },
            )
            .await
            .map_err(map_error)?;
        if updated.matched_count == 0 {
            return Ok(None);
        }
        let mut claim = claim_of(&ready, deliveries, until)?;
        claim.receipt = receipt;
        Ok(Some(claim))
    }

    /// Moves a job matching `filter` back to ready; whether one was.
    async fn requeue_locked(&self, filter: Document) -> Result<bool> {
        let updated = self
            .jobs
            .update_one(
                filter,
                doc! {
                    "$set": { "state": READY },
                    "$unset": { "receipt": "", "leaseUntil": "", "worker": "" },
                },
            )
            .await
            .map_err(map_error)?;
        Ok(updated.modified_count > 0)
    }

    async fn heartbeat_locked(&self, claim: &Claim, lease: Duration) -> Result<Timestamp> {
        let until = lease_end(lease)?;
        let updated = self
            .jobs
            .update_one(current(claim), doc! { "$set": { "leaseUntil": until } })
            .await
            .map_err(map_error)?;
        if updated.matched_count == 0 {
            return Err(stale_claim());
        }
        timestamp(until)
    }

    async fn complete_locked(&self, claim: &Claim) -> Result<()> {
        let deleted = self.jobs.delete_one(current(claim)).await.map_err(map_error)?;
        if deleted.deleted_count == 0 { Err(stale_claim()) } else { Ok(()) }
    }

    async fn release_locked(&self, claim: &Claim) -> Result<()> {
        if self.requeue_locked(current(claim)).await? { Ok(()) } else { Err(stale_claim()) }
    }
}
