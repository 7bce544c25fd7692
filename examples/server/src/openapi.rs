//! The OpenAPI document of the API, generated from the handlers' annotations.

use std::sync::OnceLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{auth, data, files, health, model, notif, training};

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Modelyard", description = "Accounts, datasets, models, training runs and notifications."),
    paths(
        auth::register, auth::login, auth::logout, auth::me, auth::change_password,
        auth::delete_account,
        data::upload, data::list, data::get, data::delete, data::preview,
        model::create, model::list, model::get, model::delete, model::summary, model::predict,
        model::evaluate,
        training::start, training::list, training::get, training::delete, training::history,
        training::cancel,
        training::events,
        files::dataset, files::model,
        notif::list, notif::mark_read, notif::events,
        health::healthz, health::readyz,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "data"), (name = "model"), (name = "training"), (name = "files"),
        (name = "notif"), (name = "health"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn document() -> impl IntoResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| {
        ApiDoc::openapi().to_pretty_json().unwrap_or_else(|err| {
            tracing::error!(%err, "could not serialise the OpenAPI document");
            "{}".to_owned()
        })
    });
    ([(CONTENT_TYPE, "application/json")], json.as_str())
}
