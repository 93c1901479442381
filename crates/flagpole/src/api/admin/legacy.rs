//! `/api/admin/features[/:name[/toggle…]]`: the environment-less API of Unleash 3/4. See
//! `domain::legacy` for which environments it reads and changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::features;
use crate::domain::legacy::{self, LegacyFeature};
use crate::error::ApiResult;

#[utoipa::path(
    get,
    path = "/features",
    tag = "Legacy",
    summary = "List flags (environment-less view)",
    responses(
        (status = 200, description = "Flags", body = crate::api::schema::LegacyFeatureList),
    )
)]
pub async fn list(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let list: Vec<Value> = snapshot
        .features
        .values()
        .filter(|f| !f.value.archived)
        .map(|f| legacy::to_json(&state.core, &snapshot, &f.value))
        .collect();
    Ok(Json(json!({ "version": 1, "features": list })))
}

#[utoipa::path(
    get,
    path = "/features/{feature}",
    tag = "Legacy",
    summary = "Get a flag (environment-less view)",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "The flag", body = crate::api::schema::LegacyFeature),
    )
)]
pub async fn get_one(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = features::find_any(&snapshot, &name)?;
    Ok(Json(legacy::to_json(
        &state.core,
        &snapshot,
        &feature.value,
    )))
}

#[utoipa::path(
    post,
    path = "/features",
    tag = "Legacy",
    summary = "Create a flag in the default project",
    request_body = crate::domain::legacy::LegacyFeature,
    responses(
        (status = 201, description = "The new flag", body = crate::api::schema::LegacyFeature),
        (status = 409, description = "A flag with that name exists", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn create(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<LegacyFeature>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let feature = legacy::create(&state.core, &auth.actor, input).await?;
    let body = legacy::to_json(&state.core, &state.core.snapshot.current(), &feature);
    Ok((StatusCode::CREATED, Json(body)))
}

#[utoipa::path(
    put,
    path = "/features/{feature}",
    tag = "Legacy",
    summary = "Replace a flag (environment-less view)",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    request_body = crate::domain::legacy::LegacyFeature,
    responses(
        (status = 200, description = "The flag", body = crate::api::schema::LegacyFeature),
    )
)]
pub async fn update(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<LegacyFeature>,
) -> ApiResult<Json<Value>> {
    let feature = legacy::update(&state.core, &auth.actor, &name, input).await?;
    Ok(Json(legacy::to_json(
        &state.core,
        &state.core.snapshot.current(),
        &feature,
    )))
}

#[utoipa::path(
    delete,
    path = "/features/{feature}",
    tag = "Legacy",
    summary = "Archive a flag",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "Archived"),
    )
)]
pub async fn archive(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    features::archive(&state.core, &auth.actor, None, &name).await?;
    Ok(StatusCode::OK)
}

async fn toggle_to(
    state: &AppState,
    auth: &AdminAuth,
    name: &str,
    enabled: Option<bool>,
) -> ApiResult<Json<Value>> {
    let feature = legacy::toggle(&state.core, &auth.actor, name, enabled).await?;
    Ok(Json(legacy::to_json(
        &state.core,
        &state.core.snapshot.current(),
        &feature,
    )))
}

#[utoipa::path(
    post,
    path = "/features/{feature}/toggle",
    tag = "Legacy",
    summary = "Flip a flag in the legacy environments",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "The flag", body = crate::api::schema::LegacyFeature),
    )
)]
pub async fn toggle(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    toggle_to(&state, &auth, &name, None).await
}

#[utoipa::path(
    post,
    path = "/features/{feature}/toggle/on",
    tag = "Legacy",
    summary = "Turn a flag on in the legacy environments",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "The flag", body = crate::api::schema::LegacyFeature),
    )
)]
pub async fn toggle_on(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    toggle_to(&state, &auth, &name, Some(true)).await
}

#[utoipa::path(
    post,
    path = "/features/{feature}/toggle/off",
    tag = "Legacy",
    summary = "Turn a flag off in the legacy environments",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "The flag", body = crate::api::schema::LegacyFeature),
    )
)]
pub async fn toggle_off(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    toggle_to(&state, &auth, &name, Some(false)).await
}
