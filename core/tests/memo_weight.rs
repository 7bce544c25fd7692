//! `memo::entry_bytes` is what bounds the decoded-record memos in memory, so it must not
//! undercount: each record kind the stores decode is measured here, with an allocator that
//! counts what decoding leaves allocated, against the estimate.
#![cfg(feature = "testkit")]
#![allow(clippy::unwrap_used, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use modelyard_core::memo::entry_bytes;
use modelyard_core::testkit::{
    sample_dataset, sample_final_metrics, sample_model, sample_notification, sample_run,
    sample_user,
};
use modelyard_core::{
    CategoryCount, ColumnKind, ColumnSchema, ColumnStats, Dataset, Model, Notification, RunStatus,
    TrainingRun, User,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The system allocator, counting the bytes this thread holds (each block rounded up to 16,
/// as allocators do).
struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
}

fn rounded(layout: Layout) -> isize {
    isize::try_from(layout.size().div_ceil(16) * 16).unwrap_or(isize::MAX)
}

// SAFETY: every call is passed on to `System` unchanged; only a thread-local count is kept.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = HELD.try_with(|held| held.set(held.get() + rounded(layout)));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let _ = HELD.try_with(|held| held.set(held.get() - rounded(layout)));
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What decoding `T` from its JSON leaves on the heap, and the JSON's length.
fn measured<T: Serialize + DeserializeOwned>(record: &T) -> (usize, usize) {
    let json = serde_json::to_vec(record).unwrap();
    let before = HELD.with(Cell::get);
    let decoded: T = serde_json::from_slice(&json).unwrap();
    let held = HELD.with(Cell::get) - before;
    drop(decoded);
    (usize::try_from(held).unwrap(), json.len())
}

/// The value's heap and inline size, plus the source bytes the entry keeps, must fit in
/// `entry_bytes` without its fixed overhead.
fn fits<T: Serialize + DeserializeOwned>(what: &str, record: &T) {
    let (heap, source) = measured(record);
    let memory = heap + std::mem::size_of::<T>() + source;
    let counted = entry_bytes::<T>(source);
    assert!(
        memory <= counted,
        "a {what} of {source} JSON bytes takes {memory} bytes decoded (heap {heap}), \
         but the memo counts it as {counted}"
    );
}

#[test]
fn every_record_kind_fits_its_counted_weight() {
    let user: User = sample_user("someone@example.com");
    fits("user", &user);
    let dataset: Dataset = sample_dataset(user.id);
    fits("dataset", &dataset);
    let model: Model = sample_model(user.id, dataset.id);
    fits("model", &model);
    let mut run: TrainingRun = sample_run(user.id, model.id, dataset.id);
    fits("queued run", &run);
    run.status = RunStatus::Completed;
    run.final_metrics = Some(sample_final_metrics());
    run.error = Some("x".into());
    fits("finished run", &run);
    let notification: Notification = sample_notification(user.id);
    fits("notification", &notification);
}

/// The worst case for a JSON-to-memory ratio: many columns with one-letter names and
/// one-letter categories, each becoming a `String` (24 bytes) and a block of 16.
#[test]
fn a_wide_dataset_of_short_names_fits_too() {
    let mut dataset = sample_dataset(sample_user("wide@example.com").id);
    dataset.schema.columns = (0..200)
        .map(|i| ColumnSchema {
            name: format!("c{}", i % 10),
            kind: ColumnKind::Categorical,
            missing: 0,
            distinct: 3,
            stats: ColumnStats::Categories {
                categories: ["a", "b", "c"]
                    .iter()
                    .map(|v| CategoryCount { value: (*v).to_owned(), count: 1 })
                    .collect(),
            },
        })
        .collect();
    fits("wide dataset", &dataset);
}
