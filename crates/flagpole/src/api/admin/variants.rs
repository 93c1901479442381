//! A flag's variants in one environment.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::features::{self as domain, Edit};
use crate::error::ApiResult;
use flagpole_eval::wire::Variant;

use super::features::EnvironmentPath;
use crate::domain::environments;

fn variants_json(variants: &[Variant]) -> Json<Value> {
    Json(json!({ "version": 1, "variants": variants }))
}

#[utoipa::path(
    get,
    path = "/projects/{project}/features/{feature}/environments/{environment}/variants",
    tag = "Variants",
    summary = "A flag's variants in an environment",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "The variants", body = crate::api::schema::FeatureVariants),
    )
)]
pub async fn get_variants(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = domain::find(&snapshot, &project, &name)?;
    environments::find(&snapshot, &environment)?;
    Ok(variants_json(
        &feature.value.environment(&environment).variants,
    ))
}

#[utoipa::path(
    put,
    path = "/projects/{project}/features/{feature}/environments/{environment}/variants",
    tag = "Variants",
    summary = "Replace a flag's variants in an environment",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    request_body = Vec<flagpole_eval::wire::Variant>,
    responses(
        (status = 200, description = "The variants", body = crate::api::schema::FeatureVariants),
    )
)]
pub async fn put_variants(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
    ApiJson(variants): ApiJson<Vec<Variant>>,
) -> ApiResult<Json<Value>> {
    let variants = domain::set_environment_variants(
        &state.core,
        &auth.actor,
        &project,
        &name,
        &environment,
        Edit::Replace(variants),
    )
    .await?;
    Ok(variants_json(&variants))
}

#[utoipa::path(
    patch,
    path = "/projects/{project}/features/{feature}/environments/{environment}/variants",
    tag = "Variants",
    summary = "Change a flag's variants with a JSON Patch",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    request_body = Vec<crate::api::schema::PatchOperation>,
    responses(
        (status = 200, description = "The variants", body = crate::api::schema::FeatureVariants),
    )
)]
pub async fn patch_variants(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
    ApiJson(patch): ApiJson<json_patch::Patch>,
) -> ApiResult<Json<Value>> {
    let variants = domain::set_environment_variants(
        &state.core,
        &auth.actor,
        &project,
        &name,
        &environment,
        Edit::Patch(patch),
    )
    .await?;
    Ok(variants_json(&variants))
}
