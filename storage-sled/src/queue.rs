//! The durable job queue on three trees:
//! - `queue_ready`: `seq (8, big-endian) ++ run id (16)` -> [`Ready`]; `seq` comes from
//!   `generate_id`, so iterating the tree yields the oldest job first;
//! - `queue_leased`: run id -> [`Leased`], the one live claim of a job;
//! - `queue_index`: run id -> its `queue_ready` key, so a job is queued at most once;
//! - `queue_served`: owner id -> the sequence of their latest claim: a claim takes the oldest
//!   job of the owner served least recently (one never served first), so one user's many jobs
//!   cannot keep another's waiting.
//!
//! Every move between trees is one transaction, so a job is always in exactly one place and
//! never held by two live claims.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use modelyard_core::{Claim, Error, Job, JobQueue, Result, Timestamp};
use serde::{Deserialize, Serialize};
use sled::Transactional;

use crate::SledStore;
use crate::db::{decode, encode};
use crate::error::{abort, map_error, tx_error};

/// A job waiting for a worker.
#[derive(Serialize, Deserialize)]
struct Ready {
    job: Job,
    /// Claims so far (a released or reclaimed job keeps its count).
    deliveries: u32,
}

/// A job held by a worker.
#[derive(Serialize, Deserialize)]
struct Leased {
    job: Job,
    /// Its enqueue sequence, so a job given back keeps its place in line.
    seq: u64,
    deliveries: u32,
    lease_until: Timestamp,
    receipt: String,
    worker: String,
}

impl Leased {
    /// The claim this lease stands for.
    fn claim(&self) -> Claim {
        Claim {
            job: self.job.clone(),
            deliveries: self.deliveries,
            lease_until: self.lease_until,
            receipt: self.receipt.clone(),
        }
    }
}

/// The `queue_ready` key of a job.
fn ready_key(seq: u64, job: &Job) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..8].copy_from_slice(&seq.to_be_bytes());
    key[8..].copy_from_slice(&job.run_id.to_bytes());
    key
}

/// The enqueue sequence at the front of a `queue_ready` key.
fn seq_of(key: &[u8]) -> Result<u64> {
    key.first_chunk::<8>()
        .map(|seq| u64::from_be_bytes(*seq))
        .ok_or_else(|| Error::internal("malformed queue key"))
}

/// `now + lease`, refusing a lease too long to represent.
fn lease_end(lease: Duration) -> Result<Timestamp> {
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|lease| modelyard_core::now().checked_add_signed(lease))
        .ok_or_else(|| Error::validation("lease", "lease is too long"))
}

/// The error for a claim that is no longer its job's live one.
fn stale_claim() -> Error {
    Error::Conflict("the claim is no longer current".into())
}

/// Reads the lease of `claim`'s job, checking the claim is the live one.
fn current_lease(stored: Option<&[u8]>, claim: &Claim) -> Result<Leased> {
    let lease: Leased = decode(stored.ok_or_else(stale_claim)?, "lease")?;
    if lease.receipt == claim.receipt { Ok(lease) } else { Err(stale_claim()) }
}

impl SledStore {
    /// The `queue_ready` key of the job to claim next: the oldest job of the owner whose latest
    /// claim is the oldest (an owner never served first); `None` when no job is ready.
    fn next_fair(&self) -> Result<Option<sled::IVec>> {
        let t = &self.trees;
        let mut owners = HashSet::new();
        let mut best: Option<(u64, sled::IVec)> = None;
        // Oldest job first: the first job seen of each owner is that owner's oldest, and of two
        // owners served equally long ago (never), the one seen first waited longest.
        for entry in t.queue_ready.iter() {
            let (key, value) = entry.map_err(map_error)?;
            let ready: Ready = decode(&value, "queued job")?;
            if !owners.insert(ready.job.owner) {
                continue;
            }
            let served = t
                .queue_served
                .get(ready.job.owner.to_bytes())
                .map_err(map_error)?
                .and_then(|seq| seq.as_ref().try_into().ok().map(u64::from_be_bytes))
                .unwrap_or(0);
            if best.as_ref().is_none_or(|(fewest, _)| served < *fewest) {
                best = Some((served, key));
                if served == 0 {
                    break;
                }
            }
        }
        Ok(best.map(|(_, key)| key))
    }

