//! [`crate::RunStore`]: owner-scoped runs, newest first, and the atomic updates that move a run's
//! lifecycle.

use std::collections::BTreeMap;

use super::{Fixture, assert_code, built_apart, sample_epoch, sample_final_metrics, sample_run};
use crate::{
    DatasetId, EarlyStopping, Error, Lease, ModelId, RunId, RunStatus, TrainingRun, UserId, now,
};

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
    finished.history = (1..=3).map(sample_epoch).collect();
    finished.final_metrics = Some(sample_final_metrics());
    finished.error = Some("out of patience".to_owned());
    finished.started_at = Some(now());
    finished.finished_at = Some(now());
    for run in [queued, finished] {
        runs.create_run(&run).await.expect("create_run");
        let stored = runs.get_run(run.owner, run.id).await.expect("get_run");
        assert_eq!(stored, run, "get_run must return the run as created");
    }
}

/// Creating a run under an id that exists is a `Conflict` and leaves the first untouched.
pub async fn run_id_is_unique(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let first = new_run();
    runs.create_run(&first).await.expect("create_run");
    for owner in [first.owner, UserId::new()] {
        let clash = TrainingRun {
            id: first.id,
            status: RunStatus::Completed,
            ..sample_run(owner, first.model_id, first.dataset_id)
        };
        let create = runs.create_run(&clash).await;
        assert_code(create, "CONFLICT", "create_run of a taken id (same or other owner)");
    }
    let stored = runs.get_run(first.owner, first.id).await.expect("get_run");
    assert_eq!(stored, first, "a refused create must not overwrite the existing run");
}

/// Another user reading a run gets `NotFound`, exactly as for a missing one.
pub async fn user_b_cannot_read_user_a_run(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let run = new_run();
    runs.create_run(&run).await.expect("create_run");
    assert_code(
        runs.get_run(UserId::new(), run.id).await,
        "NOT_FOUND",
        "get_run by a user who does not own it",
    );
}

/// Another user updating (say, cancelling) a run gets `NotFound`, and the run is unchanged.
pub async fn user_b_cannot_update_user_a_run(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let run = new_run();
    runs.create_run(&run).await.expect("create_run");
    let update = runs
        .update_run(UserId::new(), run.id, &mut |r| {
            r.cancel_requested = true;
            Ok(())
        })
        .await;
    assert_code(update, "NOT_FOUND", "update_run by a user who does not own it");
    let stored = runs.get_run(run.owner, run.id).await.expect("get_run");
    assert_eq!(stored, run, "another user's update must change nothing");
}

/// A user's list holds their own runs only.
pub async fn user_b_does_not_list_user_a_runs(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let alices = new_run();
    let bobs = new_run();
    runs.create_run(&alices).await.expect("create_run");
    runs.create_run(&bobs).await.expect("create_run");
    let listed = runs.list_runs(bobs.owner).await.expect("list_runs");
    assert_eq!(listed, vec![bobs], "bob's list holds bob's run and nothing of alice's");
    let nobody = runs.list_runs(UserId::new()).await.expect("list_runs");
    assert!(nobody.is_empty(), "a user without runs lists none, got {nobody:?}");
}

/// `list_runs` is newest first, whatever order the records were written in.
pub async fn list_is_newest_first(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let (owner, model, dataset) = (UserId::new(), ModelId::new(), DatasetId::new());
    let built = built_apart(3, || sample_run(owner, model, dataset)).await;
    for at in [1, 2, 0] {
        runs.create_run(&built[at]).await.expect("create_run");
    }
    let listed: Vec<RunId> =
        runs.list_runs(owner).await.expect("list_runs").iter().map(|r| r.id).collect();
    let newest_first: Vec<RunId> = built.iter().rev().map(|r| r.id).collect();
    assert_eq!(listed, newest_first, "list_runs must order by creation time, newest first");
}

