//! Flags in projects: create, read, change, archive, switch per environment (one flag or
//! several), and dependencies. Strategies, variants, the archive and tags have modules of their
//! own.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use flagpole_eval::wire::Dependency;
use serde::Deserialize;
use serde_json::{json, Value};

use std::collections::BTreeMap;

use super::feature_views;
use crate::api::{ApiJson, QueryPairs};
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::features::{self as domain, CreateFeature, FeatureMetadata};
use crate::domain::{environments, strategies};
use crate::error::ApiResult;

pub(super) type FeaturePath = Path<(String, String)>;
pub(super) type EnvironmentPath = Path<(String, String, String)>;
pub(super) type StrategyPath = Path<(String, String, String, String)>;

#[utoipa::path(
    get,
    path = "/projects/{project}/features",
    tag = "Features",
    summary = "List the flags of a project",
    params(
        ("project" = String, Path, description = "Project id"),
    ),
    responses(
        (status = 200, description = "The project's live flags", body = crate::api::schema::FeatureList),
    )
)]
pub async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    // An unknown project lists no flags (200), as in Unleash.
    let snapshot = state.core.fresh().await?;
    let features: Vec<Value> = snapshot
        .features
        .values()
        .filter(|f| f.value.project == project && !f.value.archived)
        .map(|f| feature_views::summary_json(&snapshot, &f.value))
        .collect();
    Ok(Json(json!({ "version": 2, "features": features })))
}

#[utoipa::path(
    post,
    path = "/projects/{project}/features",
    tag = "Features",
    summary = "Create a flag",
    params(
        ("project" = String, Path, description = "Project id"),
    ),
    request_body = crate::domain::features::CreateFeature,
    responses(
        (status = 201, description = "The new flag", body = crate::api::schema::FeatureMetadataBody),
        (status = 409, description = "A flag with that name exists", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn create(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(project): Path<String>,
    ApiJson(input): ApiJson<CreateFeature>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let feature = domain::create(&state.core, &auth.actor, &project, input).await?;
    Ok((StatusCode::CREATED, Json(feature.metadata())))
}

#[utoipa::path(
    get,
    path = "/projects/{project}/features/{feature}",
    tag = "Features",
    summary = "Get a flag with its state in every environment",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("variantEnvironments" = Option<bool>, Query, description = "Include each environment's variants"),
    ),
    responses(
        (status = 200, description = "The flag", body = crate::api::schema::Feature),
    )
)]
pub async fn get_one(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
    QueryPairs(query): QueryPairs,
) -> ApiResult<Json<Value>> {
    let with_variants = query
        .iter()
        .any(|(key, value)| key == "variantEnvironments" && value == "true");
    let snapshot = state.core.fresh().await?;
    let feature = domain::find(&snapshot, &project, &name)?;
    let mut body = feature_views::admin_json(&snapshot, &feature.value, with_variants);
    // When SDKs last reported the flag and how it answered them this hour, per environment
    // (written with the metrics batches).
    state.core.metrics.flush(&state.core.store).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let hour_start = now - now.rem_euclid(3_600_000);
    let mut this_hour: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for row in state.core.store.feature_usage(&name, hour_start).await? {
        let counts = this_hour.entry(row.environment).or_default();
        counts.0 += row.yes;
        counts.1 += row.no;
    }
    let last_seen = state.core.store.last_seen(&name).await?;
    body["collaborators"] = json!({ "users": feature_views::collaborators(&state, &name).await? });
    let timestamp = |millis: i64| {
        chrono::DateTime::from_timestamp_millis(millis)
            .map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
            .unwrap_or(Value::Null)
    };
    if let Some(environments) = body["environments"].as_array_mut() {
        for environment in environments {
            let name = environment["name"].as_str().unwrap_or_default().to_owned();
            if let Some(millis) = last_seen.get(&name) {
                environment["lastSeenAt"] = timestamp(*millis);
            }
            if let Some((yes, no)) = this_hour.get(&name) {
                environment["yes"] = json!(yes);
                environment["no"] = json!(no);
            }
        }
    }
    Ok(Json(body))
}

#[utoipa::path(
    put,
    path = "/projects/{project}/features/{feature}",
    tag = "Features",
    summary = "Replace a flag's metadata",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
    ),
    request_body = crate::domain::features::FeatureMetadata,
    responses(
        (status = 200, description = "The updated flag's metadata", body = crate::api::schema::FeatureMetadataBody),
    )
)]
pub async fn update(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
    ApiJson(input): ApiJson<FeatureMetadata>,
) -> ApiResult<Json<Value>> {
    let input = input.as_replacement();
    let feature = domain::update_metadata(&state.core, &auth.actor, &project, &name, input).await?;
    Ok(Json(feature.metadata()))
}

#[utoipa::path(
    patch,
    path = "/projects/{project}/features/{feature}",
    tag = "Features",
    summary = "Change a flag's metadata with a JSON Patch",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
    ),
    request_body = Vec<crate::api::schema::PatchOperation>,
    responses(
        (status = 200, description = "The updated flag's metadata", body = crate::api::schema::FeatureMetadataBody),
    )
)]
pub async fn patch(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
    ApiJson(patch): ApiJson<json_patch::Patch>,
) -> ApiResult<Json<Value>> {
    let feature = domain::patch_metadata(&state.core, &auth.actor, &project, &name, patch).await?;
    Ok(Json(feature.metadata()))
}

