//! Every JSON request body, through the real router as the signed-in user: the first byte picks
//! the route, the rest is the body. Nothing a client sends may answer 5xx.
#![no_main]

use axum::http::Method;
use libfuzzer_sys::fuzz_target;
use modelyard_fuzz::{assert_not_server_error, harness};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let h = harness();
    let (method, path) = match pick % 8 {
        0 => (Method::POST, "/api/auth/register".to_owned()),
        1 => (Method::POST, "/api/auth/login".to_owned()),
        2 => (Method::POST, "/api/model".to_owned()),
        3 => (Method::POST, "/api/training/start".to_owned()),
        4 => (Method::POST, format!("/api/model/{}/predict", h.model)),
        5 => (Method::POST, format!("/api/model/{}/evaluate", h.model)),
        6 => (Method::POST, "/api/auth/password".to_owned()),
        _ => (Method::DELETE, "/api/auth/me".to_owned()),
    };
    let status = h.call(method, &path, "application/json", body.to_vec());
    assert_not_server_error(status, &path);
});
