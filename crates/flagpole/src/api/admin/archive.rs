//! The archive: archived flags listed, revived, or deleted for good.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::features::{self as domain};
use crate::error::ApiResult;

use super::feature_views;

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
