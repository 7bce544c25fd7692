//! Model records: what only models hold (the generic promises are in [`super::records`]).

use super::{Fixture, sample_final_metrics, sample_model};
use crate::{ArtifactFile, BlobKey, DatasetId, Model, ModelVersion, RunId, UserId, now};

fn new_model() -> Model {
    sample_model(UserId::new(), DatasetId::new())
}

/// A created model reads back exactly as written, summary and trained version included.
pub async fn created_model_reads_back_unchanged(fx: &Fixture) {
    let models = &fx.backend.models;
    let untrained = new_model();
    let mut trained = new_model();
    trained.latest_version = Some(ModelVersion {
        run_id: RunId::new(),
        artifact: vec![ArtifactFile {
            name: "weights.safetensors".to_owned(),
            blob_key: BlobKey::generate("models").expect("`models` is a valid key prefix"),
            size_bytes: 9_096,
        }],
        metrics: sample_final_metrics(),
        trained_at: now(),
    });
    for model in [untrained, trained] {
        models.insert(&model).await.expect("insert");
        let stored = models.get(model.owner, model.id).await.expect("get");
        assert_eq!(stored, model, "get must return the model as inserted");
    }
}
