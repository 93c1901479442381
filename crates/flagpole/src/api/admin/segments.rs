//! Segments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::model::Segment;
use crate::domain::segments::{self, SegmentInput};
use crate::error::{ApiError, ApiResult};
use crate::snapshot::Snapshot;

/// A segment as Unleash shows it: `project` only when it has one.
fn segment_json(segment: &Segment) -> Value {
    let mut body = json!({
        "id": segment.id,
        "name": segment.name,
        "description": segment.description,
        "constraints": segment.constraints,
        "createdBy": segment.created_by,
        "createdAt": segment.created_at,
    });
    if let Some(project) = &segment.project {
        body["project"] = project.as_str().into();
    }
    body
}

/// A segment in the listing, with how many flags and projects use it.
fn listed_segment_json(snapshot: &Snapshot, segment: &Segment) -> Value {
    let (flags, projects) = segments::usage(snapshot, segment.id);
    let mut body = segment_json(segment);
    body["usedInFeatures"] = flags.into();
    body["usedInProjects"] = projects.into();
    body
}

fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::bad_data(format!("segment id must be a number, not \"{raw}\"")))
}

#[utoipa::path(
    get,
    path = "/segments",
    tag = "Segments",
    summary = "List segments",
    responses(
        (status = 200, description = "Segments", body = crate::api::schema::SegmentList),
    )
)]
pub async fn list(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let list: Vec<Value> = snapshot
        .segments
        .values()
        .map(|s| listed_segment_json(&snapshot, &s.value))
        .collect();
    Ok(Json(json!({ "segments": list })))
}

#[utoipa::path(
    get,
    path = "/segments/{id}",
    tag = "Segments",
    summary = "Get a segment",
    params(
        ("id" = String, Path, description = "Segment id"),
    ),
    responses(
        (status = 200, description = "The segment", body = crate::api::schema::Segment),
    )
)]
pub async fn get_one(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let segment = segments::find(&snapshot, parse_id(&id)?)?;
    Ok(Json(segment_json(&segment.value)))
}

#[utoipa::path(
    post,
    path = "/segments",
    tag = "Segments",
    summary = "Create a segment",
    request_body = crate::domain::segments::SegmentInput,
    responses(
        (status = 201, description = "The new segment", body = crate::api::schema::Segment),
        (status = 409, description = "A segment with that name exists", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn create(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let segment = segments::create(&state.core, &auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(segment_json(&segment))))
}

#[utoipa::path(
    put,
    path = "/segments/{id}",
    tag = "Segments",
    summary = "Replace a segment",
    params(
        ("id" = String, Path, description = "Segment id"),
    ),
    request_body = crate::domain::segments::SegmentInput,
    responses(
        (status = 204, description = "Updated"),
        (status = 409, description = "A segment with that name exists", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn update(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SegmentInput>,
) -> ApiResult<StatusCode> {
    segments::update(&state.core, &auth.actor, parse_id(&id)?, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/segments/{id}",
    tag = "Segments",
    summary = "Delete an unused segment",
    params(
        ("id" = String, Path, description = "Segment id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "Strategies still use it", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn delete(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    segments::delete(&state.core, &auth.actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
