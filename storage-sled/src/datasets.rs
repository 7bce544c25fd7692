//! Dataset records: the `datasets` tree and its `datasets_by_owner` index.

use async_trait::async_trait;
use modelyard_core::{Dataset, DatasetId, DatasetStore, Result, UserId};

use crate::SledStore;
use crate::records::OwnedRecord;

impl OwnedRecord for Dataset {
    const KIND: &'static str = "dataset";
    fn id_bytes(&self) -> [u8; 16] {
        self.id.to_bytes()
    }
    fn owner(&self) -> UserId {
        self.owner
    }
}

#[async_trait]
impl DatasetStore for SledStore {
    async fn create_dataset(&self, dataset: &Dataset) -> Result<()> {
        self.trees.datasets.create(dataset).await
    }

    async fn get_dataset(&self, owner: UserId, id: DatasetId) -> Result<Dataset> {
        self.trees.datasets.get(owner, id.to_bytes())
    }

    async fn list_datasets(&self, owner: UserId) -> Result<Vec<Dataset>> {
        self.trees.datasets.list(owner)
    }

    async fn delete_dataset(&self, owner: UserId, id: DatasetId) -> Result<()> {
        self.trees.datasets.delete(owner, id.to_bytes()).await
    }
}
