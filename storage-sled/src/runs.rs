//! Training runs: the `runs` tree and its `runs_by_owner` index. A run's lifecycle (claim,
//! epochs, heartbeats, finish) moves through compare-and-swap updates of its one record.

use async_trait::async_trait;
use modelyard_core::{Mutation, Result, RunId, RunStore, TrainingRun, UserId};

use crate::SledStore;
use crate::records::OwnedRecord;

impl OwnedRecord for TrainingRun {
    const KIND: &'static str = "run";
    fn id_bytes(&self) -> [u8; 16] {
        self.id.to_bytes()
    }
    fn owner(&self) -> UserId {
        self.owner
    }
}

#[async_trait]
impl RunStore for SledStore {
    async fn create_run(&self, run: &TrainingRun) -> Result<()> {
        self.trees.runs.create(run).await
    }

    async fn get_run(&self, owner: UserId, id: RunId) -> Result<TrainingRun> {
        self.trees.runs.get(owner, id.to_bytes())
    }

    async fn list_runs(&self, owner: UserId) -> Result<Vec<TrainingRun>> {
        self.trees.runs.list(owner)
    }

    async fn update_run(
        &self,
        owner: UserId,
        id: RunId,
        mutation: Mutation<'_, TrainingRun>,
    ) -> Result<TrainingRun> {
        self.trees.runs.update(owner, id.to_bytes(), mutation).await
    }
}
