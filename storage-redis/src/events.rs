//! The event bus on pub/sub: one channel per owner, JSON payloads. Each subscription holds its
//! own pub/sub connection, confirmed before `subscribe` returns, so nothing published afterwards
//! is missed; redis-rs buffers for a subscriber that does not read, so publishers never wait.
//!
//! When a subscription's connection drops (Redis restarted, killed, or the link cut), its stream
//! **ends**; it does not resubscribe behind the subscriber's back. Events published while it was
//! gone are lost for good (pub/sub stores nothing), so a silent resubscription would leave a gap
//! the subscriber cannot see: a run follower could wait forever for a final status published in
//! that gap. An ended stream instead tells the subscriber to read the records again and
//! subscribe anew, which is what the facade's run follower does on every subscription (stored
//! history first, then live events), and what an SSE client does by reconnecting. Publishing
//! goes through the reconnecting connection manager, so it works again as soon as Redis is back.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use modelyard_core::{Event, EventBus, Result, UserId};
use redis::AsyncCommands;

use crate::RedisStore;
use crate::error::map_error;

impl RedisStore {
    fn channel(&self, owner: UserId) -> String {
        self.key(&format!("events:{owner}"))
    }
}

#[async_trait]
impl EventBus for RedisStore {
    async fn publish(&self, event: &Event) -> Result<()> {
        let payload = serde_json::to_vec(event)?;
        let _: u64 =
            self.conn().publish(self.channel(event.owner), payload).await.map_err(map_error)?;
        Ok(())
    }

    async fn subscribe(&self, owner: UserId) -> Result<BoxStream<'static, Event>> {
        let mut pubsub = self.client.get_async_pubsub().await.map_err(map_error)?;
        pubsub.subscribe(self.channel(owner)).await.map_err(map_error)?;
        Ok(pubsub
            .into_on_message()
            .filter_map(move |msg| async move {
                match serde_json::from_slice::<Event>(msg.get_payload_bytes()) {
                    Ok(event) if event.owner == owner => Some(event),
                    Ok(_) => None,
                    Err(err) => {
                        tracing::warn!(%err, "undecodable event skipped");
                        None
                    }
                }
            })
            .chain(futures::stream::poll_fn(move |_| {
                tracing::info!(%owner, "Redis event subscription ended (connection closed)");
                std::task::Poll::Ready(None)
            }))
            .boxed())
    }
}
