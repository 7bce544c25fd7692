//! The cache: plain string keys with a PX expiry; counters are INCR with the expiry set by the
//! increment that creates them (a fixed window), in one script so no counter lives forever.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use modelyard_core::{Cache, Result};
use redis::AsyncCommands;

use crate::RedisStore;
use crate::backend::millis;
use crate::error::map_error;

/// `INCR`, and `PEXPIRE` when the counter was just created.
const INCREMENT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
";

impl RedisStore {
    fn cache_key(&self, key: &str) -> String {
        self.key(&format!("cache:{key}"))
    }
}

#[async_trait]
impl Cache for RedisStore {
    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let value: Option<Vec<u8>> =
            self.conn().get(self.cache_key(key)).await.map_err(map_error)?;
        Ok(value.map(Bytes::from))
    }

    async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<()> {
        let () = self
            .conn()
            .pset_ex(self.cache_key(key), value.as_ref(), millis(ttl))
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let _: u64 = self.conn().del(self.cache_key(key)).await.map_err(map_error)?;
        Ok(())
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<u64> {
        redis::Script::new(INCREMENT)
            .key(self.cache_key(key))
            .arg(millis(ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_error)
    }
}
