//! The Client API (`/api/client/*`) for server-side SDKs holding client tokens. Reads come from
//! the snapshot as pre-serialised, pre-compressed bytes; the database is never touched.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::api::{ApiJson, QueryPairs};
use crate::app::AppState;
use crate::auth::ClientAuth;
use crate::client_view::{client_feature, inline_segments, Scope};
use crate::domain::metrics::{ClientMetrics, ClientRegistration};
use crate::error::{ApiError, ApiResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/features", get(get_client_features))
        .route("/features/{feature}", get(get_client_feature))
        .route("/register", post(register))
        .route("/metrics", post(metrics))
}

/// SDKs that speak client specification 4.2 or later read segments separately; older ones (and
/// those that do not say) need segment constraints inlined into each strategy.
fn wants_inlined_segments(headers: &HeaderMap) -> bool {
    let Some(version) = headers
        .get("unleash-client-spec")
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let mut parts = version
        .trim()
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) < (4, 2)
}

/// Reads the Client API filters: `project` (repeatable or comma-separated), `namePrefix`, `tag`
/// (`type:value`, repeatable).
fn scope_from_request(
    auth: &ClientAuth,
    headers: &HeaderMap,
    parameters: Vec<(String, String)>,
) -> ApiResult<Scope> {
    let mut projects = Vec::new();
    let mut name_prefix = None;
    let mut tags = BTreeSet::new();
    for (key, value) in parameters {
        match key.as_str() {
            "project" | "project[]" => projects.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            ),
            "namePrefix" => name_prefix = Some(value),
            "tag" | "tag[]" => {
                let (tag_type, tag_value) = value.split_once(':').ok_or_else(|| {
                    ApiError::bad_data(format!("tag filters look like type:value, not \"{value}\""))
                })?;
                tags.insert((tag_type.to_owned(), tag_value.to_owned()));
            }
            _ => {}
        }
    }
    Scope::for_token(
        &auth.token,
        &auth.token.environment,
        projects,
        name_prefix,
        tags,
        wants_inlined_segments(headers),
    )
    .ok_or_else(|| {
        ApiError::Forbidden("This token does not give access to the requested projects".into())
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Gzip,
    Brotli,
    Identity,
}

/// Picks gzip or brotli when the client accepts it (with a non-zero weight).
fn negotiate(headers: &HeaderMap) -> Encoding {
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let allows = |name: &str| {
        accepted.split(',').any(|item| {
            let mut pieces = item.split(';');
            let coding = pieces.next().unwrap_or("").trim();
            let refused = pieces.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q == 0.0))
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if allows("gzip") {
        Encoding::Gzip
    } else if allows("br") {
        Encoding::Brotli
    } else {
        Encoding::Identity
    }
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|candidates| {
            candidates
                .split(',')
                .map(|c| c.trim().trim_start_matches("W/"))
                .any(|c| c == etag || c == "*")
        })
}

pub async fn get_client_features(
    auth: ClientAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(parameters): QueryPairs,
) -> ApiResult<Response> {
    let scope = scope_from_request(&auth, &headers, parameters)?;
    let snapshot = state.core.snapshot.current();
    let payload = state.core.client_payloads.get(&snapshot, &scope);
    let etag = HeaderValue::from_str(&payload.etag).map_err(|e| ApiError::Internal(e.into()))?;
    if etag_matches(&headers, &payload.etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let (body, encoding) = match negotiate(&headers) {
        Encoding::Gzip => (payload.gzip(), Some("gzip")),
        Encoding::Brotli => (payload.brotli(), Some("br")),
        Encoding::Identity => (payload.json.clone(), None),
    };
    let mut response = Response::new(Body::from(body));
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response_headers.insert(header::ETAG, etag);
    response_headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(encoding) = encoding {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    Ok(response)
}

pub async fn get_client_feature(
    auth: ClientAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Json<flagpole_eval::wire::ClientFeature>> {
    let scope = scope_from_request(&auth, &headers, vec![])?;
    let snapshot = state.core.snapshot.current();
    let feature = snapshot
        .features
        .get(&name)
        .filter(|f| scope.includes(&f.value))
        .ok_or_else(|| {
            ApiError::not_found(format!("Could not find feature flag with name {name}"))
        })?;
    let mut client = client_feature(&feature.value, &scope.environment);
    if scope.inline_segments {
        inline_segments(&snapshot, &mut client);
    }
    Ok(Json(client))
}

pub async fn register(
    auth: ClientAuth,
    State(state): State<AppState>,
    ApiJson(registration): ApiJson<ClientRegistration>,
) -> ApiResult<StatusCode> {
    state
        .core
        .metrics
        .record_registration(&auth.token.environment, registration)?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn metrics(
    auth: ClientAuth,
    State(state): State<AppState>,
    ApiJson(metrics): ApiJson<ClientMetrics>,
) -> ApiResult<StatusCode> {
    state
        .core
        .metrics
        .record_metrics(&auth.token.environment, metrics)?;
    Ok(StatusCode::ACCEPTED)
}
