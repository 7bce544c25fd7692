//! sled's errors as Modelyard's error kinds.

use modelyard_core::Error;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use crate::db::TxResult;

/// Maps a sled failure: the disk may come back (`Unavailable`), a broken store will not (`Internal`).
pub(crate) fn map_error(err: sled::Error) -> Error {
    match err {
        sled::Error::Io(io) => Error::unavailable(format!("sled: {io}")),
        other => Error::internal(format!("sled: {other}")),
    }
}

/// Unwraps a transaction's outcome: an abort is the error the closure chose.
pub(crate) fn tx_error(err: TransactionError<Error>) -> Error {
    match err {
        TransactionError::Abort(err) => err,
        TransactionError::Storage(err) => map_error(err),
    }
}

/// Aborts a transaction with `err`; nothing it staged is written.
pub(crate) fn abort<T>(err: Error) -> TxResult<T> {
    Err(ConflictableTransactionError::Abort(err))
}
