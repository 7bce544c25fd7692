//! The bearer-token extractor: a handler that takes [`Authed`] runs only for a valid token.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use modelyard::{Error, Session};

use crate::error::ApiError;
use crate::state::AppState;

/// The signed-in caller's session, from `Authorization: Bearer <token>`.
pub struct Authed(pub Session);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token =
            bearer(parts).ok_or_else(|| Error::Unauthorized("missing bearer token".into()))?;
        Ok(Self(state.yard().session(token).await?))
    }
}

/// The caller's session on a Server-Sent Events route: browsers' `EventSource` cannot send
/// headers, so the token may also come as `?access_token=` (kept out of the access log).
pub struct StreamAuthed(pub Session);

impl FromRequestParts<AppState> for StreamAuthed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = match bearer(parts) {
            Some(token) => token.to_owned(),
            None => query_token(parts.uri.query().unwrap_or_default())
                .ok_or_else(|| Error::Unauthorized("missing bearer token".into()))?,
        };
        Ok(Self(state.yard().session(&token).await?))
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

fn query_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        // JWTs are URL-safe base64 and dots: nothing to percent-decode.
        (key == "access_token" && !value.is_empty()).then(|| value.to_owned())
    })
}
