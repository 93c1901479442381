//! Tag types, context fields and feature types.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::api::ApiJson;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::context_fields::{self, ContextFieldInput};
use crate::domain::settings;
use crate::domain::tag_types::{self, TagTypeInput};
use crate::domain::validate::FEATURE_TYPES;
use crate::error::{ApiError, ApiResult};

#[utoipa::path(
    get,
    path = "/tag-types",
    tag = "Tags",
    summary = "List tag types",
    responses(
        (status = 200, description = "Tag types", body = crate::api::schema::TagTypeList),
    )
)]
pub async fn list_tag_types(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let list: Vec<_> = snapshot
        .tag_types
        .values()
        .map(|t| t.value.as_ref())
        .collect();
    Ok(Json(json!({ "version": 1, "tagTypes": list })))
}

#[utoipa::path(
    get,
    path = "/tag-types/{name}",
    tag = "Tags",
    summary = "Get a tag type",
    params(
        ("name" = String, Path, description = "Name"),
    ),
    responses(
        (status = 200, description = "The tag type", body = crate::api::schema::TagTypeEnvelope),
    )
)]
pub async fn get_tag_type(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let tag_type = tag_types::find(&snapshot, &name)?;
    Ok(Json(
        json!({ "version": 1, "tagType": tag_type.value.as_ref() }),
    ))
}

#[utoipa::path(
    post,
    path = "/tag-types",
    tag = "Tags",
    summary = "Create a tag type",
    request_body = crate::domain::tag_types::TagTypeInput,
    responses(
        (status = 201, description = "The new tag type", body = crate::domain::model::TagType),
        (status = 409, description = "A tag type with that name exists", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn create_tag_type(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<TagTypeInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let tag_type = tag_types::create(&state.core, &auth.actor, input).await?;
    // Unleash answers with what was given: no `icon` or `color` when they were left out.
    let mut answer = json!(tag_type);
    if let Some(fields) = answer.as_object_mut() {
        fields.retain(|_, value| !value.is_null());
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

#[utoipa::path(
    post,
    path = "/tag-types/validate",
    tag = "Tags",
    summary = "Check that a tag type name is valid and free",
    request_body = crate::domain::tag_types::TagTypeInput,
    responses(
        (status = 200, description = "Valid and free", body = crate::api::schema::TagTypeValidation),
        (status = 409, description = "Taken", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn validate_tag_type(
    _: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<TagTypeInput>,
) -> ApiResult<Json<Value>> {
    let name = input
        .name
        .ok_or_else(|| ApiError::bad_data("\"name\" is required"))?;
    let snapshot = state.core.fresh().await?;
    tag_types::check_name(&snapshot, &name)?;
    Ok(Json(json!({ "valid": true, "tagType": { "name": name } })))
}

#[utoipa::path(
    put,
    path = "/tag-types/{name}",
    tag = "Tags",
    summary = "Update a tag type",
    params(
        ("name" = String, Path, description = "Name"),
    ),
    request_body = crate::domain::tag_types::TagTypeInput,
    responses(
        (status = 200, description = "Updated; no body, as in Unleash"),
    )
)]
pub async fn update_tag_type(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<TagTypeInput>,
) -> ApiResult<StatusCode> {
    tag_types::update(&state.core, &auth.actor, &name, input).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    delete,
    path = "/tag-types/{name}",
    tag = "Tags",
    summary = "Delete a tag type",
    params(
        ("name" = String, Path, description = "Name"),
    ),
    responses(
        (status = 200, description = "Deleted, with every tag of this type"),
    )
)]
pub async fn delete_tag_type(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    tag_types::delete(&state.core, &auth.actor, &name).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    get,
    path = "/context",
    tag = "Context fields",
    summary = "List context fields, with how many flags and projects use each",
    responses(
        (status = 200, description = "Context fields", body = Vec<crate::api::schema::ListedContextField>),
    )
)]
pub async fn list_context(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    let list: Vec<Value> = snapshot
        .context_fields
        .values()
        .map(|field| {
            let usage = context_fields::usage(&snapshot, &field.value.name);
            let mut listed = json!(field.value.as_ref());
            listed["usedInFeatures"] = usage.features.into();
            listed["usedInProjects"] = usage.projects.into();
            listed
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

#[utoipa::path(
    get,
    path = "/context/{name}",
    tag = "Context fields",
    summary = "Get a context field",
    params(
        ("name" = String, Path, description = "Name"),
    ),
    responses(
        (status = 200, description = "The field", body = crate::domain::model::ContextField),
    )
)]
pub async fn get_context(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    Ok(Json(json!(context_fields::find(&snapshot, &name)?
        .value
        .as_ref())))
}

#[utoipa::path(
    post,
    path = "/context",
    tag = "Context fields",
    summary = "Create a context field",
    request_body = crate::domain::context_fields::ContextFieldInput,
    responses(
        (status = 201, description = "The new field", body = crate::domain::model::ContextField),
        (status = 409, description = "A field with that name exists", body = crate::api::schema::ErrorBody),
    )
)]
pub async fn create_context(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ContextFieldInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let field = context_fields::create(&state.core, &auth.actor, input).await?;
    Ok((StatusCode::CREATED, Json(json!(field))))
}

#[utoipa::path(
    put,
    path = "/context/{name}",
    tag = "Context fields",
    summary = "Update a context field",
    params(
        ("name" = String, Path, description = "Name"),
    ),
    request_body = crate::domain::context_fields::ContextFieldInput,
    responses(
        (status = 200, description = "Updated; no body, as in Unleash"),
    )
)]
pub async fn update_context(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    ApiJson(input): ApiJson<ContextFieldInput>,
) -> ApiResult<StatusCode> {
    context_fields::update(&state.core, &auth.actor, &name, input).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    delete,
    path = "/context/{name}",
    tag = "Context fields",
    summary = "Delete a context field",
    params(
        ("name" = String, Path, description = "Name"),
    ),
    responses(
        (status = 200, description = "Deleted"),
    )
)]
pub async fn delete_context(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    context_fields::delete(&state.core, &auth.actor, &name).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(
    get,
    path = "/feature-types",
    tag = "Metadata",
    summary = "List flag types",
    responses(
        (status = 200, description = "Flag types", body = crate::api::schema::FeatureTypeList),
    )
)]
pub async fn feature_types(_: AdminAuth) -> Json<Value> {
    let types: Vec<Value> = FEATURE_TYPES
        .iter()
        .map(|(id, name, description, lifetime)| {
            json!({ "id": id, "name": name, "description": description, "lifetimeDays": lifetime })
        })
        .collect();
    Json(json!({ "version": 1, "types": types }))
}

