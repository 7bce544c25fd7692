//! [`crate::DatasetStore`]: owner-scoped dataset records, newest first.

use super::{Fixture, assert_code, built_apart, sample_dataset};
use crate::{Dataset, DatasetId, UserId};

/// A created dataset reads back exactly as written, schema and statistics included.
pub async fn created_dataset_reads_back_unchanged(fx: &Fixture) {
    let datasets = &fx.backend.datasets;
    let dataset = sample_dataset(UserId::new());
    datasets.create_dataset(&dataset).await.expect("create_dataset");
    let stored = datasets.get_dataset(dataset.owner, dataset.id).await.expect("get_dataset");
    assert_eq!(stored, dataset, "get_dataset must return the dataset as created");
}

/// Creating a dataset under an id that exists is a `Conflict` and leaves the first untouched.
pub async fn dataset_id_is_unique(fx: &Fixture) {
    let datasets = &fx.backend.datasets;
    let first = sample_dataset(UserId::new());
    datasets.create_dataset(&first).await.expect("create_dataset");
    for owner in [first.owner, UserId::new()] {
        let clash = Dataset { id: first.id, name: "Impostor".to_owned(), ..sample_dataset(owner) };
        let create = datasets.create_dataset(&clash).await;
        assert_code(create, "CONFLICT", "create_dataset of a taken id (same or other owner)");
    }
    let stored = datasets.get_dataset(first.owner, first.id).await.expect("get_dataset");
    assert_eq!(stored, first, "a refused create must not overwrite the existing dataset");
}

/// Another user reading a dataset gets `NotFound`, exactly as for a missing one.
pub async fn user_b_cannot_read_user_a_dataset(fx: &Fixture) {
    let datasets = &fx.backend.datasets;
    let dataset = sample_dataset(UserId::new());
    datasets.create_dataset(&dataset).await.expect("create_dataset");
    let intruder = UserId::new();
    assert_code(
        datasets.get_dataset(intruder, dataset.id).await,
        "NOT_FOUND",
        "get_dataset by a user who does not own it",
    );
}

/// Another user deleting a dataset gets `NotFound`, and the dataset stays.
pub async fn user_b_cannot_delete_user_a_dataset(fx: &Fixture) {
    let datasets = &fx.backend.datasets;
    let dataset = sample_dataset(UserId::new());
    datasets.create_dataset(&dataset).await.expect("create_dataset");
    assert_code(
        datasets.delete_dataset(UserId::new(), dataset.id).await,
        "NOT_FOUND",
        "delete_dataset by a user who does not own it",
    );
    let stored = datasets.get_dataset(dataset.owner, dataset.id).await;
    assert_eq!(stored.ok(), Some(dataset), "the owner still has the dataset");
}

/// A user's list holds their own datasets only.
pub async fn user_b_does_not_list_user_a_datasets(fx: &Fixture) {
    let datasets = &fx.backend.datasets;
    let (alice, bob) = (UserId::new(), UserId::new());
    let alices = sample_dataset(alice);
    let bobs = sample_dataset(bob);
    datasets.create_dataset(&alices).await.expect("create_dataset");
    datasets.create_dataset(&bobs).await.expect("create_dataset");
    let listed = datasets.list_datasets(bob).await.expect("list_datasets");
    assert_eq!(listed, vec![bobs], "bob's list holds bob's dataset and nothing of alice's");
    let nobody = datasets.list_datasets(UserId::new()).await.expect("list_datasets");
    assert!(nobody.is_empty(), "a user without datasets lists none, got {nobody:?}");
}

/// `list_datasets` is newest first, whatever order the records were written in.
pub async fn list_is_newest_first(fx: &Fixture) {
    let datasets = &fx.backend.datasets;
    let owner = UserId::new();
    let built = built_apart(3, || sample_dataset(owner)).await;
    for at in [1, 2, 0] {
        datasets.create_dataset(&built[at]).await.expect("create_dataset");
    }
    let listed: Vec<DatasetId> =
        datasets.list_datasets(owner).await.expect("list_datasets").iter().map(|d| d.id).collect();
    let newest_first: Vec<DatasetId> = built.iter().rev().map(|d| d.id).collect();
    assert_eq!(listed, newest_first, "list_datasets must order by upload time, newest first");
}

/// A deleted dataset is `NotFound`, unlisted, and a second delete is `NotFound`.
pub async fn deleted_dataset_is_not_found(fx: &Fixture) {
    let datasets = &fx.backend.datasets;
    let dataset = sample_dataset(UserId::new());
    let sibling = sample_dataset(dataset.owner);
    datasets.create_dataset(&dataset).await.expect("create_dataset");
    datasets.create_dataset(&sibling).await.expect("create_dataset");
    datasets.delete_dataset(dataset.owner, dataset.id).await.expect("delete_dataset");

    let get = datasets.get_dataset(dataset.owner, dataset.id).await;
    assert_code(get, "NOT_FOUND", "get_dataset after delete_dataset");
    let listed = datasets.list_datasets(dataset.owner).await.expect("list_datasets");
    assert_eq!(listed, vec![sibling], "only the deleted dataset leaves the list");
    let again = datasets.delete_dataset(dataset.owner, dataset.id).await;
    assert_code(again, "NOT_FOUND", "delete_dataset twice");
}

/// Reading or deleting an id that never existed is `NotFound`.
pub async fn missing_dataset_is_not_found(fx: &Fixture) {
    let datasets = &fx.backend.datasets;
    let (owner, id) = (UserId::new(), DatasetId::new());
    assert_code(datasets.get_dataset(owner, id).await, "NOT_FOUND", "get_dataset of a missing id");
    let delete = datasets.delete_dataset(owner, id).await;
    assert_code(delete, "NOT_FOUND", "delete_dataset of a missing id");
}
