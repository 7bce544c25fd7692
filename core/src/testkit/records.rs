//! [`crate::RecordStore`]: the promises every owner-scoped record kind shares. Each behaviour
//! here runs on every kind (datasets, models, runs, notifications) in turn, and names the kind
//! that broke it; what only one kind does (a run's lifecycle, a model's versions) stays in that
//! kind's module.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::{
    Fixture, assert_code, built_apart, sample_dataset, sample_model, sample_notification,
    sample_run,
};
use crate::{
    Backend, Dataset, DatasetId, Error, Listed, Model, ModelId, Notification, Page, Record,
    RecordStore, TrainingRun, UserId,
};

/// What the generic behaviours need of a record kind.
trait Kind: Record + PartialEq {
    /// The kind's store in a backend.
    fn store(backend: &Backend) -> &Arc<dyn RecordStore<Self>>;
    /// A new record of `owner`.
    fn sample(owner: UserId) -> Self;
    /// The record under another id.
    fn with_id(self, id: Self::Id) -> Self;
    /// A visible change of one field, different every time it is applied.
    fn touch(&mut self);
}

impl Kind for Dataset {
    fn store(backend: &Backend) -> &Arc<dyn RecordStore<Self>> {
        &backend.datasets
    }
    fn sample(owner: UserId) -> Self {
        sample_dataset(owner)
    }
    fn with_id(self, id: DatasetId) -> Self {
        Self { id, ..self }
    }
    fn touch(&mut self) {
        self.row_count += 1;
    }
}

impl Kind for Model {
    fn store(backend: &Backend) -> &Arc<dyn RecordStore<Self>> {
        &backend.models
    }
    fn sample(owner: UserId) -> Self {
        sample_model(owner, DatasetId::new())
    }
    fn with_id(self, id: ModelId) -> Self {
        Self { id, ..self }
    }
    fn touch(&mut self) {
        self.name.push('+');
    }
}

impl Kind for TrainingRun {
    fn store(backend: &Backend) -> &Arc<dyn RecordStore<Self>> {
        &backend.runs
    }
    fn sample(owner: UserId) -> Self {
        sample_run(owner, ModelId::new(), DatasetId::new())
    }
    fn with_id(self, id: crate::RunId) -> Self {
        Self { id, ..self }
    }
    fn touch(&mut self) {
        self.epochs_completed += 1;
    }
}

impl Kind for Notification {
    fn store(backend: &Backend) -> &Arc<dyn RecordStore<Self>> {
        &backend.notifications
    }
    fn sample(owner: UserId) -> Self {
        sample_notification(owner)
    }
    fn with_id(self, id: crate::NotificationId) -> Self {
        Self { id, ..self }
    }
    fn touch(&mut self) {
        self.message.push('+');
    }
}

/// Runs `$check::<Kind>(fx)` for every record kind.
macro_rules! for_every_kind {
    ($check:ident, $fx:expr) => {
        $check::<Dataset>($fx).await;
        $check::<Model>($fx).await;
        $check::<TrainingRun>($fx).await;
        $check::<Notification>($fx).await;
    };
}

/// `<kind>: <what>`, for assertion messages.
fn ctx<T: Record>(what: &str) -> String {
    format!("{}: {what}", T::KIND)
}

async fn ids<T: Kind>(store: &dyn RecordStore<T>, owner: UserId) -> Vec<T::Id> {
    store.list_all(owner).await.expect("list_all").iter().map(Record::id).collect()
}

/// A created record reads back exactly as written.
pub async fn created_record_reads_back_unchanged(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let record = T::sample(UserId::new());
        store.insert(&record).await.expect("insert");
        let stored = store.get(record.owner(), record.id()).await.expect("get");
        assert_eq!(stored, record, "{}", ctx::<T>("get must return the record as inserted"));
    }
    for_every_kind!(check, fx);
}

/// Inserting under an id that exists, for the same or another owner, is a `Conflict` and leaves
/// the first untouched.
pub async fn record_id_is_unique(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let first = T::sample(UserId::new());
        store.insert(&first).await.expect("insert");
        for owner in [first.owner(), UserId::new()] {
            let mut clash = T::sample(owner).with_id(first.id());
            clash.touch();
            assert_code(store.insert(&clash).await, "CONFLICT", &ctx::<T>("insert of a taken id"));
        }
        let stored = store.get(first.owner(), first.id()).await.expect("get");
        assert_eq!(stored, first, "{}", ctx::<T>("a refused insert must not overwrite"));
    }
    for_every_kind!(check, fx);
}

