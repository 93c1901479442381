//! Signing in and out with a username (or email) and password: `POST /auth/simple/login`
//! (Unleash's path and body) and `POST /logout`. Sessions themselves live in `auth::session`.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::session::{self, CSRF_HEADER};
use crate::domain::users;
use crate::error::{ApiError, ApiResult};

/// Credentials. Never logged: no `Debug`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    /// The username or the email address.
    pub username: String,
    pub password: String,
}

#[utoipa::path(
    post,
    path = "/auth/simple/login",
    tag = "Sign-in",
    summary = "Sign in with a username (or email) and password",
    description = "Answers with the user, a `flagpole-session` cookie and the session's CSRF token \
                   in the `X-CSRF-Token` header; requests that change something must send that \
                   token back in the same header. Too many failures for one username or one \
                   client address within 15 minutes give 429 with `Retry-After`.",
    request_body = crate::api::auth::LoginInput,
    responses(
        (status = 200, description = "Signed in", body = crate::api::schema::User,
         headers(("set-cookie" = String, description = "The session cookie"),
                 ("x-csrf-token" = String, description = "The session's CSRF token"))),
        (status = 400, description = "The body is not valid", body = crate::api::schema::ErrorBody),
        (status = 401, description = "Wrong username or password (the answer does not say which)", body = crate::api::schema::ErrorBody),
        (status = 413, description = "The body is larger than the configured limit", body = crate::api::schema::ErrorBody),
        (status = 415, description = "The body is not JSON", body = crate::api::schema::ErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = crate::api::schema::ErrorBody),
        (status = 503, description = "The database cannot be reached", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    parts: Parts,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    let signed_in = session::sign_in(&state, &parts, &input.username, input.password).await?;
    let csrf = HeaderValue::from_str(&signed_in.csrf_token)
        .map_err(|error| ApiError::Internal(error.into()))?;
    let mut response = Json(users::admin_json(&signed_in.user)).into_response();
    let headers = response.headers_mut();
    headers.insert(SET_COOKIE, signed_in.set_cookie);
    headers.insert(HeaderName::from_static(CSRF_HEADER), csrf);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[utoipa::path(
    post,
    path = "/logout",
    tag = "Sign-in",
    summary = "Sign out: ends the session and removes its cookie",
    description = "With a live session, the `X-CSRF-Token` header must carry its CSRF token. \
                   Without one there is nothing to end, and the cookie is removed all the same.",
    responses(
        (status = 204, description = "Signed out",
         headers(("set-cookie" = String, description = "Removes the session cookie"))),
        (status = 403, description = "The CSRF token is missing or wrong", body = crate::api::schema::ErrorBody),
        (status = 503, description = "The database cannot be reached", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn logout(State(state): State<AppState>, parts: Parts) -> ApiResult<Response> {
    let current = session::current(&state, &parts.headers).await?;
    if let Some(session) = &current {
        session.verify_csrf_header(&parts.headers)?;
    }
    let cookie = session::sign_out(&state, current.as_ref(), &parts.headers).await?;
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}
