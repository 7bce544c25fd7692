//! Notifications: what users hear about their runs, stored and published live.

use futures::StreamExt;
use futures::stream::BoxStream;

use crate::{
    Event, EventKind, Listed, Notification, NotificationId, NotificationKind, Page, Result, RunId,
    Stores, UserId, now,
};

/// Lists notifications and marks them read.
#[derive(Clone)]
pub struct NotificationService {
    stores: Stores,
}

impl NotificationService {
    /// A service over `stores`.
    pub fn new(stores: Stores) -> Self {
        Self { stores }
    }

    /// The owner's notifications, newest first.
    pub async fn list(&self, owner: UserId) -> Result<Vec<Notification>> {
        self.stores.notifications.list_all(owner).await
    }

    /// A page of the owner's notifications, newest first.
    pub async fn list_page(
        &self,
        owner: UserId,
        page: Page<NotificationId>,
    ) -> Result<Listed<Notification>> {
        self.stores.notifications.list(owner, page).await
    }

    /// Marks one read (idempotent).
    pub async fn mark_read(&self, owner: UserId, id: NotificationId) -> Result<Notification> {
        let mut mark = |n: &mut Notification| {
            n.read = true;
            Ok(())
        };
        self.stores.notifications.update(owner, id, &mut mark).await
    }

    /// The owner's notifications as they are created.
    pub async fn follow(&self, owner: UserId) -> Result<BoxStream<'static, Notification>> {
        let events = self.stores.events.subscribe(owner).await?;
        Ok(events
            .filter_map(|event| async move {
                match event.kind {
                    EventKind::Notification { notification } => Some(notification),
                    _ => None,
                }
            })
            .boxed())
    }
}

/// Stores a notification, keeps only the owner's newest `keep`, and publishes it live. A failed
/// publish or pruning is logged, not fatal: the stored notification is the truth and the next
/// list shows it.
pub(crate) async fn notify(
    stores: &Stores,
    keep: u64,
    owner: UserId,
    kind: NotificationKind,
    run_id: Option<RunId>,
    message: String,
) -> Result<Notification> {
    let notification = Notification {
        id: NotificationId::new(),
        owner,
        kind,
        run_id,
        message,
        read: false,
        created_at: now(),
    };
    stores.notifications.insert(&notification).await?;
    if let Err(err) = prune(stores, owner, keep).await {
        tracing::warn!(%err, "old notifications not pruned");
    }
    let event =
        Event { owner, kind: EventKind::Notification { notification: notification.clone() } };
    if let Err(err) = stores.events.publish(&event).await {
        tracing::warn!(%err, "notification stored but not published");
    }
    Ok(notification)
}

/// Deletes the owner's notifications older than the newest `keep`.
async fn prune(stores: &Stores, owner: UserId, keep: u64) -> Result<()> {
    if stores.notifications.count(owner).await? <= keep {
        return Ok(());
    }
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
    let Some(oldest_kept) = stores.notifications.list(owner, Page::first(keep)).await?.next else {
        return Ok(());
    };
    let older = stores.notifications.list(owner, Page { limit: None, after: Some(oldest_kept) });
    for notification in older.await?.records {
        match stores.notifications.delete(owner, notification.id).await {
            Ok(()) | Err(crate::Error::NotFound(_)) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}
