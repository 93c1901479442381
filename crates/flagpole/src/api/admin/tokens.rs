//! API tokens. The full secret appears only in the creation response. Editors manage client
//! and frontend tokens; admin tokens are for Admins only, and are not even listed to others.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::token::{Secret, TokenType};
use crate::auth::AdminAuth;
use crate::domain::tokens::{self, CreateToken};
use crate::error::ApiResult;

fn list_json(state: &AppState, auth: &AdminAuth, name: Option<&str>) -> Json<Value> {
    let snapshot = state.core.snapshot.current();
    let mut list: Vec<_> = snapshot
        .tokens
        .values()
        .filter(|t| name.is_none_or(|name| t.value.token_name == name))
        .filter(|t| auth.is_admin() || t.value.token_type != TokenType::Admin)
        .map(|t| t.value.clone())
        .collect();
    list.sort_by_key(|t| t.created_at);
    let tokens: Vec<Value> = list.iter().map(|t| tokens::admin_json(t, None)).collect();
    Json(json!({ "tokens": tokens }))
}

#[utoipa::path(
    get,
    path = "/api-tokens",
    tag = "API tokens",
    summary = "List API tokens (secrets masked)",
    responses(
        (status = 200, description = "Tokens", body = crate::api::schema::ApiTokenList),
    )
)]
pub async fn list(auth: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.core.fresh().await?;
    Ok(list_json(&state, &auth, None))
}

#[utoipa::path(
    get,
    path = "/api-tokens/{token}",
    tag = "API tokens",
    summary = "List the tokens with this name",
    params(
        ("token" = String, Path, description = "A token's name (GET) or secret (PUT, DELETE)"),
    ),
    responses(
        (status = 200, description = "Tokens", body = crate::api::schema::ApiTokenList),
    )
)]
pub async fn list_by_name(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    state.core.fresh().await?;
    Ok(list_json(&state, &auth, Some(&name)))
}

#[utoipa::path(
    post,
    path = "/api-tokens",
    tag = "API tokens",
    summary = "Create an API token; the secret is shown only in this answer",
    request_body = crate::domain::tokens::CreateToken,
    responses(
        (status = 201, description = "The new token, with its whole secret", body = crate::api::schema::ApiToken),
    )
)]
pub async fn create(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CreateToken>,
) -> ApiResult<(
    StatusCode,
    [(header::HeaderName, &'static str); 1],
    Json<Value>,
)> {
    let requested_type = input.token_type.clone();
    let (token, secret) = tokens::create(&state.core, &auth.actor, auth.role, input).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, "api-tokens")],
        Json(tokens::created_json(&token, &secret, &requested_type)),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Expiry {
    expires_at: DateTime<Utc>,
}

#[utoipa::path(
    put,
    path = "/api-tokens/{token}",
    tag = "API tokens",
    summary = "Change when a token expires (by its secret)",
    params(
        ("token" = String, Path, description = "A token's name (GET) or secret (PUT, DELETE)"),
    ),
    request_body = crate::api::admin::tokens::Expiry,
    responses(
        (status = 200, description = "Updated"),
    )
)]
pub async fn update(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(secret): Path<String>,
    ApiJson(input): ApiJson<Expiry>,
) -> ApiResult<StatusCode> {
    let secret = Secret::new(secret);
    tokens::set_expiry(
        &state.core,
        &auth.actor,
        auth.role,
        &secret,
        input.expires_at,
    )
    .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    delete,
    path = "/api-tokens/{token}",
    tag = "API tokens",
    summary = "Revoke a token (by its secret)",
    params(
        ("token" = String, Path, description = "A token's name (GET) or secret (PUT, DELETE)"),
    ),
    responses(
        (status = 200, description = "Revoked"),
    )
)]
pub async fn revoke(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(secret): Path<String>,
) -> ApiResult<StatusCode> {
    let secret = Secret::new(secret);
    tokens::revoke(&state.core, &auth.actor, auth.role, &secret).await?;
    Ok(StatusCode::OK)
}
