//! Tags on flags.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::features::{self as domain};
use crate::error::ApiResult;

use super::feature_views;
use crate::domain::model::Tag;

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
    request_body = crate::api::admin::flag_tags::TagChanges,
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
