//! The default event bus: a tokio broadcast channel inside one process.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use modelyard_core::{Event, EventBus, Result, UserId};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

/// An in-process [`EventBus`]: publishers never wait; a subscriber that falls more than
/// `capacity` events behind skips the ones it missed (the records stay the truth).
#[derive(Clone)]
pub struct LocalEventBus {
    sender: broadcast::Sender<Event>,
}

impl LocalEventBus {
    /// A bus buffering `capacity` events per slow subscriber.
    pub fn new(capacity: usize) -> Self {
        Self { sender: broadcast::channel(capacity.max(1)).0 }
    }
}

impl Default for LocalEventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

#[async_trait]
impl EventBus for LocalEventBus {
    async fn publish(&self, event: &Event) -> Result<()> {
        // An error here only means nobody is listening.
        let _ = self.sender.send(event.clone());
        Ok(())
    }

    async fn subscribe(&self, owner: UserId) -> Result<BoxStream<'static, Event>> {
        let stream = BroadcastStream::new(self.sender.subscribe())
            .filter_map(move |item| async move { item.ok().filter(|e| e.owner == owner) });
        Ok(stream.boxed())
    }
}
