//! A flag's strategies in one environment: listing, adding, changing, removing, ordering.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::features::{self as domain, Edit};
use crate::error::ApiResult;
use flagpole_eval::wire::Strategy;

use super::features::{EnvironmentPath, StrategyPath};
use crate::domain::{environments, strategies};

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
    request_body = Vec<crate::api::admin::strategies::SortOrder>,
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
