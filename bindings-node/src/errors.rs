//! Modelyard's errors as JavaScript `Error` objects: the one place they are mapped.
//!
//! Every error carries `code` — the facade's stable string (`NOT_FOUND`, `CONFLICT`,
//! `VALIDATION`, `UNAUTHORIZED`, `RATE_LIMITED`, `PAYLOAD_TOO_LARGE`, `UNSUPPORTED_MEDIA_TYPE`,
//! `UNAVAILABLE`, `NOT_SUPPORTED`, `INTERNAL`), the same as in HTTP bodies and Python's `.code` —
//! plus `field` for a `VALIDATION` error (the argument or key at fault, as the caller wrote it)
//! and `retryAfter` (seconds) for `RATE_LIMITED`.

use napi::JsValue;
use napi::bindgen_prelude::{JsObjectValue, Object};
use napi::{Env, Status};

/// `err` as the `Error` object a Promise rejects with. The facade names fields and settings in
/// Rust's snake_case (`batch_size`, `early_stopping.patience`); Node's callers write camelCase,
/// so `field` and the names in the message are put in camelCase.
pub fn to_js(env: &Env, err: &modelyard::Error) -> napi::Error {
    error_object(
        env,
        Status::GenericFailure,
        modelyard::case::camel_case_message(&err.to_string()),
        |error| {
            error.set_named_property("code", err.code())?;
            if let Some(field) = err.field() {
                error.set_named_property("field", modelyard::case::camel_case_field(field))?;
            }
            if let modelyard::Error::RateLimited { retry_after_secs } = err {
                error.set_named_property("retryAfter", *retry_after_secs)?;
            }
            Ok(())
        },
    )
}

/// A `VALIDATION` error on `field`, for an argument refused before the facade call.
pub fn validation(field: &str, message: impl Into<String>) -> modelyard::Error {
    modelyard::Error::validation(field, message)
}

/// The error a wait rejects with when its `AbortSignal` fires, named as Node's own are.
pub fn aborted(env: &Env) -> napi::Error {
    error_object(env, Status::Cancelled, "the operation was aborted".into(), |error| {
        error.set_named_property("name", "AbortError")?;
        error.set_named_property("code", "ABORT_ERR")
    })
}

/// The error a wait rejects with when its `timeoutMs` passes first (code `TIMEOUT`).
pub fn timed_out(env: &Env, message: &str) -> napi::Error {
    error_object(env, Status::GenericFailure, message.into(), |error| {
        error.set_named_property("code", "TIMEOUT")
    })
}

/// An `Error` object with `message`, annotated by `annotate`, as a rejection; while the
/// environment is going away, the plain error that is all it can still make.
fn error_object(
    env: &Env,
    status: Status,
    message: String,
    annotate: impl FnOnce(&mut Object<'_>) -> napi::Result<()>,
) -> napi::Error {
    let made = env.create_error(napi::Error::new(status, message)).and_then(|mut error| {
        annotate(&mut error)?;
        Ok(error)
    });
    match made {
        Ok(error) => napi::Error::from(error.to_unknown()),
        Err(failed) => failed,
    }
}
