//! Run histories: one record per (run, epoch), read back in epoch order, a page at a time.

use super::{Fixture, sample_epoch};
use crate::{EpochMetrics, Page, RunId, UserId};

fn epochs(numbers: &[u32]) -> Vec<EpochMetrics> {
    numbers.iter().copied().map(sample_epoch).collect()
}

fn numbers(epochs: &[EpochMetrics]) -> Vec<u32> {
    epochs.iter().map(|m| m.epoch).collect()
}

/// Epochs put out of order read back unchanged, in epoch order (numeric, not textual: 9
/// before 10, 100 and 70,000).
pub async fn epochs_read_back_in_epoch_order_unchanged(fx: &Fixture) {
    let (owner, run) = (UserId::new(), RunId::new());
    let history = &fx.backend.history;
    for metrics in epochs(&[10, 2, 70_000, 9, 1, 100]) {
        history.put_epoch(owner, run, &metrics).await.expect("put epoch");
    }
    let stored = history.all_epochs(owner, run).await.expect("read history");
    assert_eq!(stored, epochs(&[1, 2, 9, 10, 100, 70_000]), "every epoch, in order, unchanged");
}

/// Putting an epoch again replaces it: a (run, epoch) is stored once.
pub async fn a_repeated_epoch_replaces_the_first(fx: &Fixture) {
    let (owner, run) = (UserId::new(), RunId::new());
    let history = &fx.backend.history;
    for metrics in epochs(&[1, 2, 3]) {
        history.put_epoch(owner, run, &metrics).await.expect("put epoch");
    }
    let again = EpochMetrics { loss: 42.0, ..sample_epoch(2) };
    history.put_epoch(owner, run, &again).await.expect("put the epoch again");
    let stored = history.all_epochs(owner, run).await.expect("read history");
    assert_eq!(stored, vec![sample_epoch(1), again, sample_epoch(3)]);
}

/// Twenty writers putting distinct epochs, and ten putting one same epoch, at once: every
/// distinct epoch is kept, the repeated one once.
pub async fn concurrent_puts_keep_every_epoch_once(fx: &Fixture) {
    let (owner, run) = (UserId::new(), RunId::new());
    let mut tasks = Vec::new();
    for epoch in (1..=20).chain(std::iter::repeat_n(21, 10)) {
        let history = fx.backend.history.clone();
        tasks.push(tokio::spawn(async move {
            history.put_epoch(owner, run, &sample_epoch(epoch)).await
        }));
    }
    for task in tasks {
        task.await.expect("put task panicked").expect("concurrent put");
    }
    let stored = fx.backend.history.all_epochs(owner, run).await.expect("read history");
    assert_eq!(numbers(&stored), (1..=21).collect::<Vec<_>>(), "each epoch once, in order");
}

/// Pages of 10 walk 25 epochs as 10, 10 and 5, each naming where the next starts; a page
/// after the last epoch is empty.
pub async fn pages_walk_the_history_in_order(fx: &Fixture) {
    let (owner, run) = (UserId::new(), RunId::new());
    let history = &fx.backend.history;
    for metrics in epochs(&(1..=25).collect::<Vec<_>>()) {
        history.put_epoch(owner, run, &metrics).await.expect("put epoch");
    }
    let first = history.epochs(owner, run, Page::first(10)).await.expect("first page");
    assert_eq!(numbers(&first.epochs), (1..=10).collect::<Vec<_>>());
    assert_eq!(first.next, Some(10));
    let second = history.epochs(owner, run, Page::after(10, 10)).await.expect("second page");
    assert_eq!(numbers(&second.epochs), (11..=20).collect::<Vec<_>>());
    assert_eq!(second.next, Some(20));
    let last = history.epochs(owner, run, Page::after(20, 10)).await.expect("last page");
    assert_eq!(numbers(&last.epochs), (21..=25).collect::<Vec<_>>());
    assert_eq!(last.next, None, "the last page says so");
    let exact = history.epochs(owner, run, Page::first(25)).await.expect("exact page");
    assert_eq!((exact.epochs.len(), exact.next), (25, None), "a page that ends the history");
    let past = history.epochs(owner, run, Page::after(25, 10)).await.expect("past the end");
    assert_eq!((past.epochs.len(), past.next), (0, None));
}

/// Another owner neither reads, lists over, nor deletes a run's epochs, and what it puts
/// under the same run id stays its own.
pub async fn another_owner_never_touches_a_history(fx: &Fixture) {
    let (alice, bob, run) = (UserId::new(), UserId::new(), RunId::new());
    let history = &fx.backend.history;
    for metrics in epochs(&[1, 2]) {
        history.put_epoch(alice, run, &metrics).await.expect("put epoch");
    }
    assert!(history.all_epochs(bob, run).await.expect("bob reads").is_empty());
    history.delete_epochs(bob, run).await.expect("bob deletes nothing");
    let forged = EpochMetrics { loss: 99.0, ..sample_epoch(1) };
    history.put_epoch(bob, run, &forged).await.expect("bob puts his own");
    assert_eq!(history.all_epochs(alice, run).await.expect("alice reads"), epochs(&[1, 2]));
    assert_eq!(history.all_epochs(bob, run).await.expect("bob reads"), vec![forged]);
}

/// Deleting a run's history leaves it empty and every other run's history whole; a run
/// without epochs reads empty and deletes without error.
pub async fn deleted_history_is_empty_and_others_are_kept(fx: &Fixture) {
    let owner = UserId::new();
    let (gone, kept) = (RunId::new(), RunId::new());
    let history = &fx.backend.history;
    for run in [gone, kept] {
        for metrics in epochs(&[1, 2, 3]) {
            history.put_epoch(owner, run, &metrics).await.expect("put epoch");
        }
    }
    history.delete_epochs(owner, gone).await.expect("delete history");
    assert!(history.all_epochs(owner, gone).await.expect("read deleted").is_empty());
    assert_eq!(history.all_epochs(owner, kept).await.expect("read kept"), epochs(&[1, 2, 3]));
    let never = RunId::new();
    assert!(history.all_epochs(owner, never).await.expect("read missing").is_empty());
    history.delete_epochs(owner, never).await.expect("deleting nothing is no error");
}
