//! object_store's errors as Modelyard's error kinds.

use modelyard_core::Error;

/// Maps an object-store failure: a missing object is `NotFound`; refused credentials, a
/// missing bucket or a bad configuration will not heal by retrying (`Internal`); anything
/// else (the network, the server's 5xx after object_store's own retries) is `Unavailable`.
pub(crate) fn map_error(err: object_store::Error) -> Error {
    use object_store::Error as E;
    match err {
        E::NotFound { .. } => Error::not_found("blob"),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            Error::internal(format!("S3 refused the credentials: {err}"))
        }
        E::InvalidPath { .. }
        | E::NotSupported { .. }
        | E::NotImplemented { .. }
        | E::UnknownConfigurationKey { .. } => Error::internal(format!("S3: {err}")),
        other => Error::unavailable(format!("S3: {other}")),
    }
}

/// Maps an I/O error of object_store's buffered writer (its own errors, wrapped).
pub(crate) fn map_io_error(err: std::io::Error) -> Error {
    match err.downcast::<object_store::Error>() {
        Ok(err) => map_error(err),
        Err(err) => Error::unavailable(format!("S3: {err}")),
    }
}
