//! The records Modelyard keeps. Every owned record carries `owner`; stores answer `NotFound` for a
//! record owned by someone else.

mod column;
mod dataset;
mod model;
mod notification;
mod run;
mod user;

pub use column::*;
pub use dataset::*;
pub use model::*;
pub use notification::*;
pub use run::*;
pub use user::*;

/// A UTC timestamp.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// The current time, in UTC, truncated to milliseconds so it survives every backend unchanged.
pub fn now() -> Timestamp {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
