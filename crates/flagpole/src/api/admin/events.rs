//! The audit log.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::api::QueryPairs;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::domain::events::{event_json, search_query};
use crate::error::ApiResult;

/// `GET /api/admin/events?project=&feature=`: the older listing, newest first.
pub async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    QueryPairs(parameters): QueryPairs,
) -> ApiResult<Json<Value>> {
    let query = search_query(&parameters)?;
    let (events, total) = state.core.store.events(&query).await?;
    let events: Vec<Value> = events.iter().map(event_json).collect();
    Ok(Json(
        json!({ "version": 1, "events": events, "totalEvents": total }),
    ))
}

pub async fn for_feature(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(feature): Path<String>,
    QueryPairs(mut parameters): QueryPairs,
) -> ApiResult<Json<Value>> {
    parameters.push(("feature".into(), format!("IS:{feature}")));
    let query = search_query(&parameters)?;
    let (events, total) = state.core.store.events(&query).await?;
    let events: Vec<Value> = events.iter().map(event_json).collect();
    Ok(Json(json!({
        "version": 1,
        "toggleName": feature,
        "events": events,
        "totalEvents": total,
    })))
}

/// `GET /api/admin/search/events`: filters in Unleash's operator syntax, paged.
pub async fn search(
    _: AdminAuth,
    State(state): State<AppState>,
    QueryPairs(parameters): QueryPairs,
) -> ApiResult<Json<Value>> {
    let query = search_query(&parameters)?;
    let (events, total) = state.core.store.events(&query).await?;
    let events: Vec<Value> = events.iter().map(event_json).collect();
    Ok(Json(json!({ "events": events, "total": total })))
}
