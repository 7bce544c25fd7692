use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::{NotificationId, RunId, UserId};

/// Something that happened to a user's work and that they should hear about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The notification's id.
    pub id: NotificationId,
    /// Who it is for.
    pub owner: UserId,
    /// What happened.
    pub kind: NotificationKind,
    /// The run it is about, if any.
    pub run_id: Option<RunId>,
    /// A sentence for a person.
    pub message: String,
    /// Whether the user has marked it read.
    pub read: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The kinds of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NotificationKind {
    /// A training run finished and saved its model.
    RunCompleted,
    /// A training run failed.
    RunFailed,
    /// A training run was cancelled.
    RunCancelled,
}
