//! Request plumbing around the routes: load shedding, rate limits, head limits, security headers,
//! access log.

pub mod access_log;
pub mod admission;
pub mod head_limits;
pub mod rate_limit;
