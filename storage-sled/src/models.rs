//! Model records: the `models` tree and its `models_by_owner` index.

use async_trait::async_trait;
use modelyard_core::{Model, ModelId, ModelStore, Mutation, Result, UserId};

use crate::SledStore;
use crate::records::OwnedRecord;

impl OwnedRecord for Model {
    const KIND: &'static str = "model";
    fn id_bytes(&self) -> [u8; 16] {
        self.id.to_bytes()
    }
    fn owner(&self) -> UserId {
        self.owner
    }
}

#[async_trait]
impl ModelStore for SledStore {
    async fn create_model(&self, model: &Model) -> Result<()> {
        self.trees.models.create(model).await
    }

    async fn get_model(&self, owner: UserId, id: ModelId) -> Result<Model> {
        self.trees.models.get(owner, id.to_bytes())
    }

    async fn list_models(&self, owner: UserId) -> Result<Vec<Model>> {
        self.trees.models.list(owner)
    }

    async fn update_model(
        &self,
        owner: UserId,
        id: ModelId,
        mutation: Mutation<'_, Model>,
    ) -> Result<Model> {
        self.trees.models.update(owner, id.to_bytes(), mutation).await
    }

    async fn delete_model(&self, owner: UserId, id: ModelId) -> Result<()> {
        self.trees.models.delete(owner, id.to_bytes()).await
    }
}
