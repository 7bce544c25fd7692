//! [`crate::ModelStore`]: owner-scoped model records, newest first, atomic updates.

use super::{Fixture, assert_code, built_apart, sample_final_metrics, sample_model};
use crate::{
    ArtifactFile, BlobKey, DatasetId, Error, Model, ModelId, ModelVersion, RunId, UserId, now,
};

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
        models.create_model(&model).await.expect("create_model");
        let stored = models.get_model(model.owner, model.id).await.expect("get_model");
        assert_eq!(stored, model, "get_model must return the model as created");
    }
}

/// Creating a model under an id that exists is a `Conflict` and leaves the first untouched.
pub async fn model_id_is_unique(fx: &Fixture) {
    let models = &fx.backend.models;
    let first = new_model();
    models.create_model(&first).await.expect("create_model");
    for owner in [first.owner, UserId::new()] {
        let clash = Model {
            id: first.id,
            name: "Impostor".to_owned(),
            ..sample_model(owner, first.dataset_id)
        };
        let create = models.create_model(&clash).await;
        assert_code(create, "CONFLICT", "create_model of a taken id (same or other owner)");
    }
    let stored = models.get_model(first.owner, first.id).await.expect("get_model");
    assert_eq!(stored, first, "a refused create must not overwrite the existing model");
}

/// Another user reading a model gets `NotFound`, exactly as for a missing one.
pub async fn user_b_cannot_read_user_a_model(fx: &Fixture) {
    let models = &fx.backend.models;
    let model = new_model();
    models.create_model(&model).await.expect("create_model");
    assert_code(
        models.get_model(UserId::new(), model.id).await,
        "NOT_FOUND",
        "get_model by a user who does not own it",
    );
}

/// Another user updating a model gets `NotFound`, and the model is unchanged.
pub async fn user_b_cannot_update_user_a_model(fx: &Fixture) {
    let models = &fx.backend.models;
    let model = new_model();
    models.create_model(&model).await.expect("create_model");
    let update = models
        .update_model(UserId::new(), model.id, &mut |m| {
            m.name = "Hijacked".to_owned();
            Ok(())
        })
        .await;
    assert_code(update, "NOT_FOUND", "update_model by a user who does not own it");
    let stored = models.get_model(model.owner, model.id).await.expect("get_model");
    assert_eq!(stored, model, "another user's update must change nothing");
}

/// Another user deleting a model gets `NotFound`, and the model stays.
pub async fn user_b_cannot_delete_user_a_model(fx: &Fixture) {
    let models = &fx.backend.models;
    let model = new_model();
    models.create_model(&model).await.expect("create_model");
    assert_code(
        models.delete_model(UserId::new(), model.id).await,
        "NOT_FOUND",
        "delete_model by a user who does not own it",
    );
    let stored = models.get_model(model.owner, model.id).await;
    assert_eq!(stored.ok(), Some(model), "the owner still has the model");
}

/// A user's list holds their own models only.
pub async fn user_b_does_not_list_user_a_models(fx: &Fixture) {
    let models = &fx.backend.models;
    let alices = new_model();
    let bobs = new_model();
    models.create_model(&alices).await.expect("create_model");
    models.create_model(&bobs).await.expect("create_model");
    let listed = models.list_models(bobs.owner).await.expect("list_models");
    assert_eq!(listed, vec![bobs], "bob's list holds bob's model and nothing of alice's");
    let nobody = models.list_models(UserId::new()).await.expect("list_models");
    assert!(nobody.is_empty(), "a user without models lists none, got {nobody:?}");
}

/// `list_models` is newest first, whatever order the records were written in.
pub async fn list_is_newest_first(fx: &Fixture) {
    let models = &fx.backend.models;
    let (owner, dataset) = (UserId::new(), DatasetId::new());
    let built = built_apart(3, || sample_model(owner, dataset)).await;
    for at in [1, 2, 0] {
        models.create_model(&built[at]).await.expect("create_model");
    }
    let listed: Vec<ModelId> =
        models.list_models(owner).await.expect("list_models").iter().map(|m| m.id).collect();
    let newest_first: Vec<ModelId> = built.iter().rev().map(|m| m.id).collect();
    assert_eq!(listed, newest_first, "list_models must order by creation time, newest first");
}

