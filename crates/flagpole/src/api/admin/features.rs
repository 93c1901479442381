//! Flags in projects: CRUD, environments, strategies, variants, dependencies, archive, tags.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use flagpole_eval::wire::{Dependency, Strategy, Variant};
use serde::Deserialize;
use serde_json::{json, Value};

use std::collections::BTreeMap;

use super::feature_views;
use crate::api::{ApiJson, QueryPairs};
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::features::{self as domain, CreateFeature, Edit, FeatureMetadata};
use crate::domain::model::Tag;
use crate::domain::{environments, strategies};
use crate::error::ApiResult;

type FeaturePath = Path<(String, String)>;
type EnvironmentPath = Path<(String, String, String)>;
type StrategyPath = Path<(String, String, String, String)>;

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
    get,
    path = "/projects/{project}/features/{feature}/environments/{environment}/strategies",
    tag = "Strategies",
    summary = "List a flag's strategies in an environment",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "The strategies, in order", body = Vec<crate::api::schema::AdminStrategy>),
    )
)]
pub async fn list_strategies(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    // Unleash lists the strategies of archived flags too.
    let feature = domain::find_including_archived(&snapshot, &project, &name)?;
    environments::find(&snapshot, &environment)?;
    let list: Vec<Value> = feature
        .value
        .environment(&environment)
        .strategies
        .iter()
        .map(|strategy| {
            let mut body = strategies::admin_json(strategy);
            // Release plans are not supported; Unleash lists their milestone as null.
            body["milestoneId"] = Value::Null;
            body
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

#[utoipa::path(
    post,
    path = "/projects/{project}/features/{feature}/environments/{environment}/strategies",
    tag = "Strategies",
    summary = "Add a strategy",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    request_body = flagpole_eval::wire::Strategy,
    responses(
        (status = 200, description = "The new strategy", body = crate::api::schema::AdminStrategy),
    )
)]
pub async fn add_strategy(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
    ApiJson(strategy): ApiJson<Strategy>,
) -> ApiResult<Json<Value>> {
    let added = strategies::add(
        &state.core,
        &auth.actor,
        &project,
        &name,
        &environment,
        strategy,
    )
    .await?;
    Ok(Json(strategies::admin_json(&added)))
}

#[utoipa::path(
    get,
    path = "/projects/{project}/features/{feature}/environments/{environment}/strategies/{strategy}",
    tag = "Strategies",
    summary = "Get one strategy",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
        ("strategy" = String, Path, description = "Strategy id"),
    ),
    responses(
        (status = 200, description = "The strategy", body = crate::api::schema::AdminStrategy),
    )
)]
pub async fn get_strategy(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment, id)): StrategyPath,
) -> ApiResult<Json<Value>> {
    let strategy = strategies::get(&state.core, &project, &name, &environment, &id).await?;
    Ok(Json(strategies::admin_json(&strategy)))
}

#[utoipa::path(
    put,
    path = "/projects/{project}/features/{feature}/environments/{environment}/strategies/{strategy}",
    tag = "Strategies",
    summary = "Replace a strategy",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
        ("strategy" = String, Path, description = "Strategy id"),
    ),
    request_body = flagpole_eval::wire::Strategy,
    responses(
        (status = 200, description = "The updated strategy", body = crate::api::schema::AdminStrategy),
    )
)]
pub async fn update_strategy(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment, id)): StrategyPath,
    ApiJson(strategy): ApiJson<Strategy>,
) -> ApiResult<Json<Value>> {
    let updated = strategies::update(
        &state.core,
        &auth.actor,
        &project,
        &name,
        &environment,
        &id,
        Edit::Replace(strategy),
    )
    .await?;
    Ok(Json(strategies::admin_json(&updated)))
}

#[utoipa::path(
    patch,
    path = "/projects/{project}/features/{feature}/environments/{environment}/strategies/{strategy}",
    tag = "Strategies",
    summary = "Change a strategy with a JSON Patch",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
        ("strategy" = String, Path, description = "Strategy id"),
    ),
    request_body = Vec<crate::api::schema::PatchOperation>,
    responses(
        (status = 200, description = "The updated strategy", body = crate::api::schema::AdminStrategy),
    )
)]
pub async fn patch_strategy(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment, id)): StrategyPath,
    ApiJson(patch): ApiJson<json_patch::Patch>,
) -> ApiResult<Json<Value>> {
    let updated = strategies::update(
        &state.core,
        &auth.actor,
        &project,
        &name,
        &environment,
        &id,
        Edit::Patch(patch),
    )
    .await?;
    Ok(Json(strategies::admin_json(&updated)))
}

