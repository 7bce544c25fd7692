//! Request plumbing around the routes: rate limits, security headers, access log.

pub mod access_log;
pub mod rate_limit;