#[utoipa::path(
    get,
    path = "/ui-config",
    tag = "Metadata",
    summary = "Instance information and settings",
    responses(
        (status = 200, description = "The configuration", body = crate::api::schema::UiConfig),
    )
)]
pub async fn ui_config(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let snapshot = state.core.fresh().await?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "environment": "Flagpole",
        "unleashUrl": "",
        "baseUriPath": "",
        "versionInfo": {
            "current": { "oss": env!("CARGO_PKG_VERSION"), "enterprise": "" },
            "latest": {},
            "isLatest": true,
        },
        "frontendApiOrigins": settings::frontend_origins(&state.core, &snapshot),
        // Sign-in is by password (Unleash's "open-source" kind); no e-mail is sent, there is
        // no Prometheus query API, no maintenance mode and no limit on sessions per user.
        "authenticationType": "open-source",
        "disablePasswordAuth": false,
        "emailEnabled": false,
        "prometheusAPIAvailable": false,
        "maintenanceMode": false,
        "maxSessionsCount": 0,
        "impactMetrics": "disabled",
        "storiesPageEnabled": false,
        "unleashContext": {},
    })))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorsInput {
    frontend_api_origins: Vec<String>,
}

#[utoipa::path(
    post,
    path = "/ui-config/cors",
    tag = "Metadata",
    summary = "Set the origins allowed to call the Frontend API",
    request_body = crate::api::admin::metadata::CorsInput,
    responses(
        (status = 204, description = "Saved"),
    )
)]
pub async fn set_cors(
    auth: AdminAuth,
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CorsInput>,
) -> ApiResult<StatusCode> {
    settings::set_frontend_origins(&state.core, &auth.actor, input.frontend_api_origins).await?;
    Ok(StatusCode::NO_CONTENT)
}
