//! Modelyard's error kinds as Python exceptions: the one place they are mapped.
//!
//! Every exception is a `ModelyardError` carrying `.code` (the stable string of
//! `modelyard::Error::code`, as in HTTP bodies and Node errors), `.field` (the field at fault, for
//! a `ValidationError`) and `.retry_after` (seconds, for a `RateLimitedError`).

use modelyard::Error;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::{PyTypeInfo, create_exception};

create_exception!(modelyard, ModelyardError, PyException, "Any error Modelyard reports.");
create_exception!(
    modelyard,
    NotFoundError,
    ModelyardError,
    "No such record, or it belongs to someone else."
);
create_exception!(
    modelyard,
    ConflictError,
    ModelyardError,
    "The call clashes with the current state (a taken email, a dataset in use)."
);
create_exception!(
    modelyard,
    ValidationError,
    ModelyardError,
    "A mistake in one input; `.field` names it."
);
create_exception!(
    modelyard,
    AuthError,
    ModelyardError,
    "Missing, wrong, expired or revoked credentials."
);
create_exception!(
    modelyard,
    RateLimitedError,
    ModelyardError,
    "Too many attempts; `.retry_after` says how many seconds to wait."
);
create_exception!(
    modelyard,
    PayloadTooLargeError,
    ModelyardError,
    "An upload or request larger than the configured limit."
);
create_exception!(
    modelyard,
    UnsupportedMediaTypeError,
    ModelyardError,
    "Content of a kind Modelyard does not accept (binary or compressed data sent as CSV)."
);
create_exception!(
    modelyard,
    UnavailableError,
    ModelyardError,
    "A backend is down or overloaded; the same call may succeed later."
);
create_exception!(
    modelyard,
    NotSupportedError,
    ModelyardError,
    "This deployment does not offer the capability."
);
create_exception!(
    modelyard,
    InternalError,
    ModelyardError,
    "A bug or a broken invariant in Modelyard."
);

/// Modelyard's error as the Python exception of its kind.
pub fn to_py_err(err: Error) -> PyErr {
    Python::attach(|py| {
        let message = err.to_string();
        let exception = match &err {
            Error::NotFound(_) => NotFoundError::new_err(message),
            Error::Conflict(_) => ConflictError::new_err(message),
            Error::Validation { .. } => ValidationError::new_err(message),
            Error::Unauthorized(_) => AuthError::new_err(message),
            Error::RateLimited { .. } => RateLimitedError::new_err(message),
            Error::PayloadTooLarge(_) => PayloadTooLargeError::new_err(message),
            Error::UnsupportedMediaType(_) => UnsupportedMediaTypeError::new_err(message),
            Error::Unavailable(_) => UnavailableError::new_err(message),
            Error::NotSupported(_) => NotSupportedError::new_err(message),
            _ => InternalError::new_err(message),
        };
        let value = exception.value(py);
        let retry_after = match &err {
            Error::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let annotated = value
            .setattr("code", err.code())
            .and_then(|()| value.setattr("field", err.field()))
            .and_then(|()| value.setattr("retry_after", retry_after));
        match annotated {
            Ok(()) => exception,
            Err(failed) => failed,
        }
    })
}

/// `Result` of the facade as a Python result.
pub trait IntoPyResult<T> {
    /// The value, or the error as its Python exception.
    fn into_py_result(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for modelyard::Result<T> {
    fn into_py_result(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}

/// Adds the exceptions to the module, each class with its `code`, and `field` and
/// `retry_after` on the base class (`None` unless an instance sets them), so that
/// `except modelyard.ModelyardError as e: e.field` always works.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = ModelyardError::type_object(py);
    base.setattr("code", py.None())?;
    base.setattr("field", py.None())?;
    base.setattr("retry_after", py.None())?;
    m.add("ModelyardError", base)?;
    let classes = [
        (NotFoundError::type_object(py), "NOT_FOUND"),
        (ConflictError::type_object(py), "CONFLICT"),
        (ValidationError::type_object(py), "VALIDATION"),
        (AuthError::type_object(py), "UNAUTHORIZED"),
        (RateLimitedError::type_object(py), "RATE_LIMITED"),
        (PayloadTooLargeError::type_object(py), "PAYLOAD_TOO_LARGE"),
        (UnsupportedMediaTypeError::type_object(py), "UNSUPPORTED_MEDIA_TYPE"),
        (UnavailableError::type_object(py), "UNAVAILABLE"),
        (NotSupportedError::type_object(py), "NOT_SUPPORTED"),
        (InternalError::type_object(py), "INTERNAL"),
    ];
    for (class, code) in classes {
        class.setattr("code", code)?;
        m.add(class.name()?, class)?;
    }
    Ok(())
}

/// A `Validation` error for `field`, as its Python exception.
pub fn validation(field: &str, message: impl Into<String>) -> PyErr {
    to_py_err(Error::validation(field, message))
}

/// The refusal to pickle a live handle, with what to pickle instead: `handle` is `"Modelyard"`,
/// `"Session"` or `"Run"` (sync and asyncio alike).
pub fn not_picklable(handle: &str) -> PyErr {
    let instead = match handle {
        "Session" => "pickle session.token and call yard.session(token) instead",
        "Run" => "pickle run.id and call session.run(id) instead",
        _ => "open the store again instead",
    };
    pyo3::exceptions::PyTypeError::new_err(format!(
        "a {handle} is a live handle and cannot be pickled: {instead}"
    ))
}
