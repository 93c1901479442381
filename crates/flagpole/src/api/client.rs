//! The Client API (`/api/client/*`) for server-side SDKs holding client tokens. Reads come from
//! the snapshot as pre-serialised, pre-compressed bytes; the database is never touched.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::api::{ApiJson, QueryPairs};
use crate::app::AppState;
use crate::auth::ClientAuth;
use crate::client_view::{client_feature, inline_segments, Scope};
use crate::delta;
use crate::domain::metrics::{ClientMetrics, ClientRegistration};
use crate::domain::Core;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::Snapshot;
use serde_json::json;
use tokio::sync::watch;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_client_features))
        .routes(routes!(get_client_feature))
        .routes(routes!(get_client_delta))
        .routes(routes!(stream_client_features))
        .routes(routes!(register))
        .routes(routes!(metrics))
}

/// SDKs that speak client specification 4.2 or later read segments separately; older ones (and
/// those that do not say) need segment constraints inlined into each strategy.
pub(crate) fn wants_inlined_segments(headers: &HeaderMap) -> bool {
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

/// Revisions a delta client reports: `"<queryHash>:<revision>"` from our own ETag.
fn reported_revision(value: Option<&str>, scope: &Scope) -> Option<i64> {
    let value = value?.trim().trim_start_matches("W/").trim_matches('"');
    let (query_hash, revision) = value.split_once(':')?;
    (query_hash == scope.query_hash()).then(|| revision.parse().ok())?
}

/// `GET /api/client/delta`: the events since the revision in `If-None-Match`, a hydration when
/// there is none (or it is too old), or 304 when nothing in scope changed.
#[utoipa::path(
    get,
    path = "/delta",
    tag = "Client API",
    summary = "What changed since the revision in `If-None-Match`",
    responses(
        (status = 200, description = "Changes (a hydration when the revision is unknown)", body = crate::api::schema::ClientDelta),
        (status = 304, description = "Nothing changed"),
    )
)]
pub async fn get_client_delta(
    auth: ClientAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(parameters): QueryPairs,
) -> ApiResult<Response> {
    let mut scope = scope_from_request(&auth, &headers, parameters)?;
    scope.inline_segments = false;
    let current = state.core.snapshot.current();
    let reported = reported_revision(
        headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok()),
        &scope,
    );
    let events = match reported.and_then(|r| state.core.snapshot.at_or_before(r)) {
        Some(seen) if seen.revision == current.revision => vec![],
        Some(seen) => delta::changes(&seen, &current, &scope),
        None => vec![delta::hydration(&current, &scope)],
    };
    let etag = HeaderValue::from_str(&format!("\"{}:{}\"", scope.query_hash(), current.revision))
        .map_err(|e| ApiError::Internal(e.into()))?;
    if events.is_empty() {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok(([(header::ETAG, etag)], Json(json!({ "events": events }))).into_response())
}

