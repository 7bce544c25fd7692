//! The job queue on a Redis stream with one consumer group.
//!
//! - `jobs` (stream): one entry per enqueued job (`run`, `owner`). A claim first moves every new
//!   entry into the group `workers`' pending list (`XREADGROUP >` by the consumer `dispatch`) and
//!   into `retry`; an entry stays pending until `complete` acknowledges and deletes it (`XACK` +
//!   `XDEL`).
//! - `lease:<entry>` (hash) and `leases` (sorted set by expiry): the live claim of an entry, its
//!   receipt (`<entry id>/<delivery count>`) and when it lapses. Leases are explicit deadlines,
//!   renewed by `heartbeat`, because each claim names its own lease length; Redis's idle time
//!   (what `XAUTOCLAIM` measures) cannot tell a lease of 30 s from one of 5 min.
//! - `retry` (sorted set by enqueue order): the ready entries, new, released or whose lease
//!   lapsed. A claim is fair between owners: it takes, with `XCLAIM`, the oldest entry of the
//!   owner whose latest claim is oldest (`served`: owner -> a number from `served_seq` drawn at
//!   each claim; never served counts as 0; ties go to the older entry).
//! - `deliveries` (hash): claims so far of each entry, given to `XCLAIM` as its `RETRYCOUNT`.
//! - `queued` (set of run ids): a run waiting or held is enqueued once.
//!
//! Every step is one Lua script, so a job is always in exactly one state, and time is the Redis
//! server's clock (`TIME`), shared by every process.

use std::time::Duration;

use async_trait::async_trait;
use modelyard_core::{Claim, Error, Job, JobQueue, Result, RunId, Timestamp, UserId};
use redis::Value;

use crate::RedisStore;
use crate::backend::millis;
use crate::error::map_error;

const GROUP: &str = "workers";

/// Shared Lua helpers: the server clock in ms and the retry score of an entry id.
const PRELUDE: &str = r"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function order(id)
  local ms, seq = string.match(id, '(%d+)-(%d+)')
  return tonumber(ms) * 1000 + math.min(tonumber(seq), 999)
end
";

/// KEYS: jobs, queued. ARGV: run, owner.
const ENQUEUE: &str = r"
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[1], '*', 'run', ARGV[1], 'owner', ARGV[2])
return 1
";

/// KEYS: jobs, retry (the ready entries), leases, served, served sequence, deliveries.
/// ARGV: group, worker, lease ms, lease key prefix.
const CLAIM: &str = r"
local until_ms = now_ms() + tonumber(ARGV[3])
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
end
-- New entries join the ready ones, held meanwhile by the group's dispatch consumer.
local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], 'dispatch', 'COUNT', 10000,
  'STREAMS', KEYS[1], '>')
if read then
  for _, entry in ipairs(read[1][2]) do
    redis.call('ZADD', KEYS[2], order(entry[1]), entry[1])
  end
end
while true do
  -- Oldest first: the first entry seen of an owner is their oldest, and of owners served
  -- equally long ago (never), the one seen first waited longest.
  local best, fields, best_served, owner
  local seen = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local entry = redis.call('XRANGE', KEYS[1], id, id)
    if #entry == 0 then
      redis.call('ZREM', KEYS[2], id)
    else
      local who = field(entry[1][2], 'owner')
      if who and not seen[who] then
        seen[who] = true
        local served = tonumber(redis.call('HGET', KEYS[4], who) or '0')
        if best == nil or served < best_served then
          best, fields, best_served, owner = id, entry[1][2], served, who
          if served == 0 then break end
        end
      end
    end
  end
  if not best then return false end
  redis.call('ZREM', KEYS[2], best)
  local deliveries = redis.call('HINCRBY', KEYS[6], best, 1)
  local claimed = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, best,
    'RETRYCOUNT', deliveries)
  if #claimed > 0 and claimed[1] then
    redis.call('HSET', KEYS[4], owner, redis.call('INCR', KEYS[5]))
    local receipt = best .. '/' .. deliveries
    redis.call('HSET', ARGV[4] .. best, 'receipt', receipt)
    redis.call('ZADD', KEYS[3], until_ms, best)
    return {fields, deliveries, receipt, until_ms}
  end
  -- An entry deleted meanwhile: try the next one.
  redis.call('HDEL', KEYS[6], best)
end
";

/// KEYS: leases. ARGV: lease key prefix, entry, receipt, lease ms.
const HEARTBEAT: &str = r"
if redis.call('HGET', ARGV[1] .. ARGV[2], 'receipt') ~= ARGV[3] then return -1 end
local until_ms = now_ms() + tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], until_ms, ARGV[2])
return until_ms
";

/// KEYS: jobs, leases, queued, deliveries. ARGV: group, lease key prefix, entry, receipt, run.
const COMPLETE: &str = r"
if redis.call('HGET', ARGV[2] .. ARGV[3], 'receipt') ~= ARGV[4] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[3])
redis.call('DEL', ARGV[2] .. ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('SREM', KEYS[3], ARGV[5])
return 1
";

/// KEYS: leases, retry. ARGV: lease key prefix, entry, receipt.
const RELEASE: &str = r"
if redis.call('HGET', ARGV[1] .. ARGV[2], 'receipt') ~= ARGV[3] then return 0 end
redis.call('DEL', ARGV[1] .. ARGV[2])
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], order(ARGV[2]), ARGV[2])
return 1
";