    /// Moves the lease stored as `seen` back to the ready jobs, in one transaction; `false` if
    /// the lease changed meanwhile (heartbeat, completion, another reclaim).
    fn requeue(&self, run: &[u8], seen: &[u8], lease: &Leased) -> Result<bool> {
        let t = &self.trees;
        let key = ready_key(lease.seq, &lease.job);
        let ready = encode(&Ready { job: lease.job.clone(), deliveries: lease.deliveries })?;
        (&t.queue_ready, &t.queue_leased, &t.queue_index)
            .transaction(|(ready_tree, leased, index)| {
                if leased.get(run)?.as_deref() != Some(seen) {
                    return Ok(false);
                }
                leased.remove(run)?;
                ready_tree.insert(&key, ready.as_slice())?;
                index.insert(run, &key)?;
                Ok(true)
            })
            .map_err(tx_error)
    }
}

#[async_trait]
impl JobQueue for SledStore {
    async fn enqueue(&self, job: &Job) -> Result<()> {
        let t = &self.trees;
        let run = job.run_id.to_bytes();
        let seq = t.db.generate_id().map_err(map_error)?;
        let key = ready_key(seq, job);
        let value = encode(&Ready { job: job.clone(), deliveries: 0 })?;
        (&t.queue_ready, &t.queue_leased, &t.queue_index)
            .transaction(|(ready, leased, index)| {
                // A run already waiting or held is queued once: enqueue is idempotent.
                if index.get(run)?.is_some() || leased.get(run)?.is_some() {
                    return Ok(());
                }
                ready.insert(&key, value.as_slice())?;
                index.insert(&run, &key)?;
                Ok(())
            })
            .map_err(tx_error)?;
        t.db.flush().await
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>> {
        let t = &self.trees;
        let lease_until = lease_end(lease)?;
        loop {
            let Some(key) = self.next_fair()? else {
                return Ok(None);
            };
            let seq = seq_of(&key)?;
            let receipt = uuid::Uuid::new_v4().to_string();
            let served = t.db.generate_id().map_err(map_error)?.to_be_bytes();
            let claimed = (&t.queue_ready, &t.queue_leased, &t.queue_index, &t.queue_served)
                .transaction(|(ready, leased, index, served_at)| {
                    // Another claim may have taken it since we looked.
                    let Some(stored) = ready.get(&key)? else {
                        return Ok(None);
                    };
                    let entry: Ready = match decode(&stored, "queued job") {
                        Ok(entry) => entry,
                        Err(err) => return abort(err),
                    };
                    let held = Leased {
                        job: entry.job,
                        seq,
                        deliveries: entry.deliveries.saturating_add(1),
                        lease_until,
                        receipt: receipt.clone(),
                        worker: worker.to_owned(),
                    };
                    let value = match encode(&held) {
                        Ok(value) => value,
                        Err(err) => return abort(err),
                    };
                    let run = held.job.run_id.to_bytes();
                    ready.remove(&key)?;
                    index.remove(&run)?;
                    leased.insert(&run, value)?;
                    served_at.insert(&held.job.owner.to_bytes(), served.as_slice())?;
                    Ok(Some(held.claim()))
                })
                .map_err(tx_error)?;
            if let Some(claim) = claimed {
                t.db.flush().await?;
                return Ok(Some(claim));
            }
        }
    }

    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Timestamp> {
        let t = &self.trees;
        let run = claim.job.run_id.to_bytes();
        loop {
            let stored = t.queue_leased.get(run).map_err(map_error)?;
            let mut held = current_lease(stored.as_deref(), claim)?;
            held.lease_until = lease_end(lease)?;
            let swapped = t
                .queue_leased
                .compare_and_swap(run, stored.as_ref(), Some(encode(&held)?))
                .map_err(map_error)?;
            if swapped.is_ok() {
                t.db.flush().await?;
                return Ok(held.lease_until);
            }
        }
    }

    async fn complete(&self, claim: &Claim) -> Result<()> {
        let t = &self.trees;
        let run = claim.job.run_id.to_bytes();
        loop {
            let stored = t.queue_leased.get(run).map_err(map_error)?;
            current_lease(stored.as_deref(), claim)?;
            let swapped = t
                .queue_leased
                .compare_and_swap(run, stored.as_ref(), None::<&[u8]>)
                .map_err(map_error)?;
            if swapped.is_ok() {
                return t.db.flush().await;
            }
        }
    }

    async fn release(&self, claim: &Claim) -> Result<()> {
        let run = claim.job.run_id.to_bytes();
        loop {
            let Some(stored) = self.trees.queue_leased.get(run).map_err(map_error)? else {
                return Err(stale_claim());
            };
            let held = current_lease(Some(&stored), claim)?;
            if self.requeue(&run, &stored, &held)? {
                return self.trees.db.flush().await;
            }
        }
    }

    async fn reclaim_expired(&self) -> Result<u64> {
        let now = modelyard_core::now();
        // Collect first: a transaction must never run while an iterator of the same store is open.
        let mut lapsed = Vec::new();
        for item in self.trees.queue_leased.iter() {
            let (run, stored) = item.map_err(map_error)?;
            let held: Leased = decode(&stored, "lease")?;
            if held.lease_until <= now {
                lapsed.push((run, stored, held));
            }
        }
        let mut reclaimed = 0;
        for (run, stored, held) in lapsed {
            reclaimed += u64::from(self.requeue(&run, &stored, &held)?);
        }
        if reclaimed > 0 {
            self.trees.db.flush().await?;
        }
        Ok(reclaimed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_keys_order_by_enqueue_sequence_first() {
        let early =
            Job { run_id: modelyard_core::RunId::new(), owner: modelyard_core::UserId::new() };
        let late =
            Job { run_id: modelyard_core::RunId::from_uuid(uuid::Uuid::nil()), ..early.clone() };
        // The later-enqueued job has the smaller run id, yet sorts after.
        assert!(ready_key(1, &early) < ready_key(2, &late));
        assert_eq!(seq_of(&ready_key(258, &early)).unwrap(), 258);
    }

    fn job() -> Job {
        Job { run_id: modelyard_core::RunId::new(), owner: modelyard_core::UserId::new() }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn eight_workers_claiming_a_hundred_jobs_get_each_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&crate::SledConfig::new(dir.path())).unwrap();
        let mut jobs = std::collections::HashSet::new();
        for _ in 0..100 {
            let job = job();
            store.enqueue(&job).await.unwrap();
            jobs.insert(job.run_id);
        }
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    let lease = Duration::from_secs(60);
                    while let Some(claim) = store.claim(&format!("w{w}"), lease).await.unwrap() {
                        assert_eq!(claim.deliveries, 1);
                        mine.push(claim.job.run_id);
                    }
                    mine
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for worker in workers {
            claimed.extend(worker.await.unwrap());
        }
        assert_eq!(claimed.len(), 100, "every job claimed once, none twice");
        assert_eq!(claimed.iter().copied().collect::<std::collections::HashSet<_>>(), jobs);
    }

    #[tokio::test]
    async fn a_lapsed_lease_is_reclaimed_with_its_place_and_delivery_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&crate::SledConfig::new(dir.path())).unwrap();
        // One owner's two jobs: between owners, the one served least recently goes first.
        let first = job();
        let second = Job { run_id: modelyard_core::RunId::new(), owner: first.owner };
        store.enqueue(&first).await.unwrap();
        store.enqueue(&second).await.unwrap();
        let stale = store.claim("a", Duration::ZERO).await.unwrap().unwrap();
        assert_eq!(stale.job, first);
        assert_eq!(store.reclaim_expired().await.unwrap(), 1);
        let again = store.claim("b", Duration::from_secs(60)).await.unwrap().unwrap();
        assert_eq!((again.job.clone(), again.deliveries), (first, 2), "keeps its place in line");
        assert_ne!(again.receipt, stale.receipt);
        for err in [
            store.heartbeat(&stale, Duration::from_secs(1)).await.unwrap_err(),
            store.complete(&stale).await.unwrap_err(),
            store.release(&stale).await.unwrap_err(),
        ] {
            assert_eq!(err.code(), "CONFLICT");
        }
        store.complete(&again).await.unwrap();
        assert_eq!(store.claim("b", Duration::from_secs(60)).await.unwrap().unwrap().job, second);
    }

    #[tokio::test]
    async fn a_job_enqueued_twice_is_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&crate::SledConfig::new(dir.path())).unwrap();
        let job = job();
        store.enqueue(&job).await.unwrap();
        store.enqueue(&job).await.unwrap();
        let claim = store.claim("a", Duration::from_secs(60)).await.unwrap().unwrap();
        store.enqueue(&job).await.unwrap();
        assert!(store.claim("a", Duration::from_secs(60)).await.unwrap().is_none());
        store.release(&claim).await.unwrap();
        assert_eq!(store.claim("a", Duration::from_secs(60)).await.unwrap().unwrap().deliveries, 2);
    }

    #[tokio::test]
    async fn queued_jobs_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let job = job();
        {
            let store = SledStore::open(&crate::SledConfig::new(dir.path())).unwrap();
            store.enqueue(&job).await.unwrap();
        }
        let store = SledStore::open(&crate::SledConfig::new(dir.path())).unwrap();
        assert_eq!(store.claim("a", Duration::from_secs(60)).await.unwrap().unwrap().job, job);
    }
}
