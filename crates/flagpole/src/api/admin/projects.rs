//! Projects and environments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::environments::{self, EnvironmentInput};
use crate::domain::model::{Environment, Project};
use crate::domain::projects::{self, ProjectInput};
use crate::error::ApiResult;
use crate::snapshot::Snapshot;

fn project_json(snapshot: &Snapshot, project: &Project) -> Value {
    let feature_count = snapshot
        .features
        .values()
        .filter(|f| f.value.project == project.id && !f.value.archived)
        .count();
    json!({
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "createdAt": project.created_at,
        "featureCount": feature_count,
        "memberCount": 0,
        "health": 100,
        "mode": "open",
        "favorite": false,
    })
}

pub async fn list(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let list: Vec<Value> = snapshot
        .projects
        .values()
        .map(|p| project_json(&snapshot, &p.value))
        .collect();
    Ok(Json(json!({ "version": 1, "projects": list })))
}

pub async fn get_one(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let project = projects::find(&snapshot, &id)?;
    Ok(Json(project_json(&snapshot, &project.value)))
}

pub async fn create(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = projects::create(&state.core, &auth.actor, input).await?;
    let body = project_json(&state.core.snapshot.current(), &project);
    Ok((StatusCode::CREATED, Json(body)))
}

pub async fn update(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<Json<Value>> {
    let project = projects::update(&state.core, &auth.actor, &id, input).await?;
    Ok(Json(project_json(&state.core.snapshot.current(), &project)))
}

pub async fn delete(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    projects::delete(&state.core, &auth.actor, &id).await?;
    Ok(StatusCode::OK)
}

fn environment_json(environment: &Environment) -> Value {
    json!({
        "name": environment.name,
        "type": environment.environment_type,
        "enabled": environment.enabled,
        "protected": environment.protected,
        "sortOrder": environment.sort_order,
    })
}

pub async fn list_environments(
    _: AdminAuth,
    State(state): State<AppState>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let list: Vec<Value> = snapshot
        .sorted_environments()
        .into_iter()
        .map(environment_json)
        .collect();
    Ok(Json(json!({ "version": 1, "environments": list })))
}

pub async fn get_environment(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    Ok(Json(environment_json(
        &environments::find(&snapshot, &name)?.value,
    )))
}

pub async fn create_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<EnvironmentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let environment = environments::create(&state.core, &auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(environment_json(&environment))))
}

pub async fn update_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<EnvironmentInput>,
) -> ApiResult<Json<Value>> {
    let environment = environments::update(&state.core, &auth.actor, &name, input).await?;
    Ok(Json(environment_json(&environment)))
}

pub async fn delete_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    environments::delete(&state.core, &auth.actor, &name).await?;
    Ok(StatusCode::OK)
}

pub async fn enable_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    environments::set_enabled(&state.core, &auth.actor, &name, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn disable_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    environments::set_enabled(&state.core, &auth.actor, &name, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
