//! `modelyard-server`: the REST API of DESIGN.md §9 and the web dashboard, as a thin axum layer
//! over the [`modelyard`] facade. Every business rule lives in the facade; this crate converts
//! HTTP to facade calls and facade answers (and [`modelyard::Error`] kinds) back to HTTP.
//!
//! Build the router with [`app`] over an [`AppState`], or run it with [`serve`].

pub mod bearer;
pub mod config;
pub mod connections;
pub mod download;
pub mod error;
pub mod logs;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod state;

pub use state::{AppState, ServerSettings};

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::HandlerWithoutStateExt;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use modelyard::Error;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::middleware::access_log::{
    REQUEST_ID, drop_forged_request_id, log_response, request_span,
};
use crate::middleware::admission::admit;
use crate::middleware::head_limits::refuse_oversized_heads;
use crate::middleware::rate_limit::{limit_api, limit_auth};
use crate::routes::{auth, data, files, health, model, notif, training};

/// The dashboard shipped with this crate, found at compile time next to its manifest.
pub fn default_static_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static")
}

/// The whole application: API, health, OpenAPI document, dashboard, and the middleware around them.
pub fn app(state: AppState) -> Router {
    let upload_limit = state.settings().max_upload_bytes.saturating_add(data::MULTIPART_OVERHEAD);
    let upload_limit = usize::try_from(upload_limit).unwrap_or(usize::MAX);

    let sign_in = Router::new()
        .route("/api/auth/register", post(auth::register))
        .route("/api/auth/login", post(auth::login))
        .route_layer(from_fn_with_state(state.clone(), admit))
        .route_layer(from_fn_with_state(state.clone(), limit_auth));

    let api = Router::new()
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/me", get(auth::me).delete(auth::delete_account))
        .route("/api/auth/password", post(auth::change_password))
        .route(
            "/api/data",
            post(data::upload).layer(DefaultBodyLimit::max(upload_limit)).get(data::list),
        )
        .route("/api/data/{id}", get(data::get).delete(data::delete))
        .route("/api/data/{id}/preview", get(data::preview))
        .route("/api/model", post(model::create).get(model::list))
        .route("/api/model/{id}", get(model::get).delete(model::delete))
        .route("/api/model/{id}/summary", get(model::summary))
        .route("/api/model/{id}/predict", post(model::predict))
        .route("/api/model/{id}/evaluate", post(model::evaluate))
        .route("/api/training", get(training::list))
        .route("/api/training/start", post(training::start))
        .route("/api/training/{id}", get(training::get).delete(training::delete))
        .route("/api/training/{id}/history", get(training::history))
        .route("/api/training/{id}/cancel", post(training::cancel))
        .route("/api/training/{id}/events", get(training::events))
        .route("/api/files/datasets/{id}", get(files::dataset))
        .route("/api/files/models/{id}", get(files::model))
        .route("/api/notif", get(notif::list))
        .route("/api/notif/events", get(notif::events))
        .route("/api/notif/{id}/read", post(notif::mark_read))
        .route_layer(from_fn_with_state(state.clone(), admit));
    // Rate limits answer before a request waits for a slot. A disabled limiter costs nothing
    // per request: the layer is not there at all.
    let api = match state.settings().api_rate {
        Some(_) => api.route_layer(from_fn_with_state(state.clone(), limit_api)),
        None => api,
    };
    let api = api
        .route("/api/openapi.json", get(openapi::document))
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found));

    let api = sign_in
        .merge(api)
        .layer(DefaultBodyLimit::max(state.settings().max_json_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    let mut router = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(api);
    // The dashboard's routes live after `#` (`/#/models`): the server only ever serves its
    // files, and a path that is none of them is the JSON 404, never the page.
    router = match &state.settings().static_dir {
        Some(dir) => router.fallback_service(
            ServeDir::new(dir)
                .fallback(api_not_found.into_service())
                .call_fallback_on_method_not_allowed(true),
        ),
        None => router.fallback(api_not_found),
    };
    let router = router.method_not_allowed_fallback(method_not_allowed);
    let cors = cors_layer(&state.settings().cors_origins);
    let head_limits = from_fn_with_state(state.clone(), refuse_oversized_heads);
    let body_timeout = RequestBodyTimeoutLayer::new(state.settings().connections.body_read_timeout);
    router.with_state(state).layer(
        ServiceBuilder::new()
            .layer(axum::middleware::map_request(drop_forged_request_id))
            .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(request_span).on_response(log_response),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID))
            .option_layer(cors)
            .layer(CompressionLayer::new().compress_when(compress_when()))
            .layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("referrer-policy"),
                HeaderValue::from_static("no-referrer"),
            ))
            // The dashboard keeps its token in localStorage: no script but its own files may
            // run (no inline script or style, no eval), and no other site may frame it.
            .layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("content-security-policy"),
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static("x-frame-options"),
                HeaderValue::from_static("DENY"),
            ))
            .layer(head_limits)
            .layer(body_timeout),
    )
}

/// Every answer's Content-Security-Policy: the dashboard's own files only, nothing inline, no
/// plugins, no framing, forms and `<base>` pinned.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Which answers are gzipped: not images, gRPC or event streams (tower-http's defaults), and
/// not the small JSON answers most API calls give. Starting a gzip stream costs more CPU than
/// the whole rest of such a request (a 256 kB zeroed table per response), and a body that fits
/// in one TCP segment arrives no sooner compressed.
fn compress_when() -> impl Predicate {
    SizeAbove::new(MIN_COMPRESSED_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE)
}

/// Smallest body worth compressing: about one TCP segment.
const MIN_COMPRESSED_BYTES: u64 = 1400;

/// Liveness and readiness only, for a `--role worker` process.
pub fn health_app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .fallback(api_not_found)
        .with_state(state)
}

/// A bare axum hello-world router with no middleware: the baseline of the load test.
pub fn bench_hello_app() -> Router {
    Router::new().route("/", get(|| async { "Hello, World!" }))
}

async fn api_not_found() -> impl IntoResponse {
    ApiError(Error::not_found("route"))
}

async fn method_not_allowed() -> impl IntoResponse {
    error::transport_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "this route does not take that method",
    )
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| match HeaderValue::from_str(origin.trim()) {
            Ok(value) => Some(value),
            Err(_) => {
                tracing::warn!(origin, "ignoring a CORS origin that is not a valid header value");
                None
            }
        })
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([AUTHORIZATION, CONTENT_TYPE, REQUEST_ID])
            .expose_headers([
                REQUEST_ID,
                axum::http::header::RETRY_AFTER,
                axum::http::header::CONTENT_DISPOSITION,
            ])
            .max_age(Duration::from_secs(3600)),
    )
}

/// Serves `router` on `listener` until `shutdown` resolves; then `state` turns not-ready, live
/// streams end and in-flight requests finish. Stopping the facade's workers is the caller's
/// next step (`yard.close()`), so running trainings checkpoint and return to the queue.
///
/// Connections are limited by [`ServerSettings::connections`]: a client that is slow to send
/// its request head, or idle between requests, is disconnected, and no client address holds
/// more than its share of connections ([`connections::ConnectionLimits`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    connections::serve(listener, router, state, shutdown).await
}
