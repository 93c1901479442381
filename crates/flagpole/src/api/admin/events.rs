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
#[utoipa::path(
    get,
    path = "/events",
    tag = "Events",
    summary = "The audit log, newest first",
    params(
        ("project" = Option<String>, Query, description = "Only this project"),
        ("offset" = Option<i64>, Query, description = "Events to skip"),
        ("limit" = Option<i64>, Query, description = "Events per page (at most 1000)"),
    ),
    responses(
        (status = 200, description = "Events", body = crate::api::schema::EventList),
    )
)]
pub async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    QueryPairs(parameters): QueryPairs,
) -> ApiResult<Json<Value>> {
    let query = legacy_query(&parameters)?;
    let (events, total) = state.core.store.events(&query).await?;
    let events: Vec<Value> = events.iter().map(legacy_event_json).collect();
    Ok(Json(
        json!({ "version": 1, "events": events, "totalEvents": total }),
    ))
}

#[utoipa::path(
    get,
    path = "/events/{feature}",
    tag = "Events",
    summary = "A flag's history, newest first",
    params(
        ("feature" = String, Path, description = "Flag name"),
        ("offset" = Option<i64>, Query, description = "Events to skip"),
        ("limit" = Option<i64>, Query, description = "Events per page (at most 1000)"),
    ),
    responses(
        (status = 200, description = "Events", body = crate::api::schema::FeatureEventList),
    )
)]
pub async fn for_feature(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(feature): Path<String>,
    QueryPairs(mut parameters): QueryPairs,
) -> ApiResult<Json<Value>> {
    parameters.push(("feature".into(), format!("IS:{feature}")));
    let query = legacy_query(&parameters)?;
    let (events, total) = state.core.store.events(&query).await?;
    let events: Vec<Value> = events.iter().map(legacy_event_json).collect();
    Ok(Json(json!({
        "version": 1,
        "toggleName": feature,
        "events": events,
        "totalEvents": total,
    })))
}

/// The older listings' query: as the search's, but a page is 100 events unless `limit` says
/// otherwise, as in Unleash.
fn legacy_query(parameters: &[(String, String)]) -> ApiResult<crate::store::EventQuery> {
    let mut query = search_query(parameters)?;
    if !parameters.iter().any(|(key, _)| key == "limit") {
        query.limit = LEGACY_PAGE_SIZE;
    }
    Ok(query)
}

const LEGACY_PAGE_SIZE: i64 = 100;

/// An event as the older listings show it: without the search's label and summary.
fn legacy_event_json(event: &crate::store::EventRecord) -> Value {
    let mut body = event_json(event);
    if let Some(fields) = body.as_object_mut() {
        fields.remove("label");
        fields.remove("summary");
    }
    body
}

/// `GET /api/admin/search/events`: filters in Unleash's operator syntax, paged.
#[utoipa::path(
    get,
    path = "/search/events",
    tag = "Events",
    summary = "Search the audit log",
    params(
        ("feature" = Option<String>, Query, description = "`IS:name` or `IS_ANY_OF:a,b`"),
        ("project" = Option<String>, Query, description = "`IS:` or `IS_ANY_OF:` projects"),
        ("type" = Option<String>, Query, description = "`IS:` or `IS_ANY_OF:` event types"),
        ("createdBy" = Option<String>, Query, description = "`IS:` or `IS_ANY_OF:` actors"),
        ("environment" = Option<String>, Query, description = "`IS:` or `IS_ANY_OF:` environments"),
        ("from" = Option<String>, Query, description = "`IS:2026-01-31`: events on or after this day"),
        ("to" = Option<String>, Query, description = "`IS:2026-01-31`: events on or before this day"),
        ("offset" = Option<i64>, Query, description = "Events to skip"),
        ("limit" = Option<i64>, Query, description = "Events per page (at most 1000)"),
    ),
    responses(
        (status = 200, description = "Matching events", body = crate::api::schema::EventSearchResult),
    )
)]
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

/// `GET /api/admin/audit/verify`: checks the audit log's hash chain (see `store::audit_chain`).
#[utoipa::path(
    get,
    path = "/audit/verify",
    tag = "Events",
    summary = "Check that the audit log was not changed behind the server's back",
    description = "Walks the hash chain from the first event to the newest and reports the first \
                   broken link: an event edited, removed, inserted or reordered directly in the \
                   database. Record `head` elsewhere to detect a later rewrite of the chain.",
    responses(
        (status = 200, description = "The report; `valid` is false at a broken link", body = crate::store::audit_chain::ChainReport),
    )
)]
pub async fn verify_chain(
    _: AdminAuth,
    State(state): State<AppState>,
) -> ApiResult<Json<crate::store::audit_chain::ChainReport>> {
    Ok(Json(state.core.store.verify_audit_chain().await?))
}
