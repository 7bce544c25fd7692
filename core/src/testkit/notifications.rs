//! Notifications: what only notifications hold (the generic promises are in [`super::records`]).

use super::{Fixture, built_apart, sample_notification};
use crate::{Notification, NotificationKind, UserId};

/// Created notifications list exactly as written, with and without a run.
pub async fn created_notification_reads_back_unchanged(fx: &Fixture) {
    let notifications = &fx.backend.notifications;
    let owner = UserId::new();
    let built = built_apart(2, || sample_notification(owner)).await;
    let about_a_run = Notification { kind: NotificationKind::RunFailed, ..built[0].clone() };
    let about_nothing = Notification { run_id: None, ..built[1].clone() };
    for notification in [&about_a_run, &about_nothing] {
        notifications.insert(notification).await.expect("insert");
    }
    let listed = notifications.list_all(owner).await.expect("list_all");
    assert_eq!(listed, vec![about_nothing, about_a_run], "the notifications as created");
}
