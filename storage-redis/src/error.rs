//! redis-rs's errors as Modelyard's error kinds.

use modelyard_core::Error;

/// Maps a Redis failure: anything about reaching the server is `Unavailable` (retryable), the
/// rest `Internal`.
pub(crate) fn map_error(err: redis::RedisError) -> Error {
    if err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
    {
        Error::unavailable(format!("redis: {err}"))
    } else {
        Error::internal(format!("redis: {err}"))
    }
}
