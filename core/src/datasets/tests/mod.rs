//! Behaviour of the pure parts of the datasets service: what an upload is refused for, what the
//! inferred schema says, how tables are read, and properties over generated files.

mod inference;
mod properties;
mod rejections;
mod tables;

use crate::{Error, Result};

/// The message of a `Validation` error on `file`, failing the test on anything else.
fn file_error<T: std::fmt::Debug>(result: Result<T>) -> String {
    match result {
        Err(Error::Validation { field, message }) if field == "file" => message,
        other => panic!("expected a validation error on `file`, got {other:?}"),
    }
}
