//! The event bus on pub/sub: one channel per owner, JSON payloads. Each subscription holds its
//! own pub/sub connection, confirmed before `subscribe` returns, so nothing published afterwards
//! is missed; redis-rs buffers for a subscriber that does not read, so publishers never wait.

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use modelyard_core::{Event, EventBus, Result, UserId};
use redis::AsyncCommands;

use crate::{RedisStore, redis_error};

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
            self.conn().publish(self.channel(event.owner), payload).await.map_err(redis_error)?;
        Ok(())
    }

    async fn subscribe(&self, owner: UserId) -> Result<BoxStream<'static, Event>> {
        let mut pubsub = self.client.get_async_pubsub().await.map_err(redis_error)?;
        pubsub.subscribe(self.channel(owner)).await.map_err(redis_error)?;
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
            .boxed())
    }
}
