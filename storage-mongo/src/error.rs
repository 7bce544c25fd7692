//! Driver errors as Modelyard's error kinds.

use modelyard_core::Error;
use mongodb::error::{ErrorKind, WriteFailure};

/// Server error codes after which the same call may succeed later: the server is stepping down,
/// shutting down, unreachable from a router, or the operation timed out.
const RETRYABLE_CODES: &[i32] =
    &[6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436];

/// The duplicate-key codes.
const DUPLICATE_KEY: &[i32] = &[11000, 11001];

/// Maps a driver error: an unreachable server or a timeout is `Unavailable` (retryable), a
/// duplicate key is `Conflict`, anything else `Internal`.
pub fn map_error(err: mongodb::error::Error) -> Error {
    if let Some(code) = server_code(&err) {
        if DUPLICATE_KEY.contains(&code) {
            return Error::Conflict("already exists".into());
        }
        if RETRYABLE_CODES.contains(&code) {
            return Error::unavailable(format!("MongoDB: {err}"));
        }
    }
    if err.contains_label("RetryableWriteError") || err.contains_label("TransientTransactionError")
    {
        return Error::unavailable(format!("MongoDB: {err}"));
    }
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => Error::unavailable(format!("MongoDB: {err}")),
        _ => Error::internal(format!("MongoDB: {err}")),
    }
}

/// The server's error code, from a command error or a write error.
fn server_code(err: &mongodb::error::Error) -> Option<i32> {
    match err.kind.as_ref() {
        ErrorKind::Command(command) => Some(command.code),
        ErrorKind::Write(WriteFailure::WriteError(write)) => Some(write.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => Some(concern.code),
        ErrorKind::InsertMany(many) => many
            .write_errors
            .as_ref()
            .and_then(|errors| errors.first().map(|e| e.code))
            .or_else(|| many.write_concern_error.as_ref().map(|e| e.code)),
        _ => None,
    }
}

/// The error for a document whose stored form cannot be read back.
pub(crate) fn corrupt(what: &str, cause: impl std::fmt::Display) -> Error {
    Error::internal(format!("stored {what} is unreadable: {cause}"))
}
