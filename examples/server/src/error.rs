//! The one JSON error body, `{"error": {"code", "message", "field"?}}`, mapped from
//! [`modelyard::Error`] kinds, and the extractors that turn malformed requests into it.

use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use modelyard::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Error);

/// What a failed request answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// The stable code, a sentence for a person and, for validation errors, the field at fault.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `NOT_FOUND`, `CONFLICT`, `VALIDATION`, `UNAUTHORIZED`, `RATE_LIMITED`,
    /// `PAYLOAD_TOO_LARGE`, `UNSUPPORTED_MEDIA_TYPE`, `UNAVAILABLE`, `NOT_SUPPORTED`, `INTERNAL`;
    /// from the HTTP layer, `METHOD_NOT_ALLOWED`, `URI_TOO_LONG`, `HEADERS_TOO_LARGE`.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// The request field at fault (`password`, `file`, `layers[1].units`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// The JSON error body for a refusal of the HTTP layer itself, which no facade error names: a
/// method a route does not take (`METHOD_NOT_ALLOWED`), a URI or header block too long
/// (`URI_TOO_LONG`, `HEADERS_TOO_LARGE`).
pub fn transport_error(status: StatusCode, code: &'static str, message: &str) -> Response {
    answer(status, ErrorDetail { code, message: message.to_owned(), field: None })
}

/// The one JSON error body with its status.
fn answer(status: StatusCode, error: ErrorDetail) -> Response {
    (status, Json(ErrorBody { error })).into_response()
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        Self(err)
    }
}

impl ApiError {
    /// The HTTP status of this error's kind.
    pub fn status(&self) -> StatusCode {
        match &self.0 {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::Validation { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::NotSupported(_) => StatusCode::NOT_IMPLEMENTED,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            // Details of bugs go to the log, never to the client.
            tracing::error!(error = %self.0, "internal error");
            "internal error".to_owned()
        } else {
            if status == StatusCode::SERVICE_UNAVAILABLE {
                tracing::warn!(error = %self.0, "backend unavailable");
            }
            self.0.to_string()
        };
        let mut response = answer(
            status,
            ErrorDetail {
                code: self.0.code(),
                // The facade names fields and settings as Rust spells them (`batch_size`); the
                // client sent JSON's camelCase (`batchSize`), and a form marks the field by that
                // name. Column names (`rows[0].sepal_length`) are the client's, kept as written.
                message: modelyard::case::camel_case_message(&message),
                field: self.0.field().map(modelyard::case::camel_case_field),
            },
        );
        let headers = response.headers_mut();
        match &self.0 {
            Error::RateLimited { retry_after_secs } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_secs.max(&1).to_owned()));
            }
            Error::Unavailable(_) => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Error::Unauthorized(_) => {
                headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

/// A JSON body whose every problem is a JSON error naming the field: a missing or wrong content
/// type is 415, an oversized body 413, a type mismatch 400 with the path of the bad field.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            });
        if !is_json {
            return Err(
                Error::UnsupportedMediaType("send the body as application/json".into()).into()
            );
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(Self)
    }
}

/// Deserialises JSON, naming the path of the first bad field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    Ok(modelyard::json::from_slice(bytes)?)
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError(Error::PayloadTooLarge("the request body is larger than allowed".into()))
    } else {
        ApiError(Error::validation("body", rejection.body_text()))
    }
}

/// Query parameters whose problems are a 400 naming the parameter.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|rejection: QueryRejection| {
                ApiError(Error::validation("query", rejection.body_text()))
            })
    }
}

/// An id from the path. Anything that does not parse as an id — `../x`, `%2e%2e%2f`, bytes that
/// are not UTF-8 — reads as "not found", exactly like an id that does not exist.
#[derive(Debug, Clone, Copy)]
pub struct Id<T>(pub T);

impl<T, S> FromRequestParts<S> for Id<T>
where
    T: std::str::FromStr<Err = Error> + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(Error::not_found("resource")))?;
        raw.0.parse::<T>().map(Self).map_err(ApiError)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    async fn answer(err: Error) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = ApiError(err).into_response();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn every_kind_has_its_status_and_code() {
        let cases = [
            (Error::not_found("dataset"), 404, "NOT_FOUND"),
            (Error::Conflict("in use".into()), 409, "CONFLICT"),
            (Error::validation("password", "too short"), 400, "VALIDATION"),
            (Error::Unauthorized("invalid or expired token".into()), 401, "UNAUTHORIZED"),
            (Error::RateLimited { retry_after_secs: 30 }, 429, "RATE_LIMITED"),
            (Error::PayloadTooLarge("big".into()), 413, "PAYLOAD_TOO_LARGE"),
            (Error::UnsupportedMediaType("gzip".into()), 415, "UNSUPPORTED_MEDIA_TYPE"),
            (Error::unavailable("sled is down"), 503, "UNAVAILABLE"),
            (Error::NotSupported("no trainer".into()), 501, "NOT_SUPPORTED"),
            (Error::internal("secret detail"), 500, "INTERNAL"),
        ];
        for (err, status, code) in cases {
            let (got, _, body) = answer(err).await;
            assert_eq!(got.as_u16(), status, "{code}");
            assert_eq!(body["error"]["code"], code);
        }
    }

    #[tokio::test]
    async fn retry_hints_fields_and_hidden_internals() {
        let (_, headers, _) = answer(Error::RateLimited { retry_after_secs: 30 }).await;
        assert_eq!(headers[RETRY_AFTER], "30");
        let (_, headers, _) = answer(Error::unavailable("down")).await;
        assert_eq!(headers[RETRY_AFTER], "1");
        let (_, headers, _) = answer(Error::Unauthorized("no".into())).await;
        assert_eq!(headers[WWW_AUTHENTICATE], "Bearer");
        let (_, _, body) = answer(Error::validation("layers[1].units", "must be positive")).await;
        assert_eq!(body["error"]["field"], "layers[1].units");
        let (_, _, body) = answer(Error::not_found("model")).await;
        assert!(body["error"].get("field").is_none());
        let (_, _, body) = answer(Error::internal("secret detail")).await;
        assert_eq!(body["error"]["message"], "internal error");
    }
}