/// Another user reading, updating or deleting a record gets `NotFound`, exactly as for a
/// missing one, and the record stays as it was.
pub async fn user_b_cannot_touch_user_a_record(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let record = T::sample(UserId::new());
        store.insert(&record).await.expect("insert");
        let intruder = UserId::new();
        assert_code(store.get(intruder, record.id()).await, "NOT_FOUND", &ctx::<T>("get by B"));
        let mut touch = |r: &mut T| {
            r.touch();
            Ok(())
        };
        let update = store.update(intruder, record.id(), &mut touch).await;
        assert_code(update, "NOT_FOUND", &ctx::<T>("update by B"));
        let delete = store.delete(intruder, record.id()).await;
        assert_code(delete, "NOT_FOUND", &ctx::<T>("delete by B"));
        let stored = store.get(record.owner(), record.id()).await;
        assert_eq!(stored.ok(), Some(record), "{}", ctx::<T>("the owner's record is unchanged"));
    }
    for_every_kind!(check, fx);
}

/// A user's list and count hold their own records only.
pub async fn user_b_does_not_list_user_a_records(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let (alices, bobs) = (T::sample(UserId::new()), T::sample(UserId::new()));
        store.insert(&alices).await.expect("insert");
        store.insert(&bobs).await.expect("insert");
        let listed = store.list_all(bobs.owner()).await.expect("list_all");
        assert_eq!(listed, vec![bobs.clone()], "{}", ctx::<T>("B's list holds B's record only"));
        assert_eq!(store.count(bobs.owner()).await.expect("count"), 1, "{}", ctx::<T>("count"));
        let nobody = UserId::new();
        assert!(store.list_all(nobody).await.expect("list_all").is_empty(), "{}", T::KIND);
        assert_eq!(store.count(nobody).await.expect("count"), 0, "{}", ctx::<T>("count of none"));
    }
    for_every_kind!(check, fx);
}

/// `list` is newest first, whatever order the records were written in.
pub async fn list_is_newest_first(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let owner = UserId::new();
        let built = built_apart(3, || T::sample(owner)).await;
        for at in [1, 2, 0] {
            store.insert(&built[at]).await.expect("insert");
        }
        let newest_first: Vec<T::Id> = built.iter().rev().map(Record::id).collect();
        assert_eq!(ids(store.as_ref(), owner).await, newest_first, "{}", ctx::<T>("order"));
    }
    for_every_kind!(check, fx);
}

/// Walking the pages of a list sees every record once, newest first, and the last page says
/// it is the last; a limit larger than the list is one page.
pub async fn pages_walk_the_list_without_gaps_or_repeats(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let owner = UserId::new();
        let built = built_apart(7, || T::sample(owner)).await;
        for record in built.iter().rev() {
            store.insert(record).await.expect("insert");
        }
        store.insert(&T::sample(UserId::new())).await.expect("insert another owner's record");
        let newest_first: Vec<T::Id> = built.iter().rev().map(Record::id).collect();

        let mut walked = Vec::new();
        let mut sizes = Vec::new();
        let mut page = Page::first(3);
        loop {
            let Listed { records, next } = store.list(owner, page).await.expect("list");
            sizes.push(records.len());
            walked.extend(records.iter().map(Record::id));
            match next {
                Some(cursor) => {
                    assert_eq!(Some(&cursor), walked.last(), "{}", ctx::<T>("next = last id"));
                    page = Page::after(cursor, 3);
                }
                None => break,
            }
            assert!(sizes.len() < 10, "{}", ctx::<T>("the walk must end"));
        }
        assert_eq!(walked, newest_first, "{}", ctx::<T>("pages of 3 walk the whole list"));
        assert_eq!(sizes, vec![3, 3, 1], "{}", ctx::<T>("page sizes"));

        let whole = store.list(owner, Page::first(7)).await.expect("list");
        assert_eq!(whole.next, None, "{}", ctx::<T>("a page holding the rest is the last"));
        let empty = store.list(owner, Page::first(0)).await.expect("list");
        assert!(empty.records.is_empty(), "{}", ctx::<T>("limit 0 lists nothing"));
    }
    for_every_kind!(check, fx);
}

/// A cursor whose record was deleted still continues the walk where it was.
pub async fn a_page_after_a_deleted_record_continues_the_walk(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let owner = UserId::new();
        let built = built_apart(4, || T::sample(owner)).await;
        for record in &built {
            store.insert(record).await.expect("insert");
        }
        let first = store.list(owner, Page::first(2)).await.expect("list");
        let cursor = first.next.expect("a second page exists");
        store.delete(owner, cursor).await.expect("delete the cursor's record");
        let second = store.list(owner, Page::after(cursor, 2)).await.expect("list");
        let older: Vec<T::Id> = built[..2].iter().rev().map(Record::id).collect();
        let listed: Vec<T::Id> = second.records.iter().map(Record::id).collect();
        assert_eq!(listed, older, "{}", ctx::<T>("the records older than the cursor"));
    }
    for_every_kind!(check, fx);
}

