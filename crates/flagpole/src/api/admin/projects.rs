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
    let live: Vec<_> = snapshot
        .features
        .values()
        .filter(|f| f.value.project == project.id && !f.value.archived)
        .collect();
    // Technical debt: the share of the project's flags marked stale, in percent.
    let stale = live.iter().filter(|f| f.value.stale).count();
    let technical_debt = (stale * 100).checked_div(live.len()).unwrap_or(0);
    json!({
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "createdAt": project.created_at,
        "featureCount": live.len(),
        "memberCount": 0,
        "health": 100 - technical_debt,
        "technicalDebt": technical_debt,
        "mode": "open",
        // Projects are deleted, not archived; and owned by nobody in particular.
        "archivedAt": null,
        "owners": [{ "ownerType": "system" }],
    })
}

#[utoipa::path(
    get,
    path = "/projects",
    tag = "Projects",
    summary = "List projects",
    responses(
        (status = 200, description = "Projects", body = crate::api::schema::ProjectList),
    )
)]
pub async fn list(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    state.core.metrics.flush(&state.core.store).await?;
    let last_seen = state.core.store.last_seen_by_feature().await?;
    let mut list = Vec::new();
    for project in snapshot.projects.values() {
        let mut body = project_json(&snapshot, &project.value);
        let activity = activity(&state, &snapshot, &project.value.id, &last_seen).await?;
        body["lastUpdatedAt"] = activity.last_updated_at;
        body["lastReportedFlagUsage"] = activity.last_reported_flag_usage;
        body["onboardingStatus"] = activity.onboarding_status;
        list.push(body);
    }
    Ok(Json(json!({ "version": 1, "projects": list })))
}

/// What the listing tells about a project's activity, as Unleash does.
struct Activity {
    /// When anything in the project last changed (its newest audit event).
    last_updated_at: Value,
    /// When an SDK last reported one of its flags.
    last_reported_flag_usage: Value,
    /// `onboarding-started` without flags, `first-flag-created` until an SDK reports one of
    /// them, then `onboarded`.
    onboarding_status: Value,
}

async fn activity(
    state: &AppState,
    snapshot: &Snapshot,
    project: &str,
    last_seen: &std::collections::HashMap<String, i64>,
) -> ApiResult<Activity> {
    let query = crate::store::EventQuery {
        projects: vec![project.to_owned()],
        limit: 1,
        ..Default::default()
    };
    let (newest, _) = state.core.store.events(&query).await?;
    let timestamp = |millis: i64| {
        chrono::DateTime::from_timestamp_millis(millis).map_or(Value::Null, |t| {
            json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        })
    };
    let flags: Vec<&str> = snapshot
        .features
        .values()
        .filter(|f| f.value.project == project)
        .map(|f| f.value.name.as_str())
        .collect();
    let reported = flags
        .iter()
        .filter_map(|f| last_seen.get(*f))
        .max()
        .copied();
    let onboarding_status = match (flags.first(), reported) {
        (None, _) => json!({ "status": "onboarding-started" }),
        (Some(first), None) => json!({ "status": "first-flag-created", "feature": first }),
        (Some(_), Some(_)) => json!({ "status": "onboarded" }),
    };
    Ok(Activity {
        last_updated_at: newest
            .first()
            .map_or(Value::Null, |event| timestamp(event.created_at_millis)),
        last_reported_flag_usage: reported.map_or(Value::Null, timestamp),
        onboarding_status,
    })
}

#[utoipa::path(
    get,
    path = "/projects/{project}",
    tag = "Projects",
    summary = "Get a project",
    params(
        ("project" = String, Path, description = "Project id"),
    ),
    responses(
        (status = 200, description = "The project", body = crate::api::schema::Project),
    )
)]
pub async fn get_one(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let project = projects::find(&snapshot, &id)?;
    Ok(Json(project_json(&snapshot, &project.value)))
}

