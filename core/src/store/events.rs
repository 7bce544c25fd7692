use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::{EpochMetrics, Notification, Result, RunId, RunStatus, UserId};

/// Something live that a user's open dashboards and `run.events()` streams should see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Whose event it is: subscribers only see their own.
    pub owner: UserId,
    /// What happened.
    pub kind: EventKind,
}

/// The kinds of live events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A run finished an epoch.
    Epoch {
        /// The run.
        #[serde(rename = "runId")]
        run_id: RunId,
        /// That epoch's metrics.
        metrics: EpochMetrics,
    },
    /// A run changed status.
    Status {
        /// The run.
        #[serde(rename = "runId")]
        run_id: RunId,
        /// Its new status.
        status: RunStatus,
        /// Why, for a failure.
        error: Option<String>,
    },
    /// A notification was created.
    Notification {
        /// The notification.
        notification: Notification,
    },
}

impl EventKind {
    /// The run an event is about, if any.
    pub fn run_id(&self) -> Option<RunId> {
        match self {
            Self::Epoch { run_id, .. } | Self::Status { run_id, .. } => Some(*run_id),
            Self::Notification { notification } => notification.run_id,
        }
    }
}

/// Live events, fanned out to subscribers. Delivery is best effort: events are not stored, and
/// the records stay the truth (a late subscriber reads the history, then follows events).
///
/// # Behavior
/// - `subscribe(owner)` yields every event published for `owner` after the stream is returned,
///   in publication order per publisher, and no event of another owner.
/// - `publish` with no subscriber is `Ok`.
/// - A slow subscriber may miss events; it never blocks publishers.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Sends an event to its owner's subscribers.
    async fn publish(&self, event: &Event) -> Result<()>;
    /// Follows an owner's events.
    async fn subscribe(&self, owner: UserId) -> Result<BoxStream<'static, Event>>;
}
