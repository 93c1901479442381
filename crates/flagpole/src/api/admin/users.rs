//! Users (`/user-admin`, Admin only), the caller's own account (`/user`) and personal access
//! tokens (`/user/tokens`). Who may call what is decided by `AdminAuth`; see `auth::policy`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::policy::Role;
use crate::auth::session::CSRF_HEADER;
use crate::auth::{password, AdminAuth};
use crate::domain::pats::{self, CreatePat};
use crate::domain::users::{self, CreateUser, NewUser, UpdateUser};
use crate::error::{ApiError, ApiResult};

fn parse_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::bad_data(format!("{what} id must be a number, not \"{raw}\"")))
}

/// A new password, and for one's own change the current one. Never logged: no `Debug`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordInput {
    pub password: String,
    /// The current password; required when changing one's own.
    #[serde(default)]
    pub old_password: Option<String>,
    /// When given, it must equal `password`.
    #[serde(default)]
    pub confirm_password: Option<String>,
}

impl PasswordInput {
    fn confirmed(self) -> ApiResult<PasswordInput> {
        if self
            .confirm_password
            .as_ref()
            .is_some_and(|confirm| *confirm != self.password)
        {
            return Err(ApiError::bad_data(
                "\"confirmPassword\" does not match \"password\"",
            ));
        }
        Ok(self)
    }
}

#[utoipa::path(
    get,
    path = "/user-admin",
    tag = "Users",
    summary = "List users and the root roles",
    responses(
        (status = 200, description = "Users", body = crate::api::schema::UserList),
    )
)]
pub async fn list_users(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let list: Vec<Value> = snapshot
        .users
        .values()
        .map(|u| users::admin_json(&u.value))
        .collect();
    let roles: Vec<Value> = Role::ALL.into_iter().map(users::role_json).collect();
    Ok(Json(json!({ "users": list, "rootRoles": roles })))
}

#[utoipa::path(
    post,
    path = "/user-admin",
    tag = "Users",
    summary = "Create a user",
    request_body = crate::domain::users::CreateUser,
    responses(
        (status = 201, description = "The new user", body = crate::api::schema::User),
    )
)]
pub async fn create_user(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, [(HeaderName, HeaderValue); 1], Json<Value>)> {
    let role = input.root_role.resolve()?;
    let new = NewUser::validate(input.username, input.email, input.name, role)?;
    let user = users::create(&state.core, &auth.actor, new, input.password).await?;
    let location = HeaderValue::from_str(&format!("user-admin/{}", user.id))
        .map_err(|error| ApiError::Internal(error.into()))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(users::admin_json(&user)),
    ))
}

#[utoipa::path(
    post,
    path = "/user-admin/validate-password",
    tag = "Users",
    summary = "Check a password against the password policy",
    request_body = crate::api::admin::users::PasswordInput,
    responses(
        (status = 200, description = "The password meets the policy"),
    )
)]
pub async fn validate_password(
    _: AdminAuth,
    ApiJson(input): ApiJson<PasswordInput>,
) -> ApiResult<StatusCode> {
    password::check_policy(&input.password, &[])?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    get,
    path = "/user-admin/{id}",
    tag = "Users",
    summary = "Get a user",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = crate::api::schema::User),
    )
)]
pub async fn get_user(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let user = users::find(&snapshot, parse_id(&id, "user")?)?;
    Ok(Json(users::admin_json(&user.value)))
}

#[utoipa::path(
    put,
    path = "/user-admin/{id}",
    tag = "Users",
    summary = "Change a user's email, name or root role",
    params(("id" = String, Path, description = "User id")),
    request_body = crate::domain::users::UpdateUser,
    responses(
        (status = 200, description = "The changed user", body = crate::api::schema::User),
    )
)]
pub async fn update_user(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<UpdateUser>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id, "user")?;
    let user = users::update(&state.core, &auth.actor, id, input).await?;
    Ok(Json(users::admin_json(&user)))
}