#[utoipa::path(
    delete,
    path = "/projects/{project}/features/{feature}/environments/{environment}/strategies/{strategy}",
    tag = "Strategies",
    summary = "Delete a strategy",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
        ("strategy" = String, Path, description = "Strategy id"),
    ),
    responses(
        (status = 200, description = "Deleted"),
    )
)]
pub async fn delete_strategy(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment, id)): StrategyPath,
) -> ApiResult<StatusCode> {
    strategies::delete(&state.core, &auth.actor, &project, &name, &environment, &id).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SortOrder {
    id: String,
    sort_order: i64,
}

#[utoipa::path(
    post,
    path = "/projects/{project}/features/{feature}/environments/{environment}/strategies/set-sort-order",
    tag = "Strategies",
    summary = "Reorder strategies",
    params(
        ("project" = String, Path, description = "Project id"),
        ("feature" = String, Path, description = "Flag name"),
        ("environment" = String, Path, description = "Environment name"),
    ),
    request_body = Vec<crate::api::admin::features::SortOrder>,
    responses(
        (status = 200, description = "Reordered"),
    )
)]
pub async fn set_strategy_sort_order(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
    ApiJson(orders): ApiJson<Vec<SortOrder>>,
) -> ApiResult<StatusCode> {
    let orders = orders.into_iter().map(|o| (o.id, o.sort_order)).collect();
    strategies::set_sort_order(
        &state.core,
        &auth.actor,
        &project,
        &name,
        &environment,
        orders,
    )
    .await?;
    Ok(StatusCode::OK)
}

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

fn archived_json(state: &AppState, project: Option<&str>) -> Json<Value> {
    let snapshot = state.core.snapshot.current();
    let features: Vec<Value> = snapshot
        .features
        .values()
        .filter(|f| f.value.archived && project.is_none_or(|p| f.value.project == p))
        .map(|f| feature_views::archived_summary_json(&snapshot, &f.value))
        .collect();
    Json(json!({ "version": 2, "features": features }))
}

#[utoipa::path(
    get,
    path = "/archive/features",
    tag = "Archive",
    summary = "List archived flags",
    responses(
        (status = 200, description = "Archived flags", body = crate::api::schema::ArchivedFeatureList),
    )
)]
pub async fn list_archived(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.core.fresh().await?;
    Ok(archived_json(&state, None))
}

#[utoipa::path(
    get,
    path = "/archive/features/{project}",
    tag = "Archive",
    summary = "List a project's archived flags",
    params(
        ("project" = String, Path, description = "Project id"),
    ),
    responses(
        (status = 200, description = "Archived flags", body = crate::api::schema::ArchivedFeatureList),
    )
)]
pub async fn list_archived_in_project(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    state.core.fresh().await?;
    Ok(archived_json(&state, Some(&project)))
}

#[utoipa::path(
    post,
    path = "/archive/revive/{feature}",
    tag = "Archive",
    summary = "Bring a flag back from the archive",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "Revived"),
    )
)]
pub async fn revive(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    domain::revive(&state.core, &auth.actor, &name).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    delete,
    path = "/archive/{feature}",
    tag = "Archive",
    summary = "Delete an archived flag for good",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "Deleted"),
    )
)]
pub async fn delete_archived(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    domain::delete_archived(&state.core, &auth.actor, &name).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    get,
    path = "/features/{feature}/tags",
    tag = "Tags",
    summary = "A flag's tags",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "Tags", body = crate::api::schema::TagList),
    )
)]
pub async fn list_tags(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = domain::find_any_including_archived(&snapshot, &name)?;
    Ok(Json(feature_views::tags_json(
        &snapshot,
        &feature.value.tags,
    )))
}

#[utoipa::path(
    post,
    path = "/features/{feature}/tags",
    tag = "Tags",
    summary = "Tag a flag",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    request_body = crate::domain::model::Tag,
    responses(
        (status = 201, description = "Tagged", body = crate::domain::model::Tag),
    )
)]
pub async fn add_tag(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(tag): ApiJson<Tag>,
) -> ApiResult<(StatusCode, Json<Tag>)> {
    domain::update_tags(&state.core, &auth.actor, &name, vec![tag.clone()], vec![]).await?;
    Ok((StatusCode::CREATED, Json(tag)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagChanges {
    #[serde(default)]
    added_tags: Vec<Tag>,
    #[serde(default)]
    removed_tags: Vec<Tag>,
}

#[utoipa::path(
    put,
    path = "/features/{feature}/tags",
    tag = "Tags",
    summary = "Add and remove several tags at once",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    request_body = crate::api::admin::features::TagChanges,
    responses(
        (status = 200, description = "The flag's tags", body = crate::api::schema::TagList),
    )
)]
pub async fn update_tags(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(changes): ApiJson<TagChanges>,
) -> ApiResult<Json<Value>> {
    let tags = domain::update_tags(
        &state.core,
        &auth.actor,
        &name,
        changes.added_tags,
        changes.removed_tags,
    )
    .await?;
    let snapshot = state.core.fresh().await?;
    Ok(Json(feature_views::tags_json(&snapshot, &tags)))
}

#[utoipa::path(
    delete,
    path = "/features/{feature}/tags/{tag_type}/{value}",
    tag = "Tags",
    summary = "Remove a tag from a flag",
    params(
        ("feature" = String, Path, description = "Flag name"),
        ("tag_type" = String, Path, description = "Tag type"),
        ("value" = String, Path, description = "Tag value"),
    ),
    responses(
        (status = 200, description = "Removed"),
    )
)]
pub async fn remove_tag(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((name, tag_type, value)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tag = Tag { tag_type, value };
    domain::update_tags(&state.core, &auth.actor, &name, vec![], vec![tag]).await?;
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