/// KEYS: leases, retry. ARGV: lease key prefix.
const RECLAIM: &str = r"
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms())
for _, id in ipairs(lapsed) do
  redis.call('DEL', ARGV[1] .. id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], order(id), id)
end
return #lapsed
";

fn script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{PRELUDE}{body}"))
}

/// The error for a claim that is no longer its job's live one.
fn stale_claim() -> Error {
    Error::Conflict("the claim is no longer current".into())
}

/// The stream entry a receipt names.
fn entry_of(claim: &Claim) -> Result<&str> {
    claim.receipt.split_once('/').map(|(entry, _)| entry).ok_or_else(stale_claim)
}

fn timestamp(ms: i64) -> Result<Timestamp> {
    chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| Error::internal(format!("lease expiry {ms} out of range")))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(*n),
        _ => text(value)?.parse().ok(),
    }
}

/// Reads `{fields, deliveries, receipt, until_ms}` as returned by [`CLAIM`].
fn decode_claim(reply: &[Value]) -> Result<Claim> {
    let bad = || Error::internal("malformed claim reply from Redis");
    let [Value::Array(fields), deliveries, receipt, until] = reply else { return Err(bad()) };
    let mut run = None;
    let mut owner = None;
    for pair in fields.chunks(2) {
        match (pair.first().and_then(text).as_deref(), pair.get(1).and_then(text)) {
            (Some("run"), Some(v)) => run = Some(v),
            (Some("owner"), Some(v)) => owner = Some(v),
            _ => {}
        }
    }
    let run: RunId = run.ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let owner: UserId = owner.ok_or_else(bad)?.parse().map_err(|_| bad())?;
    Ok(Claim {
        job: Job { run_id: run, owner },
        deliveries: int(deliveries).and_then(|d| u32::try_from(d).ok()).ok_or_else(bad)?,
        receipt: text(receipt).ok_or_else(bad)?,
        lease_until: timestamp(int(until).ok_or_else(bad)?)?,
    })
}

impl RedisStore {
    fn lease_prefix(&self) -> String {
        self.key("lease:")
    }

    /// Creates the stream and its group once; an existing group is fine.
    pub(crate) async fn create_group(&self) -> Result<()> {
        let created: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.key("jobs"))
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.conn())
            .await;
        match created {
            Err(err) if err.code() == Some("BUSYGROUP") => Ok(()),
            other => other.map_err(map_error),
        }
    }
}

#[async_trait]
impl JobQueue for RedisStore {
    async fn enqueue(&self, job: &Job) -> Result<()> {
        let _: i64 = script(ENQUEUE)
            .key(self.key("jobs"))
            .key(self.key("queued"))
            .arg(job.run_id.to_string())
            .arg(job.owner.to_string())
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn claim(&self, worker: &str, lease: Duration) -> Result<Option<Claim>> {
        let reply: Value = script(CLAIM)
            .key(self.key("jobs"))
            .key(self.key("retry"))
            .key(self.key("leases"))
            .key(self.key("served"))
            .key(self.key("served_seq"))
            .key(self.key("deliveries"))
            .arg(GROUP)
            .arg(worker)
            .arg(millis(lease))
            .arg(self.lease_prefix())
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_error)?;
        match reply {
            Value::Array(reply) => decode_claim(&reply).map(Some),
            _ => Ok(None),
        }
    }

    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> Result<Timestamp> {
        let until: i64 = script(HEARTBEAT)
            .key(self.key("leases"))
            .arg(self.lease_prefix())
            .arg(entry_of(claim)?)
            .arg(&claim.receipt)
            .arg(millis(lease))
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_error)?;
        if until < 0 { Err(stale_claim()) } else { timestamp(until) }
    }

    async fn complete(&self, claim: &Claim) -> Result<()> {
        let done: i64 = script(COMPLETE)
            .key(self.key("jobs"))
            .key(self.key("leases"))
            .key(self.key("queued"))
            .key(self.key("deliveries"))
            .arg(GROUP)
            .arg(self.lease_prefix())
            .arg(entry_of(claim)?)
            .arg(&claim.receipt)
            .arg(claim.job.run_id.to_string())
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_error)?;
        if done == 1 { Ok(()) } else { Err(stale_claim()) }
    }

    async fn release(&self, claim: &Claim) -> Result<()> {
        let done: i64 = script(RELEASE)
            .key(self.key("leases"))
            .key(self.key("retry"))
            .arg(self.lease_prefix())
            .arg(entry_of(claim)?)
            .arg(&claim.receipt)
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_error)?;
        if done == 1 { Ok(()) } else { Err(stale_claim()) }
    }

    async fn reclaim_expired(&self) -> Result<u64> {
        script(RECLAIM)
            .key(self.key("leases"))
            .key(self.key("retry"))
            .arg(self.lease_prefix())
            .invoke_async(&mut self.conn())
            .await
            .map_err(map_error)
    }
}
