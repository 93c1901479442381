//! Flags in projects: CRUD, environments, strategies, variants, dependencies, archive, tags.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use flagpole_eval::wire::{Dependency, Strategy, Variant};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::features::{self as domain, CreateFeature, Edit, FeatureMetadata};
use crate::domain::model::Tag;
use crate::domain::{environments, strategies};
use crate::error::ApiResult;

type FeaturePath = Path<(String, String)>;
type EnvironmentPath = Path<(String, String, String)>;
type StrategyPath = Path<(String, String, String, String)>;

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
        .map(|f| domain::summary_json(&snapshot, &f.value))
        .collect();
    Ok(Json(json!({ "version": 2, "features": features })))
}

pub async fn create(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(project): Path<String>,
    ApiJson(input): ApiJson<CreateFeature>,
) -> ApiResult<Json<Value>> {
    let feature = domain::create(&state.core, &auth.actor, &project, input).await?;
    let snapshot = state.core.snapshot.current();
    Ok(Json(domain::admin_json(&snapshot, &feature)))
}

pub async fn get_one(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = domain::find(&snapshot, &project, &name)?;
    let mut body = domain::admin_json(&snapshot, &feature.value);
    // When SDKs last reported the flag, per environment (written with the metrics batches).
    state.core.metrics.flush(&state.core.store).await?;
    let last_seen = state.core.store.last_seen(&name).await?;
    let timestamp = |millis: i64| {
        chrono::DateTime::from_timestamp_millis(millis)
            .map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
            .unwrap_or(Value::Null)
    };
    if let Some(environments) = body["environments"].as_array_mut() {
        for environment in environments {
            if let Some(millis) = environment["name"].as_str().and_then(|n| last_seen.get(n)) {
                environment["lastSeenAt"] = timestamp(*millis);
            }
        }
    }
    body["lastSeenAt"] = last_seen
        .values()
        .max()
        .map_or(Value::Null, |m| timestamp(*m));
    Ok(Json(body))
}

pub async fn update(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
    ApiJson(input): ApiJson<FeatureMetadata>,
) -> ApiResult<Json<Value>> {
    let feature = domain::update_metadata(&state.core, &auth.actor, &project, &name, input).await?;
    Ok(Json(domain::admin_json(
        &state.core.snapshot.current(),
        &feature,
    )))
}

pub async fn patch(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
    ApiJson(patch): ApiJson<json_patch::Patch>,
) -> ApiResult<Json<Value>> {
    let feature = domain::patch_metadata(&state.core, &auth.actor, &project, &name, patch).await?;
    Ok(Json(domain::admin_json(
        &state.core.snapshot.current(),
        &feature,
    )))
}

pub async fn archive(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
) -> ApiResult<StatusCode> {
    domain::archive(&state.core, &auth.actor, Some(&project), &name).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn get_environment(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = domain::find(&snapshot, &project, &name)?;
    let env = environments::find(&snapshot, &environment)?;
    let current = feature.value.environment(&environment);
    Ok(Json(json!({
        "name": environment,
        "featureName": name,
        "environment": environment,
        "type": env.value.environment_type,
        "sortOrder": env.value.sort_order,
        "enabled": current.enabled,
        "strategies": current.strategies.iter().map(strategies::admin_json).collect::<Vec<_>>(),
        "variants": current.variants,
    })))
}

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

pub async fn list_strategies(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = domain::find(&snapshot, &project, &name)?;
    environments::find(&snapshot, &environment)?;
    let list: Vec<Value> = feature
        .value
        .environment(&environment)
        .strategies
        .iter()
        .map(strategies::admin_json)
        .collect();
    Ok(Json(Value::Array(list)))
}

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

pub async fn get_strategy(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment, id)): StrategyPath,
) -> ApiResult<Json<Value>> {
    let strategy = strategies::get(&state.core, &project, &name, &environment, &id).await?;
    Ok(Json(strategies::admin_json(&strategy)))
}

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

pub async fn delete_strategy(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment, id)): StrategyPath,
) -> ApiResult<StatusCode> {
    strategies::delete(&state.core, &auth.actor, &project, &name, &environment, &id).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SortOrder {
    id: String,
    sort_order: i64,
}

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

fn variants_json(name: &str, variants: &[Variant]) -> Json<Value> {
    Json(json!({ "version": 1, "name": name, "variants": variants }))
}

pub async fn get_variants(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, environment)): EnvironmentPath,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = domain::find(&snapshot, &project, &name)?;
    environments::find(&snapshot, &environment)?;
    Ok(variants_json(
        &name,
        &feature.value.environment(&environment).variants,
    ))
}

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
    Ok(variants_json(&name, &variants))
}

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
    Ok(variants_json(&name, &variants))
}

pub async fn add_dependency(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
    ApiJson(dependency): ApiJson<Dependency>,
) -> ApiResult<StatusCode> {
    domain::add_dependency(&state.core, &auth.actor, &project, &name, dependency).await?;
    Ok(StatusCode::OK)
}

pub async fn remove_dependencies(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name)): FeaturePath,
) -> ApiResult<StatusCode> {
    domain::remove_dependency(&state.core, &auth.actor, &project, &name, None).await?;
    Ok(StatusCode::OK)
}

pub async fn remove_dependency(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((project, name, parent)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    domain::remove_dependency(&state.core, &auth.actor, &project, &name, Some(&parent)).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct NameOnly {
    name: String,
}

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
        .map(|f| domain::summary_json(&snapshot, &f.value))
        .collect();
    Json(json!({ "version": 2, "features": features }))
}

pub async fn list_archived(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.core.fresh().await?;
    Ok(archived_json(&state, None))
}

pub async fn list_archived_in_project(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    state.core.fresh().await?;
    Ok(archived_json(&state, Some(&project)))
}

pub async fn revive(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    domain::revive(&state.core, &auth.actor, &name).await?;
    Ok(StatusCode::OK)
}

pub async fn delete_archived(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    domain::delete_archived(&state.core, &auth.actor, &name).await?;
    Ok(StatusCode::OK)
}

pub async fn list_tags(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let feature = domain::find_any(&snapshot, &name)?;
    Ok(Json(json!({ "version": 1, "tags": feature.value.tags })))
}

pub async fn add_tag(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(tag): ApiJson<Tag>,
) -> ApiResult<(StatusCode, Json<Tag>)> {
    domain::update_tags(&state.core, &auth.actor, &name, vec![tag.clone()], vec![]).await?;
    Ok((StatusCode::CREATED, Json(tag)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagChanges {
    #[serde(default)]
    added_tags: Vec<Tag>,
    #[serde(default)]
    removed_tags: Vec<Tag>,
}

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
    Ok(Json(json!({ "version": 1, "tags": tags })))
}

pub async fn remove_tag(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((name, tag_type, value)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let tag = Tag { tag_type, value };
    domain::update_tags(&state.core, &auth.actor, &name, vec![], vec![tag]).await?;
    Ok(StatusCode::OK)
}

#[derive(Debug, Deserialize)]
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

pub async fn bulk_toggle_on(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(path): Path<(String, String)>,
    ApiJson(input): ApiJson<BulkFeatures>,
) -> ApiResult<StatusCode> {
    bulk_toggle(&state, &auth, path, input, true).await
}

pub async fn bulk_toggle_off(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(path): Path<(String, String)>,
    ApiJson(input): ApiJson<BulkFeatures>,
) -> ApiResult<StatusCode> {
    bulk_toggle(&state, &auth, path, input, false).await
}