/// Reading or updating an id that never existed is `NotFound`.
pub async fn missing_run_is_not_found(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let (owner, id) = (UserId::new(), RunId::new());
    assert_code(runs.get_run(owner, id).await, "NOT_FOUND", "get_run of a missing id");
    let update = runs.update_run(owner, id, &mut |_| Ok(())).await;
    assert_code(update, "NOT_FOUND", "update_run of a missing id");
}

/// `update_run` returns the run as stored, and later reads agree.
pub async fn update_run_returns_stored_run(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let run = new_run();
    runs.create_run(&run).await.expect("create_run");
    let started = now();
    let updated = runs
        .update_run(run.owner, run.id, &mut |r| {
            r.status = RunStatus::Running;
            r.attempt += 1;
            r.lease = Some(Lease { worker: "worker-1".to_owned(), until: started });
            r.started_at = Some(started);
            r.upsert_epoch(sample_epoch(1));
            Ok(())
        })
        .await
        .expect("update_run");
    assert_eq!(updated.status, RunStatus::Running, "the mutation's change is returned");
    assert_eq!(updated.history, vec![sample_epoch(1)], "the appended epoch is returned");
    let stored = runs.get_run(run.owner, run.id).await.expect("get_run");
    assert_eq!(stored, updated, "get_run after update_run returns what update_run returned");
}

/// A mutation that fails returns its error and changes nothing, even what it touched first.
pub async fn failed_mutation_writes_nothing(fx: &Fixture) {
    let runs = &fx.backend.runs;
    let run = new_run();
    runs.create_run(&run).await.expect("create_run");
    let update = runs
        .update_run(run.owner, run.id, &mut |r| {
            r.status = RunStatus::Completed;
            r.upsert_epoch(sample_epoch(1));
            Err(Error::Conflict("refused by the mutation".to_owned()))
        })
        .await;
    let err = assert_code(update, "CONFLICT", "a failing mutation's error");
    assert_eq!(
        err,
        Error::Conflict("refused by the mutation".to_owned()),
        "update_run returns the mutation's own error"
    );
    let stored = runs.get_run(run.owner, run.id).await.expect("get_run");
    assert_eq!(stored, run, "a failed mutation must write nothing");
}

/// Twenty workers appending distinct epochs at once lose none of them.
pub async fn update_run_is_atomic_under_concurrent_appends(fx: &Fixture) {
    let run = new_run();
    fx.backend.runs.create_run(&run).await.expect("create_run");
    let (owner, id) = (run.owner, run.id);
    let tasks: Vec<_> = (1..=20)
        .map(|epoch| {
            let runs = fx.backend.runs.clone();
            tokio::spawn(async move {
                runs.update_run(owner, id, &mut |r| {
                    r.upsert_epoch(sample_epoch(epoch));
                    Ok(())
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("append task panicked").expect("concurrent update_run");
    }
    let stored = fx.backend.runs.get_run(owner, id).await.expect("get_run");
    let expected: Vec<_> = (1..=20).map(sample_epoch).collect();
    assert_eq!(stored.history, expected, "all 20 concurrently appended epochs, in order");
}

/// Of several workers racing to finish one run with a check-then-set mutation, exactly one wins.
pub async fn concurrent_finishers_complete_a_run_once(fx: &Fixture) {
    let run = new_run();
    fx.backend.runs.create_run(&run).await.expect("create_run");
    let (owner, id) = (run.owner, run.id);
    let tasks: Vec<_> = (0..10u32)
        .map(|worker| {
            let runs = fx.backend.runs.clone();
            tokio::spawn(async move {
                let finish = runs
                    .update_run(owner, id, &mut |r| {
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
    let stored = fx.backend.runs.get_run(owner, id).await.expect("get_run");
    let recorded = stored.final_metrics.and_then(|m| m.get("winner").copied());
    assert_eq!(recorded, Some(f64::from(winners[0])), "the stored run is the winner's");
}
