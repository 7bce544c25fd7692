//! Training runs: the atomic updates that move a run's lifecycle (the generic promises are in
//! [`super::records`]).

use std::collections::BTreeMap;

use super::{Fixture, sample_final_metrics, sample_run};
use crate::{DatasetId, EarlyStopping, Error, Lease, ModelId, RunStatus, TrainingRun, UserId, now};

fn new_run() -> TrainingRun {
    sample_run(UserId::new(), ModelId::new(), DatasetId::new())
}

/// Queued and finished runs read back exactly as written, every optional field included.
pub async fn created_run_reads_back_unchanged(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let queued = new_run();
    let mut finished = new_run();
    finished.params.early_stopping = Some(EarlyStopping { patience: 3, min_delta: 0.001 });
    finished.status = RunStatus::Failed;
    finished.attempt = 2;
    finished.lease = Some(Lease { worker: "worker-1".to_owned(), until: now() });
    finished.cancel_requested = true;
    finished.epochs_completed = 3;
    finished.final_metrics = Some(sample_final_metrics());
    finished.error = Some("out of patience".to_owned());
    finished.started_at = Some(now());
    finished.finished_at = Some(now());
    for run in [queued, finished] {
        runs.insert(&run).await.expect("insert");
        let stored = runs.get(run.owner, run.id).await.expect("get");
        assert_eq!(stored, run, "get must return the run as inserted");
    }
}

/// Twenty workers counting distinct epochs at once lose none of them.
pub async fn concurrent_epoch_counts_are_not_lost(fx: &Fixture) {
    let run = new_run();
    fx.backend.runs.insert(&run).await.expect("insert");
    let (owner, id) = (run.owner, run.id);
    let tasks: Vec<_> = (1..=20)
        .map(|epoch| {
            let runs = fx.backend.runs.clone();
            tokio::spawn(async move {
                runs.update(owner, id, &mut |r| {
                    r.complete_epoch(epoch);
                    Ok(())
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("count task panicked").expect("concurrent update");
    }
    let stored = fx.backend.runs.get(owner, id).await.expect("get");
    assert_eq!(stored.epochs_completed, 20, "the highest of 20 concurrently counted epochs");
}

/// Of several workers racing to finish one run with a check-then-set mutation, exactly one wins.
pub async fn concurrent_finishers_complete_a_run_once(fx: &Fixture) {
    let run = new_run();
    fx.backend.runs.insert(&run).await.expect("insert");
    let (owner, id) = (run.owner, run.id);
    let tasks: Vec<_> = (0..10u32)
        .map(|worker| {
            let runs = fx.backend.runs.clone();
            tokio::spawn(async move {
                let finish = runs
                    .update(owner, id, &mut |r| {
                        if r.status.is_final() {
                            return Err(Error::Conflict("run already finished".to_owned()));
                        }
                        r.status = RunStatus::Completed;
                        r.final_metrics =
                            Some(BTreeMap::from([("winner".to_owned(), f64::from(worker))]));
                        Ok(())
                    })
                    .await;
                finish.map(|_| worker)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.expect("finisher task panicked") {
            Ok(worker) => winners.push(worker),
            Err(err) => assert_eq!(err.code(), "CONFLICT", "a losing finisher: {err:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one finisher may complete the run, got {winners:?}");
    let stored = fx.backend.runs.get(owner, id).await.expect("get");
    let recorded = stored.final_metrics.and_then(|m| m.get("winner").copied());
    assert_eq!(recorded, Some(f64::from(winners[0])), "the stored run is the winner's");
}
