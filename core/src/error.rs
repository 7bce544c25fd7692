//! The one error type of Modelyard. Every backend maps its own failures into these kinds at its
//! boundary; the server maps them to HTTP statuses, Python to exceptions, Node to error codes.

use std::borrow::Cow;

/// Result with Modelyard's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in kinds a caller can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record does not exist, or belongs to someone else (never `Forbidden`: no existence leak).
    #[error("{0} not found")]
    NotFound(Cow<'static, str>),
    /// The request clashes with the current state (a taken email, a dataset in use, a run already finished).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A user mistake in one named field.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The field at fault, as the caller named it (`password`, `file`, `layers[1].units`).
        field: String,
        /// What is wrong with it, for a person.
        message: String,
    },
    /// Missing, wrong, expired or revoked credentials. The message never says which.
    #[error("unauthorized: {0}")]
    Unauthorized(Cow<'static, str>),
    /// Too many attempts; try again after the given number of seconds.
    #[error("too many attempts, retry after {retry_after_secs} s")]
    RateLimited {
        /// Seconds until a new attempt can succeed.
        retry_after_secs: u64,
    },
    /// The body or file is larger than the configured limit.
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    /// The content is not of a kind Modelyard accepts (binary or compressed data sent as CSV).
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    /// A backend is down or overloaded; the same call may succeed later.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// This deployment does not offer the capability (a backend without a job queue, no trainer).
    #[error("not supported: {0}")]
    NotSupported(String),
    /// A bug or a broken invariant; details are logged, not shown to users.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A `Validation` error for `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation { field: field.into(), message: message.into() }
    }

    /// A `NotFound` error naming what was looked for (`"dataset"`, `"run"`).
    pub fn not_found(what: impl Into<Cow<'static, str>>) -> Self {
        Self::NotFound(what.into())
    }

    /// An `Internal` error carrying a cause for the logs.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// An `Unavailable` error carrying the backend's cause.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        Self::Unavailable(cause.to_string())
    }

    /// The stable code of this kind, shared by HTTP bodies, Python exceptions and Node errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::Validation { .. } => "VALIDATION",
            Self::Unauthorized(_) => "UNAUTHORIZED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::NotSupported(_) => "NOT_SUPPORTED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// Whether the same call may succeed if retried later unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::RateLimited { .. })
    }

    /// The field a `Validation` error names.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Validation { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(format!("serialisation: {err}"))
    }
}