/// `GET /api/client/streaming`: server-sent events. `unleash-connected` carries a hydration
/// (or, when `Last-Event-ID` is recent enough, only what changed since), then `unleash-updated`
/// carries each change in scope. Comments keep idle connections alive.
#[utoipa::path(
    get,
    path = "/streaming",
    tag = "Client API",
    summary = "Server-sent events: a hydration, then each change as it commits",
    responses(
        (status = 200, description = "An event stream (`unleash-connected`, `unleash-updated`)", body = String, content_type = "text/event-stream"),
    )
)]
pub async fn stream_client_features(
    auth: ClientAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(parameters): QueryPairs,
) -> ApiResult<Sse<impl futures_util::Stream<Item = Result<SseEvent, std::convert::Infallible>>>> {
    let mut scope = scope_from_request(&auth, &headers, parameters)?;
    scope.inline_segments = false;
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let stream = Stream {
        core: Arc::clone(&state.core),
        changes: state.core.snapshot.subscribe(),
        shutdown: state.shutdown.clone(),
        scope,
        sent: None,
        last_event_id,
        token_digest: auth.digest.clone(),
        recheck: tokio::time::interval(TOKEN_RECHECK),
        _open: state.telemetry.stream_opened(),
    };
    let events = futures_util::stream::unfold(stream, |mut stream| async move {
        let event = stream.next().await?;
        Some((Ok(event), stream))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One client's stream: what it was last sent, and where changes and shutdown come from.
struct Stream {
    core: Arc<Core>,
    changes: watch::Receiver<i64>,
    shutdown: watch::Receiver<bool>,
    scope: Scope,
    sent: Option<Arc<Snapshot>>,
    last_event_id: Option<i64>,
    /// The stream ends as soon as its token is revoked or expires.
    token_digest: String,
    recheck: tokio::time::Interval,
    /// Counts the stream as open until it is dropped.
    _open: crate::observability::StreamGuard,
}

/// How often an idle stream checks that its token has not expired (revocation is seen at once,
/// since it arrives as a change).
const TOKEN_RECHECK: Duration = Duration::from_secs(5);

impl Stream {
    async fn next(&mut self) -> Option<SseEvent> {
        loop {
            let current = self.core.snapshot.current();
            let token_valid = current
                .tokens
                .get(&self.token_digest)
                .is_some_and(|token| !token.value.is_expired(chrono::Utc::now()));
            if !token_valid {
                return None;
            }
            let Some(sent) = self.sent.clone() else {
                // First event: resume from Last-Event-ID when the history allows it.
                let since = self
                    .last_event_id
                    .and_then(|id| self.core.snapshot.at_or_before(id));
                let events = match &since {
                    Some(seen) => delta::changes(seen, &current, &self.scope),
                    None => vec![delta::hydration(&current, &self.scope)],
                };
                self.sent = Some(Arc::clone(&current));
                return Some(sse_event("unleash-connected", current.revision, events));
            };
            if current.revision != sent.revision {
                let events = delta::changes(&sent, &current, &self.scope);
                self.sent = Some(Arc::clone(&current));
                if !events.is_empty() {
                    return Some(sse_event("unleash-updated", current.revision, events));
                }
                continue;
            }
            if *self.shutdown.borrow() {
                return None;
            }
            tokio::select! {
                changed = self.changes.changed() => changed.ok()?,
                _ = self.shutdown.changed() => return None,
                _ = self.recheck.tick() => {}
            }
        }
    }
}

fn sse_event(name: &str, revision: i64, events: Vec<serde_json::Value>) -> SseEvent {
    SseEvent::default()
        .event(name)
        .id(revision.to_string())
        .data(json!({ "events": events }).to_string())
}

pub(crate) fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
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

#[utoipa::path(
    get,
    path = "/features",
    tag = "Client API",
    summary = "All flags in the token's scope, for server-side SDKs",
    params(
        ("project" = Option<String>, Query, description = "Only these projects (repeatable or comma-separated)"),
        ("namePrefix" = Option<String>, Query, description = "Only flags whose names start with this"),
        ("tag" = Option<String>, Query, description = "Only flags with this tag, as `type:value` (repeatable)"),
    ),
    responses(
        (status = 200, description = "The flags; compressed when asked, with an ETag", body = flagpole_eval::wire::ClientFeatures),
        (status = 304, description = "Unchanged since the given ETag"),
    )
)]
pub async fn get_client_features(
    auth: ClientAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryPairs(parameters): QueryPairs,
) -> ApiResult<Response> {
    features_response(&state, &auth, &headers, parameters)
}

/// The answer to `GET /api/client/features`, shared by the handler and the SDK fast path
/// (`api::fast_path`), so both answer byte for byte the same.
pub(crate) fn features_response(
    state: &AppState,
    auth: &ClientAuth,
    headers: &HeaderMap,
    parameters: Vec<(String, String)>,
) -> ApiResult<Response> {
    let scope = scope_from_request(auth, headers, parameters)?;
    let snapshot = state.core.snapshot.current();
    let payload = state.core.client_payloads.get(&snapshot, &scope);
    let etag = HeaderValue::from_str(&payload.etag).map_err(|e| ApiError::Internal(e.into()))?;
    if etag_matches(headers, &payload.etag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let (body, encoding) = match negotiate(headers) {
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

#[utoipa::path(
    get,
    path = "/features/{feature}",
    tag = "Client API",
    summary = "One flag in the token's scope",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "The flag", body = flagpole_eval::wire::ClientFeature),
    )
)]
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
        .get(name.as_str())
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

#[utoipa::path(
    post,
    path = "/register",
    tag = "Client API",
    summary = "An SDK instance announces itself",
    request_body = crate::domain::metrics::ClientRegistration,
    responses(
        (status = 202, description = "Accepted"),
    )
)]
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

#[utoipa::path(
    post,
    path = "/metrics",
    tag = "Client API",
    summary = "An SDK reports evaluation counts",
    request_body = crate::domain::metrics::ClientMetrics,
    responses(
        (status = 202, description = "Accepted"),
    )
)]
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
