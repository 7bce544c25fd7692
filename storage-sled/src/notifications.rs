//! Notifications: the `notifications` tree and its `notifications_by_owner` index.

use async_trait::async_trait;
use modelyard_core::{Notification, NotificationId, NotificationStore, Result, UserId};

use crate::SledStore;
use crate::records::OwnedRecord;

impl OwnedRecord for Notification {
    const KIND: &'static str = "notification";
    fn id_bytes(&self) -> [u8; 16] {
        self.id.to_bytes()
    }
    fn owner(&self) -> UserId {
        self.owner
    }
}

#[async_trait]
impl NotificationStore for SledStore {
    async fn create_notification(&self, notification: &Notification) -> Result<()> {
        self.trees.notifications.create(notification).await
    }

    async fn list_notifications(&self, owner: UserId) -> Result<Vec<Notification>> {
        self.trees.notifications.list(owner)
    }

    async fn mark_read(&self, owner: UserId, id: NotificationId) -> Result<Notification> {
        let mut mark = |n: &mut Notification| {
            n.read = true;
            Ok(())
        };
        self.trees.notifications.update(owner, id.to_bytes(), &mut mark).await
    }
}