#[utoipa::path(
    delete,
    path = "/user-admin/{id}",
    tag = "Users",
    summary = "Delete a user, their personal access tokens and sessions",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Deleted"),
    )
)]
pub async fn delete_user(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    users::delete(&state.core, &auth.actor, parse_id(&id, "user")?).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/user-admin/{id}/change-password",
    tag = "Users",
    summary = "Set a user's password; ends the user's sessions",
    params(("id" = String, Path, description = "User id")),
    request_body = crate::api::admin::users::PasswordInput,
    responses(
        (status = 200, description = "Changed"),
    )
)]
pub async fn change_user_password(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PasswordInput>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "user")?;
    let input = input.confirmed()?;
    users::set_password(&state.core, &auth.actor, id, input.password).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    get,
    path = "/user",
    tag = "Users",
    summary = "The caller: user, and permissions of their root role",
    responses(
        (status = 200, description = "The caller", body = crate::api::schema::Me),
    )
)]
pub async fn me(auth: AdminAuth) -> ApiResult<Response> {
    let user = match &auth.user {
        Some(user) => users::admin_json(user),
        // An admin API token, described as Unleash describes one (all but its secret, which
        // Flagpole never shows again).
        None => json!({
            "username": auth.actor.name,
            "permissions": ["ADMIN"],
            "environment": "*",
            "type": "admin",
            "projects": ["*"],
            "internalAdminTokenUserId": auth.actor.user_id,
        }),
    };
    let permissions: Vec<Value> = auth
        .role
        .permissions()
        .iter()
        .map(|p| json!({ "permission": p }))
        .collect();
    let mut response = Json(json!({
        "user": user,
        "permissions": permissions,
        "feedback": [],
        "splash": {},
    }))
    .into_response();
    // A signed-in browser learns its CSRF token here (and from the sign-in answer).
    if let Some(session) = &auth.session {
        let token = HeaderValue::from_str(&session.csrf_token())
            .map_err(|error| ApiError::Internal(error.into()))?;
        response
            .headers_mut()
            .insert(HeaderName::from_static(CSRF_HEADER), token);
    }
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/user/profile",
    tag = "Users",
    summary = "The caller's root role and projects",
    responses(
        (status = 200, description = "The profile", body = crate::api::schema::Profile),
        (status = 400, description = "Called with an API token, which has no profile", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn profile(auth: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let user = auth.user()?;
    let snapshot = state.core.snapshot.current();
    let projects: Vec<&String> = snapshot.projects.keys().collect();
    Ok(Json(json!({
        "rootRole": users::role_json(user.root_role),
        "projects": projects,
        "groups": [],
        "features": [],
        "subscriptions": [],
        "canChangePassword": true,
    })))
}

#[utoipa::path(
    post,
    path = "/user/change-password",
    tag = "Users",
    summary = "Change one's own password (the current one is required); ends one's sessions",
    request_body = crate::api::admin::users::PasswordInput,
    responses(
        (status = 200, description = "Changed"),
    )
)]
pub async fn change_my_password(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<PasswordInput>,
) -> ApiResult<StatusCode> {
    let user = auth.user()?;
    let input = input.confirmed()?;
    let old = input
        .old_password
        .ok_or_else(|| ApiError::bad_data("\"oldPassword\" (the current password) is required"))?;
    users::change_own_password(&state.core, user, old, input.password).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    get,
    path = "/user/tokens",
    tag = "Personal access tokens",
    summary = "List the caller's personal access tokens (never their secrets)",
    responses(
        (status = 200, description = "Tokens", body = crate::api::schema::PatList),
    )
)]
pub async fn list_pats(auth: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let user = auth.user()?;
    state.core.fresh().await?;
    let list: Vec<Value> = pats::list(&state.core, user)
        .iter()
        .map(|pat| pats::admin_json(pat, None))
        .collect();
    Ok(Json(json!({ "pats": list })))
}

#[utoipa::path(
    post,
    path = "/user/tokens",
    tag = "Personal access tokens",
    summary = "Create a personal access token; its secret is shown only in this answer",
    request_body = crate::domain::pats::CreatePat,
    responses(
        (status = 201, description = "The new token, with its secret", body = crate::api::schema::Pat),
    )
)]
pub async fn create_pat(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CreatePat>,
) -> ApiResult<(StatusCode, [(HeaderName, HeaderValue); 1], Json<Value>)> {
    let user = auth.user()?;
    let (pat, secret) = pats::create(&state.core, user, input).await?;
    let location = HeaderValue::from_str(&format!("user/tokens/{}", pat.id))
        .map_err(|error| ApiError::Internal(error.into()))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(pats::admin_json(&pat, Some(&secret))),
    ))
}

#[utoipa::path(
    delete,
    path = "/user/tokens/{id}",
    tag = "Personal access tokens",
    summary = "Delete one of the caller's personal access tokens; it stops working at once",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 200, description = "Deleted"),
    )
)]
pub async fn delete_pat(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let user = auth.user()?;
    pats::delete(&state.core, user, parse_id(&id, "token")?).await?;
    Ok(StatusCode::OK)
}
