//! `/api/auth`: register, login, logout, me, change password, delete account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use modelyard::{PublicUser, Session, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::bearer::Authed;
use crate::error::{ApiJson, ApiResult, ErrorBody};
use crate::middleware::rate_limit::ClientAddr;
use crate::state::AppState;

/// `POST /api/auth/register` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterBody {
    /// 3 to 32 of letters, digits, `_`, `.`, `-`.
    pub username: String,
    /// A unique email address.
    pub email: String,
    /// 8 to 128 characters, not a common password.
    pub password: String,
}

/// `POST /api/auth/login` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginBody {
    /// The account's email.
    pub email: String,
    /// Its password.
    pub password: String,
}

/// `POST /api/auth/password` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordBody {
    /// The password now.
    pub current_password: String,
    /// The new one.
    pub new_password: String,
}

/// `DELETE /api/auth/me` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeleteAccountBody {
    /// The account's password, to confirm.
    pub password: String,
}

/// A signed-in answer: the user and a bearer token.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionBody {
    /// The bearer token.
    pub token: String,
    /// Who signed in.
    pub user: PublicUser,
    /// When the token expires.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

impl From<&Session> for SessionBody {
    fn from(session: &Session) -> Self {
        Self {
            token: session.token().to_owned(),
            user: session.user().clone(),
            expires_at: session.expires_at(),
        }
    }
}

/// `{user}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    /// The user.
    pub user: PublicUser,
}

/// Creates an account and signs it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterBody,
    responses((status = 201, body = SessionBody), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> ApiResult<impl IntoResponse> {
    let session = state.yard().register(&body.username, &body.email, &body.password).await?;
    Ok((StatusCode::CREATED, Json(SessionBody::from(&session))))
}

/// Signs in, limited per account and per client address.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginBody,
    responses((status = 200, body = SessionBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<SessionBody>> {
    let client = client.map(|ip| ip.to_string());
    let session = state.yard().login_from(&body.email, &body.password, client.as_deref()).await?;
    Ok(Json(SessionBody::from(&session)))
}

/// Ends this token's session.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(Authed(session): Authed) -> ApiResult<StatusCode> {
    session.logout().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserBody), (status = 401, body = ErrorBody)))]
pub async fn me(Authed(session): Authed) -> ApiResult<Json<UserBody>> {
    Ok(Json(UserBody { user: session.me().await? }))
}

/// Changes the password; every token of the account stops working.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn change_password(
    Authed(session): Authed,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    session.change_password(&body.current_password, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the account after checking its password.
#[utoipa::path(delete, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    request_body = DeleteAccountBody,
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn delete_account(
    Authed(session): Authed,
    ApiJson(body): ApiJson<DeleteAccountBody>,
) -> ApiResult<StatusCode> {
    session.delete_account(&body.password).await?;
    Ok(StatusCode::NO_CONTENT)
}