/// A deleted record is `NotFound` to every method, unlisted, uncounted, and a second delete is
/// `NotFound`.
pub async fn deleted_record_is_not_found(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let owner = UserId::new();
        let (record, sibling) = (T::sample(owner), T::sample(owner));
        store.insert(&record).await.expect("insert");
        store.insert(&sibling).await.expect("insert");
        store.delete(owner, record.id()).await.expect("delete");
        assert_code(
            store.get(owner, record.id()).await,
            "NOT_FOUND",
            &ctx::<T>("get after delete"),
        );
        let mut touch = |r: &mut T| {
            r.touch();
            Ok(())
        };
        let update = store.update(owner, record.id(), &mut touch).await;
        assert_code(update, "NOT_FOUND", &ctx::<T>("update after delete"));
        assert_eq!(ids(store.as_ref(), owner).await, vec![sibling.id()], "{}", T::KIND);
        assert_eq!(store.count(owner).await.expect("count"), 1, "{}", ctx::<T>("count"));
        let again = store.delete(owner, record.id()).await;
        assert_code(again, "NOT_FOUND", &ctx::<T>("delete twice"));
    }
    for_every_kind!(check, fx);
}

/// Reading, updating or deleting an id that never existed is `NotFound`.
pub async fn missing_record_is_not_found(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let (owner, id) = (UserId::new(), T::sample(UserId::new()).id());
        assert_code(store.get(owner, id).await, "NOT_FOUND", &ctx::<T>("get of a missing id"));
        let mut touch = |r: &mut T| {
            r.touch();
            Ok(())
        };
        let update = store.update(owner, id, &mut touch).await;
        assert_code(update, "NOT_FOUND", &ctx::<T>("update of a missing id"));
        assert_code(
            store.delete(owner, id).await,
            "NOT_FOUND",
            &ctx::<T>("delete of a missing id"),
        );
    }
    for_every_kind!(check, fx);
}

/// `update` returns the record as stored, later reads agree, and a failing mutation writes
/// nothing, even what it changed before failing.
pub async fn update_returns_the_stored_record_and_a_failed_one_writes_nothing(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend);
        let record = T::sample(UserId::new());
        store.insert(&record).await.expect("insert");
        let mut touch = |r: &mut T| {
            r.touch();
            Ok(())
        };
        let updated = store.update(record.owner(), record.id(), &mut touch).await.expect("update");
        let mut expected = record.clone();
        expected.touch();
        assert_eq!(updated, expected, "{}", ctx::<T>("update returns the changed record"));
        let stored = store.get(record.owner(), record.id()).await.expect("get");
        assert_eq!(stored, expected, "{}", ctx::<T>("a read after update agrees"));

        let mut fail = |r: &mut T| {
            r.touch();
            Err(Error::Validation { field: "x".into(), message: "refused".into() })
        };
        let failed = store.update(record.owner(), record.id(), &mut fail).await;
        assert_code(failed, "VALIDATION", &ctx::<T>("a failing mutation's error"));
        let stored = store.get(record.owner(), record.id()).await.expect("get");
        assert_eq!(stored, expected, "{}", ctx::<T>("a failed mutation writes nothing"));
    }
    for_every_kind!(check, fx);
}

/// Concurrent updates of one record all apply: none is lost to a read-modify-write race.
pub async fn concurrent_updates_are_not_lost(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend).clone();
        let record = T::sample(UserId::new());
        store.insert(&record).await.expect("insert");
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let (store, owner, id) = (store.clone(), record.owner(), record.id());
                tokio::spawn(async move {
                    let mut touch = |r: &mut T| {
                        r.touch();
                        Ok(())
                    };
                    store.update(owner, id, &mut touch).await.expect("update");
                })
            })
            .collect();
        for writer in writers {
            writer.await.expect("writer");
        }
        let mut expected = record.clone();
        for _ in 0..8 {
            expected.touch();
        }
        let stored = store.get(record.owner(), record.id()).await.expect("get");
        assert_eq!(stored, expected, "{}", ctx::<T>("eight concurrent updates all apply"));
    }
    for_every_kind!(check, fx);
}

/// Inserting many records at once keeps each exactly once.
pub async fn concurrent_inserts_are_all_listed(fx: &Fixture) {
    async fn check<T: Kind>(fx: &Fixture) {
        let store = T::store(&fx.backend).clone();
        let owner = UserId::new();
        let records: Vec<T> = (0..16).map(|_| T::sample(owner)).collect();
        let inserts: Vec<_> = records
            .iter()
            .cloned()
            .map(|record| {
                let store = store.clone();
                tokio::spawn(async move { store.insert(&record).await.expect("insert") })
            })
            .collect();
        for insert in inserts {
            insert.await.expect("insert");
        }
        let listed: BTreeSet<T::Id> = ids(store.as_ref(), owner).await.into_iter().collect();
        let inserted: BTreeSet<T::Id> = records.iter().map(Record::id).collect();
        assert_eq!(listed, inserted, "{}", ctx::<T>("every inserted record is listed once"));
        assert_eq!(store.count(owner).await.expect("count"), 16, "{}", ctx::<T>("count"));
    }
    for_every_kind!(check, fx);
}