#[utoipa::path(
    delete,
    path = "/projects/{project}/features/{feature}",
    tag = "Features",
    summary = "Archive a flag",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 202, description = "Archived"),
    )
)]
pub async fn archive(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
) -> ApiResult<StatusCode> {
    domain::archive(&state.core, &auth.actor, Some(&project), &name).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(
    get,
    path = "/projects/{project}/features/{feature}/environments/{environment}",
    tag = "Features",
    summary = "A flag's state in one environment",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "The state", body = crate::api::schema::FeatureEnvironmentDetail),
    )
)]
pub async fn get_environment(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = domain::find(&snapshot, &project, &name)?;
    environments::find(&snapshot, &environment)?;
    let current = feature.value.environment(&environment);
    // Unleash's shape: `name` is the flag's, and each strategy names its flag instead of
    // listing segments.
    let strategies: Vec<Value> = current
        .strategies
        .iter()
        .map(|strategy| {
            let mut body = strategies::admin_json(strategy);
            if let Some(fields) = body.as_object_mut() {
                fields.remove("segments");
                fields.insert("featureName".into(), name.as_str().into());
            }
            body
        })
        .collect();
    Ok(Json(json!({
        "name": name,
        "environment": environment,
        "enabled": current.enabled,
        "strategies": strategies,
    })))
}

#[utoipa::path(
    post,
    path = "/projects/{project}/features/{feature}/environments/{environment}/on",
    tag = "Features",
    summary = "Turn a flag on in an environment",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "On (a flag without strategies gets a default one)"),
    )
)]
pub async fn toggle_on(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
) -> ApiResult<StatusCode> {
    domain::set_environment_enabled(
        &state.core,
        &auth.actor,
        Some(&project),
        &name,
        &environment,
        true,
    )
    .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/projects/{project}/features/{feature}/environments/{environment}/off",
    tag = "Features",
    summary = "Turn a flag off in an environment",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "Off"),
    )
)]
pub async fn toggle_off(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
) -> ApiResult<StatusCode> {
    domain::set_environment_enabled(
        &state.core,
        &auth.actor,
        Some(&project),
        &name,
        &environment,
        false,
    )
    .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/projects/{project}/features/{feature}/dependencies",
    tag = "Features",
    summary = "Make a flag depend on a parent flag",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
    ),
    request_body = flagpole_eval::wire::Dependency,
    responses(
        (status = 200, description = "Added"),
    )
)]
pub async fn add_dependency(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
    ApiJson(dependency): ApiJson<Dependency>,
) -> ApiResult<StatusCode> {
    domain::add_dependency(&state.core, &auth.actor, &project, &name, dependency).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    delete,
    path = "/projects/{project}/features/{feature}/dependencies",
    tag = "Features",
    summary = "Remove all of a flag's dependencies",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "Removed"),
    )
)]
pub async fn remove_dependencies(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
) -> ApiResult<StatusCode> {
    domain::remove_dependency(&state.core, &auth.actor, &project, &name, None).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    delete,
    path = "/projects/{project}/features/{feature}/dependencies/{parent}",
    tag = "Features",
    summary = "Remove one dependency",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("parent" = String, Path, description = "Name of the parent flag"),
    ),
    responses(
        (status = 200, description = "Removed"),
    )
)]
pub async fn remove_dependency(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, parent)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    domain::remove_dependency(&state.core, &auth.actor, &project, &name, Some(&parent)).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NameOnly {
    name: String,
}

#[utoipa::path(
    post,
    path = "/features/validate",
    tag = "Features",
    summary = "Check that a flag name is valid and free",
    request_body = crate::api::admin::features::NameOnly,
    responses(
        (status = 200, description = "Valid and free"),
        (status = 409, description = "Taken", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn validate_name(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<NameOnly>,
) -> ApiResult<StatusCode> {
    let snapshot = state.core.fresh().await?;
    domain::check_name_available(&snapshot, &input.name)?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BulkFeatures {
    features: Vec<String>,
}

async fn bulk_toggle(
    state: &AppState,
    auth: &AdminAuth,
    (project, environment): (String, String),
    input: BulkFeatures,
    enabled: bool,
) -> ApiResult<StatusCode> {
    domain::set_environment_enabled_bulk(
        &state.core,
        &auth.actor,
        &project,
        &input.features,
        &environment,
        enabled,
    )
    .await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/projects/{project}/bulk_features/environments/{environment}/on",
    tag = "Features",
    summary = "Turn several flags on in an environment, all or none",
    params(
        ("project" = String, Path, description = "Project id"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    request_body = crate::api::admin::features::BulkFeatures,
    responses(
        (status = 200, description = "All on"),
    )
)]
pub async fn bulk_toggle_on(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(path): Path<(String, String)>,
    ApiJson(input): ApiJson<BulkFeatures>,
) -> ApiResult<StatusCode> {
    bulk_toggle(&state, &auth, path, input, true).await
}

#[utoipa::path(
    post,
    path = "/projects/{project}/bulk_features/environments/{environment}/off",
    tag = "Features",
    summary = "Turn several flags off in an environment, all or none",
    params(
        ("project" = String, Path, description = "Project id"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    request_body = crate::api::admin::features::BulkFeatures,
    responses(
        (status = 200, description = "All off"),
    )
)]
pub async fn bulk_toggle_off(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(path): Path<(String, String)>,
    ApiJson(input): ApiJson<BulkFeatures>,
) -> ApiResult<StatusCode> {
    bulk_toggle(&state, &auth, path, input, false).await
}
