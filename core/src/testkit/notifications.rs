//! [`crate::NotificationStore`]: owner-scoped notifications, newest first, idempotent `mark_read`.

use super::{Fixture, assert_code, built_apart, sample_notification};
use crate::{Notification, NotificationId, NotificationKind, UserId};

/// Created notifications list exactly as written, with and without a run.
pub async fn created_notification_reads_back_unchanged(fx: &Fixture) {
    let notifications = &fx.backend.notifications;
    let owner = UserId::new();
    let built = built_apart(2, || sample_notification(owner)).await;
    let about_a_run = Notification { kind: NotificationKind::RunFailed, ..built[0].clone() };
    let about_nothing = Notification { run_id: None, ..built[1].clone() };
    for notification in [&about_a_run, &about_nothing] {
        notifications.create_notification(notification).await.expect("create_notification");
    }
    let listed = notifications.list_notifications(owner).await.expect("list_notifications");
    assert_eq!(listed, vec![about_nothing, about_a_run], "the notifications as created");
}

/// `list_notifications` is newest first, whatever order the records were written in.
pub async fn list_is_newest_first(fx: &Fixture) {
    let notifications = &fx.backend.notifications;
    let owner = UserId::new();
    let built = built_apart(3, || sample_notification(owner)).await;
    for at in [1, 2, 0] {
        notifications.create_notification(&built[at]).await.expect("create_notification");
    }
    let listed: Vec<NotificationId> = notifications
        .list_notifications(owner)
        .await
        .expect("list_notifications")
        .iter()
        .map(|n| n.id)
        .collect();
    let newest_first: Vec<NotificationId> = built.iter().rev().map(|n| n.id).collect();
    assert_eq!(listed, newest_first, "list_notifications must be newest first");
}

/// A user's list holds their own notifications only.
pub async fn user_b_does_not_list_user_a_notifications(fx: &Fixture) {
    let notifications = &fx.backend.notifications;
    let alices = sample_notification(UserId::new());
    let bobs = sample_notification(UserId::new());
    notifications.create_notification(&alices).await.expect("create_notification");
    notifications.create_notification(&bobs).await.expect("create_notification");
    let listed = notifications.list_notifications(bobs.owner).await.expect("list_notifications");
    assert_eq!(listed, vec![bobs], "bob's list holds bob's notification and nothing of alice's");
    let nobody = notifications.list_notifications(UserId::new()).await.expect("list");
    assert!(nobody.is_empty(), "a user without notifications lists none, got {nobody:?}");
}

/// Another user marking a notification read gets `NotFound`, and it stays unread.
pub async fn user_b_cannot_mark_user_a_notification_read(fx: &Fixture) {
    let notifications = &fx.backend.notifications;
    let notification = sample_notification(UserId::new());
    notifications.create_notification(&notification).await.expect("create_notification");
    assert_code(
        notifications.mark_read(UserId::new(), notification.id).await,
        "NOT_FOUND",
        "mark_read by a user who does not own the notification",
    );
    let listed = notifications.list_notifications(notification.owner).await.expect("list");
    assert_eq!(listed, vec![notification], "another user's mark_read must change nothing");
}

/// `mark_read` returns the notification marked read, and marks that one only.
pub async fn mark_read_marks_only_that_notification(fx: &Fixture) {
    let notifications = &fx.backend.notifications;
    let owner = UserId::new();
    let built = built_apart(2, || sample_notification(owner)).await;
    for notification in &built {
        notifications.create_notification(notification).await.expect("create_notification");
    }
    let marked = notifications.mark_read(owner, built[0].id).await.expect("mark_read");
    let expected = Notification { read: true, ..built[0].clone() };
    assert_eq!(marked, expected, "mark_read returns the notification, now read");
    let listed = notifications.list_notifications(owner).await.expect("list_notifications");
    assert_eq!(listed, vec![built[1].clone(), expected], "only the marked one is read");
}

/// Marking a notification read twice succeeds both times and leaves it read.
pub async fn mark_read_is_idempotent(fx: &Fixture) {
    let notifications = &fx.backend.notifications;
    let notification = sample_notification(UserId::new());
    notifications.create_notification(&notification).await.expect("create_notification");
    let owner = notification.owner;
    let first = notifications.mark_read(owner, notification.id).await.expect("first mark_read");
    let second = notifications.mark_read(owner, notification.id).await.expect("second mark_read");
    assert!(first.read && second.read, "both calls return the notification read");
    assert_eq!(first, second, "marking read again changes nothing");
}

/// Marking an id that never existed is `NotFound`.
pub async fn missing_notification_is_not_found(fx: &Fixture) {
    let mark = fx.backend.notifications.mark_read(UserId::new(), NotificationId::new());
    assert_code(mark.await, "NOT_FOUND", "mark_read of a missing id");
}
