//! Dataset uploads: the input is the multipart body of `POST /api/data` (boundary `fuzz`), read
//! by the real route as the signed-in user. Nothing a client sends may answer 5xx.
#![no_main]

use axum::http::Method;
use libfuzzer_sys::fuzz_target;
use modelyard_fuzz::{assert_not_server_error, harness};

fuzz_target!(|data: &[u8]| {
    let status =
        harness().call(Method::POST, "/api/data", "multipart/form-data; boundary=fuzz", data.to_vec());
    assert_not_server_error(status, "POST /api/data");
});
