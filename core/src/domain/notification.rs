use serde::{Deserialize, Serialize};

use super::Timestamp;
use crate::{NotificationId, RunId, UserId};

/// Something that happened to a user's work and that they should hear about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// The notification's id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: NotificationId,
    /// Who it is for.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub owner: UserId,
    /// What happened.
    pub kind: NotificationKind,
    /// The run it is about, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Uuid))]
    pub run_id: Option<RunId>,
    /// A sentence for a person.
    pub message: String,
    /// Whether the user has marked it read.
    pub read: bool,
    /// When it was created.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// The kinds of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