#[utoipa::path(
    post,
    path = "/projects",
    tag = "Projects",
    summary = "Create a project",
    request_body = crate::domain::projects::ProjectInput,
    responses(
        (status = 201, description = "The new project", body = crate::api::schema::Project),
        (status = 409, description = "A project with that id exists", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn create(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let project = projects::create(&state.core, &auth.actor, input).await?;
    let body = project_json(&state.core.snapshot.current(), &project);
    Ok((StatusCode::CREATED, Json(body)))
}

#[utoipa::path(
    put,
    path = "/projects/{project}",
    tag = "Projects",
    summary = "Update a project",
    params(
        ("project" = String, Path, description = "Project id"),
    ),
    request_body = crate::domain::projects::ProjectInput,
    responses(
        (status = 200, description = "The project", body = crate::api::schema::Project),
    )
)]
pub async fn update(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ProjectInput>,
) -> ApiResult<Json<Value>> {
    let project = projects::update(&state.core, &auth.actor, &id, input).await?;
    Ok(Json(project_json(&state.core.snapshot.current(), &project)))
}

#[utoipa::path(
    delete,
    path = "/projects/{project}",
    tag = "Projects",
    summary = "Delete an empty project",
    params(
        ("project" = String, Path, description = "Project id"),
    ),
    responses(
        (status = 200, description = "Deleted"),
        (status = 409, description = "The project still has flags or tokens", body = crate::api::schema::ErrorBody),
    )
)]
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
        // Change requests (and so required approvals) are not configured per environment yet.
        "requiredApprovals": null,
    })
}

/// An environment in the listing, with how much uses it: projects, API tokens scoped to it,
/// and live flags switched on in it.
fn listed_environment_json(snapshot: &Snapshot, environment: &Environment) -> Value {
    let name = environment.name.as_str();
    let mut body = environment_json(environment);
    body["projectCount"] = json!(snapshot.projects.len());
    body["apiTokenCount"] = json!(snapshot
        .tokens
        .values()
        .filter(|token| token.value.environment == name)
        .count());
    body["enabledToggleCount"] = json!(snapshot
        .features
        .values()
        .filter(|f| !f.value.archived && f.value.environment(name).enabled)
        .count());
    body
}

#[utoipa::path(
    get,
    path = "/environments",
    tag = "Environments",
    summary = "List environments",
    responses(
        (status = 200, description = "Environments", body = crate::api::schema::EnvironmentList),
    )
)]
pub async fn list_environments(
    _: AdminAuth,
    State(state): State<AppState>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let list: Vec<Value> = snapshot
        .sorted_environments()
        .into_iter()
        .map(|environment| listed_environment_json(&snapshot, environment))
        .collect();
    Ok(Json(json!({ "version": 1, "environments": list })))
}

#[utoipa::path(
    get,
    path = "/environments/{environment}",
    tag = "Environments",
    summary = "Get an environment",
    params(
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "The environment", body = crate::api::schema::Environment),
    )
)]
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

#[utoipa::path(
    post,
    path = "/environments",
    tag = "Environments",
    summary = "Create an environment",
    request_body = crate::domain::environments::EnvironmentInput,
    responses(
        (status = 201, description = "The new environment", body = crate::api::schema::Environment),
        (status = 409, description = "An environment with that name exists", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn create_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<EnvironmentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let environment = environments::create(&state.core, &auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(environment_json(&environment))))
}

#[utoipa::path(
    put,
    path = "/environments/{environment}",
    tag = "Environments",
    summary = "Update an environment",
    params(
        ("environment" = String, Path, description = "Environment name"),
    ),
    request_body = crate::domain::environments::EnvironmentInput,
    responses(
        (status = 200, description = "The environment", body = crate::api::schema::Environment),
    )
)]
pub async fn update_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<EnvironmentInput>,
) -> ApiResult<Json<Value>> {
    let environment = environments::update(&state.core, &auth.actor, &name, input).await?;
    Ok(Json(environment_json(&environment)))
}

#[utoipa::path(
    delete,
    path = "/environments/{environment}",
    tag = "Environments",
    summary = "Delete an environment",
    params(
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 200, description = "Deleted"),
        (status = 409, description = "The environment is protected or in use", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn delete_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    environments::delete(&state.core, &auth.actor, &name).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    post,
    path = "/environments/{environment}/on",
    tag = "Environments",
    summary = "Enable an environment",
    params(
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 204, description = "Enabled"),
    )
)]
pub async fn enable_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    environments::set_enabled(&state.core, &auth.actor, &name, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/environments/{environment}/off",
    tag = "Environments",
    summary = "Disable an environment",
    params(
        ("environment" = String, Path, description = "Environment name"),
    ),
    responses(
        (status = 204, description = "Disabled"),
    )
)]
pub async fn disable_environment(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    environments::set_enabled(&state.core, &auth.actor, &name, false).await?;
    Ok(StatusCode::NO_CONTENT)
}