/// A deleted model is `NotFound` to every method, unlisted, and a second delete is `NotFound`.
pub async fn deleted_model_is_not_found(fx: &Fixture) {
    let models = &fx.backend.models;
    let model = new_model();
    let sibling = sample_model(model.owner, model.dataset_id);
    models.create_model(&model).await.expect("create_model");
    models.create_model(&sibling).await.expect("create_model");
    models.delete_model(model.owner, model.id).await.expect("delete_model");

    assert_code(models.get_model(model.owner, model.id).await, "NOT_FOUND", "get after delete");
    let update = models.update_model(model.owner, model.id, &mut |_| Ok(())).await;
    assert_code(update, "NOT_FOUND", "update_model after delete_model");
    let listed = models.list_models(model.owner).await.expect("list_models");
    assert_eq!(listed, vec![sibling], "only the deleted model leaves the list");
    let again = models.delete_model(model.owner, model.id).await;
    assert_code(again, "NOT_FOUND", "delete_model twice");
}

/// Reading, updating or deleting an id that never existed is `NotFound`.
pub async fn missing_model_is_not_found(fx: &Fixture) {
    let models = &fx.backend.models;
    let (owner, id) = (UserId::new(), ModelId::new());
    assert_code(models.get_model(owner, id).await, "NOT_FOUND", "get_model of a missing id");
    let update = models.update_model(owner, id, &mut |_| Ok(())).await;
    assert_code(update, "NOT_FOUND", "update_model of a missing id");
    assert_code(models.delete_model(owner, id).await, "NOT_FOUND", "delete_model of a missing id");
}

/// `update_model` returns the model as stored, and later reads agree.
pub async fn update_model_returns_stored_model(fx: &Fixture) {
    let models = &fx.backend.models;
    let model = new_model();
    models.create_model(&model).await.expect("create_model");
    let updated = models
        .update_model(model.owner, model.id, &mut |m| {
            m.name = "Renamed".to_owned();
            m.features.push("petal_width".to_owned());
            Ok(())
        })
        .await
        .expect("update_model");
    assert_eq!(updated.name, "Renamed", "the mutation's change is returned");
    assert_eq!(updated.features, ["sepal_length", "petal_width"], "the change is returned");
    let stored = models.get_model(model.owner, model.id).await.expect("get_model");
    assert_eq!(stored, updated, "get_model after update_model returns what it returned");
}

/// A mutation that fails returns its error and changes nothing, even what it touched first.
pub async fn failed_mutation_writes_nothing(fx: &Fixture) {
    let models = &fx.backend.models;
    let model = new_model();
    models.create_model(&model).await.expect("create_model");
    let update = models
        .update_model(model.owner, model.id, &mut |m| {
            m.name = "half-written".to_owned();
            Err(Error::validation("name", "refused by the mutation"))
        })
        .await;
    let err = assert_code(update, "VALIDATION", "a failing mutation's error");
    assert_eq!(err.field(), Some("name"), "update_model returns the mutation's own error");
    let stored = models.get_model(model.owner, model.id).await.expect("get_model");
    assert_eq!(stored, model, "a failed mutation must write nothing");
}

/// Concurrent updates of one model all apply: none is lost to a read-modify-write race.
pub async fn update_model_is_atomic_under_concurrent_updates(fx: &Fixture) {
    let model = new_model();
    fx.backend.models.create_model(&model).await.expect("create_model");
    let (owner, id) = (model.owner, model.id);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let models = fx.backend.models.clone();
            tokio::spawn(async move {
                models
                    .update_model(owner, id, &mut |m| {
                        m.features.push(format!("feature_{i}"));
                        Ok(())
                    })
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("update task panicked").expect("concurrent update_model");
    }
    let stored = fx.backend.models.get_model(owner, id).await.expect("get_model");
    for i in 0..20 {
        let feature = format!("feature_{i}");
        assert!(stored.features.contains(&feature), "{feature} lost: {:?}", stored.features);
    }
    assert_eq!(stored.features.len(), 21, "each update applied once: {:?}", stored.features);
}
