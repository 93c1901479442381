//! The Frontend API (`/api/frontend`) for browser and mobile SDKs holding frontend tokens. The
//! server evaluates every flag for the caller's context with the engine compiled for the
//! token's environment, and answers with the enabled ones.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use flagpole_eval::toggle_list::ToggleListCursor;
use flagpole_eval::{Context, Engine, Evaluation};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::{ApiJson, QueryPairs};
use crate::app::AppState;
use crate::auth::token::ApiToken;
use crate::auth::FrontendAuth;
use crate::domain::metrics::{ClientMetrics, ClientRegistration};
use crate::error::{ApiError, ApiResult};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub const MAX_CONTEXT_PROPERTIES: usize = 100;
pub const MAX_CONTEXT_VALUE_LENGTH: usize = 1_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_frontend_features, post_frontend_features))
        .routes(routes!(get_frontend_feature))
        .routes(routes!(metrics))
        .routes(routes!(register))
}

/// Builds a context from query pairs: the standard fields by name, `properties[x]=y`, and any
/// other key as a custom property, as Unleash reads them.
fn context_from_pairs(pairs: Vec<(String, String)>) -> ApiResult<Context> {
    let mut fields = serde_json::Map::new();
    let mut properties = serde_json::Map::new();
    for (key, value) in pairs {
        if let Some(name) = key
            .strip_prefix("properties[")
            .and_then(|k| k.strip_suffix(']'))
        {
            properties.insert(name.to_owned(), Value::String(value));
        } else if STANDARD_FIELDS.contains(&key.as_str()) {
            fields.insert(key, Value::String(value));
        } else {
            properties.insert(key, Value::String(value));
        }
    }
    fields.insert("properties".into(), Value::Object(properties));
    context_from_json(Value::Object(fields))
}

const STANDARD_FIELDS: [&str; 6] = [
    "userId",
    "sessionId",
    "remoteAddress",
    "environment",
    "appName",
    "currentTime",
];

/// Reads a context object; unknown top-level fields become properties. Enforces the limits.
pub(crate) fn context_from_json(value: Value) -> ApiResult<Context> {
    let Value::Object(mut fields) = value else {
        return Err(ApiError::bad_data("the context must be a JSON object"));
    };
    let mut properties = match fields.remove("properties") {
        Some(Value::Object(properties)) => properties,
        Some(Value::Null) | None => serde_json::Map::new(),
        Some(_) => return Err(ApiError::bad_data("\"properties\" must be an object")),
    };
    let extra: Vec<String> = fields
        .keys()
        .filter(|k| !STANDARD_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in extra {
        if let Some(value) = fields.remove(&key) {
            properties.insert(key, value);
        }
    }
    if properties.len() > MAX_CONTEXT_PROPERTIES {
        return Err(ApiError::bad_data(format!(
            "a context may have at most {MAX_CONTEXT_PROPERTIES} properties"
        )));
    }
    let too_long = fields
        .values()
        .chain(properties.values())
        .any(|v| v.as_str().map_or(v.to_string().len(), str::len) > MAX_CONTEXT_VALUE_LENGTH);
    if too_long {
        return Err(ApiError::bad_data(format!(
            "context values must be at most {MAX_CONTEXT_VALUE_LENGTH} bytes long"
        )));
    }
    fields.insert("properties".into(), Value::Object(properties));
    serde_json::from_value(Value::Object(fields))
        .map_err(|error| ApiError::bad_data(format!("invalid context: {error}")))
}

/// One enabled flag in the Frontend API's shape, serialised straight from the evaluation.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Toggle<'a> {
    name: &'a str,
    enabled: bool,
    variant: ToggleVariant<'a>,
    impression_data: bool,
}

#[derive(Serialize)]
struct ToggleVariant<'a> {
    name: &'a str,
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a flagpole_eval::wire::Payload>,
    feature_enabled: bool,
    /// The older spelling, still read by some SDKs.
    #[serde(rename = "featureEnabled")]
    feature_enabled_camel: bool,
}

impl<'a> Toggle<'a> {
    fn from(evaluation: &Evaluation<'a>) -> Toggle<'a> {
        Toggle {
            name: evaluation.name,
            enabled: true,
            variant: ToggleVariant {
                name: evaluation.variant.name,
                enabled: evaluation.variant.enabled,
                payload: evaluation.variant.payload,
                feature_enabled: evaluation.enabled,
                feature_enabled_camel: evaluation.enabled,
            },
            impression_data: evaluation.impression_data,
        }
    }
}

/// About how much of the list a response holds at once: enough for a thousand flags in one
/// piece (about 75 KB when half of them are on).
const PIECE_BYTES: usize = 128 * 1024;

/// Which flags' projects a token sees, asked of the token once per run of flags of one project
/// rather than once per flag: the engine keeps one copy of each project's name, so a run is
/// recognised by the name's address, and a list of a thousand flags makes a handful of string
/// comparisons instead of a thousand.
struct ProjectFilter {
    token: Arc<ApiToken>,
    all_projects: bool,
    /// The address and length of the last project name asked about, and the answer.
    last: Option<((usize, usize), bool)>,
}

impl ProjectFilter {
    fn new(token: Arc<ApiToken>) -> ProjectFilter {
        ProjectFilter {
            all_projects: token.all_projects(),
            token,
            last: None,
        }
    }

    fn allows(&mut self, project: &str) -> bool {
        if self.all_projects {
            return true;
        }
        // Equal addresses and lengths are the same name; different ones may still be equal
        // names, which the token is then asked about.
        let key = (project.as_ptr() as usize, project.len());
        match self.last {
            Some((last, allowed)) if last == key => allowed,
            _ => {
                let allowed = self.token.allows_project(project);
                self.last = Some((key, allowed));
                allowed
            }
        }
    }
}

/// The enabled flags for one context as a response body, evaluated as it is sent: a piece of
/// about `PIECE_BYTES` at a time. With 10,000 flags the list is most of a megabyte, and every
/// request waiting for its client to read would otherwise hold all of it.
struct ToggleList {
    engine: Arc<Engine>,
    projects: ProjectFilter,
    context: Context,
    now: DateTime<Utc>,
    cursor: ToggleListCursor,
    /// A piece failed to serialise; the body ends there.
    failed: bool,
}

impl ToggleList {
    fn new(engine: Arc<Engine>, token: Arc<ApiToken>, context: Context) -> ToggleList {
        ToggleList {
            engine,
            projects: ProjectFilter::new(token),
            context,
            now: chrono::Utc::now(),
            cursor: ToggleListCursor::default(),
            failed: false,
        }
    }

    /// The next piece of the list; the first opens it and the last closes it.
    fn next_piece(&mut self) -> serde_json::Result<Vec<u8>> {
        // Room for every flag left (a toggle takes about 150 bytes), up to a piece.
        let left = self.engine.len().saturating_sub(self.cursor.position());
        let mut out = Vec::with_capacity(left.saturating_mul(160).clamp(64, PIECE_BYTES + 1024));
        let projects = &mut self.projects;
        self.engine.write_toggles(
            &mut self.cursor,
            &self.context,
            self.now,
            &mut |project| projects.allows(project),
            &mut out,
            PIECE_BYTES,
        )?;
        Ok(out)
    }

    /// The response: with a known length when the list fits in one piece (as it does for a
    /// thousand flags), otherwise sent in pieces as the client reads them.
    fn into_response(mut self) -> ApiResult<Response> {
        let mut first = self
            .next_piece()
            .map_err(|e| ApiError::Internal(e.into()))?;
        if self.cursor.is_finished() {
            // Held until the client has read it: without the room estimated for flags that
            // turned out to be off.
            first.shrink_to_fit();
            return Ok(no_cache(Body::from(first)));
        }
        // A piece that fails to serialise (it cannot: strings into a vector) ends the response
        // early, which the client sees as a broken body rather than a wrong list.
        let rest = futures_util::stream::unfold(self, |mut list| async move {
            if list.failed || list.cursor.is_finished() {
                return None;
            }
            let piece = list.next_piece().map(Bytes::from);
            list.failed = piece.is_err();
            Some((piece, list))
        });
        let pieces = futures_util::stream::once(async move { Ok(Bytes::from(first)) }).chain(rest);
        Ok(no_cache(Body::from_stream(pieces)))
    }
}

/// The engine for the token's environment, and the context completed from the token (which
/// fixes the environment) and the caller's address (which fills in remoteAddress).
fn prepare(
    state: &AppState,
    auth: &FrontendAuth,
    mut context: Context,
    peer: SocketAddr,
) -> (Arc<Engine>, Context) {
    context.environment = Some(auth.token.environment.clone());
    if context.remote_address.is_none() {
        context.remote_address = Some(peer.ip().to_string());
    }
    let snapshot = state.core.snapshot.current();
    let engine = state.core.engines.get(&snapshot, &auth.token.environment);
    (engine, context)
}

fn no_cache(body: Body) -> Response {
    (
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            ),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/",
    tag = "Frontend API",
    summary = "Flags that are on for the context in the query string",
    params(
        ("userId" = Option<String>, Query, description = "Context field; any other query key is a context property too"),
        ("sessionId" = Option<String>, Query, description = "Context field"),
        ("appName" = Option<String>, Query, description = "Context field"),
    ),
    responses(
        (status = 200, description = "The enabled flags", body = crate::api::schema::FrontendToggles),
    )
)]
pub async fn get_frontend_features(
    auth: FrontendAuth,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Response> {
    features_for_query(&state, &auth, pairs, peer)
}

/// The answer to `GET /api/frontend`, shared by the handler and the SDK fast path
/// (`api::fast_path`), so both answer byte for byte the same.
pub(crate) fn features_for_query(
    state: &AppState,
    auth: &FrontendAuth,
    pairs: Vec<(String, String)>,
    peer: SocketAddr,
) -> ApiResult<Response> {
    let context = context_from_pairs(pairs)?;
    let (engine, context) = prepare(state, auth, context, peer);
    ToggleList::new(engine, Arc::clone(&auth.token), context).into_response()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ContextBody {
    #[serde(default)]
    context: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/",
    tag = "Frontend API",
    summary = "Flags that are on for the context in the body",
    request_body = crate::api::frontend::ContextBody,
    responses(
        (status = 200, description = "The enabled flags", body = crate::api::schema::FrontendToggles),
    )
)]
pub async fn post_frontend_features(
    auth: FrontendAuth,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<ContextBody>,
) -> ApiResult<Response> {
    let context = context_from_json(body.context.unwrap_or_else(|| json!({})))?;
    let (engine, context) = prepare(&state, &auth, context, peer);
    ToggleList::new(engine, Arc::clone(&auth.token), context).into_response()
}

/// One flag, when it is enabled for this context (404 otherwise, so that a disabled flag and an
/// unknown one look alike to browsers).
#[utoipa::path(
    get,
    path = "/features/{feature}",
    tag = "Frontend API",
    summary = "One flag, when it is on for the context",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "The flag", body = crate::api::schema::FrontendToggle),
    )
)]
pub async fn get_frontend_feature(
    auth: FrontendAuth,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(name): Path<String>,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Response> {
    let context = context_from_pairs(pairs)?;
    let (engine, context) = prepare(&state, &auth, context, peer);
    let toggle = engine
        .evaluate(&name, &context, chrono::Utc::now())
        .filter(|e| e.enabled)
        .filter(|e| e.project.is_some_and(|p| auth.token.allows_project(p)))
        .ok_or_else(|| {
            ApiError::not_found(format!("Could not find feature flag with name {name}"))
        })?;
    let body =
        serde_json::to_vec(&Toggle::from(&toggle)).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(no_cache(Body::from(body)))
}

#[utoipa::path(
    post,
    path = "/client/metrics",
    tag = "Frontend API",
    summary = "A browser SDK reports evaluation counts",
    request_body = crate::domain::metrics::ClientMetrics,
    responses(
        (status = 200, description = "Accepted: the text `OK`, as Unleash answers", body = String, content_type = "text/plain"),
    )
)]
pub async fn metrics(
    auth: FrontendAuth,
    State(state): State<AppState>,
    ApiJson(metrics): ApiJson<ClientMetrics>,
) -> ApiResult<&'static str> {
    state
        .core
        .metrics
        .record_metrics(&auth.token.environment, metrics)?;
    Ok("OK")
}

#[utoipa::path(
    post,
    path = "/client/register",
    tag = "Frontend API",
    summary = "A browser SDK announces itself",
    request_body = crate::domain::metrics::ClientRegistration,
    responses(
        (status = 200, description = "Accepted"),
    )
)]
pub async fn register(
    auth: FrontendAuth,
    State(state): State<AppState>,
    ApiJson(registration): ApiJson<ClientRegistration>,
) -> ApiResult<StatusCode> {
    state
        .core
        .metrics
        .record_registration(&auth.token.environment, registration)?;
    Ok(StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn query_context_fields_and_properties() {
        let context = context_from_pairs(vec![
            ("userId".into(), "123".into()),
            ("properties[region]".into(), "eu".into()),
            ("email".into(), "bob@example.com".into()),
        ])
        .unwrap();
        assert_eq!(context.user_id.as_deref(), Some("123"));
        let expected: BTreeMap<String, String> = [
            ("email".to_string(), "bob@example.com".to_string()),
            ("region".to_string(), "eu".to_string()),
        ]
        .into();
        assert_eq!(context.properties, expected);
    }

    /// The hand-written list is exactly what serde writes for the same toggles: names that
    /// need escaping, payloads, impression data, and a flag whose variant is off.
    #[test]
    fn written_toggles_equal_serialised_toggles() {
        let payload = flagpole_eval::wire::Payload {
            payload_type: "json".into(),
            value: r#"{"a":"b\"c"}"#.into(),
        };
        let evaluation = |name, variant, enabled, payload, impression_data| Evaluation {
            name,
            project: Some("default"),
            enabled: true,
            impression_data,
            variant: flagpole_eval::VariantRef {
                name: variant,
                enabled,
                payload,
                feature_enabled: true,
            },
        };
        let evaluations = [
            evaluation("plain", "disabled", false, None, false),
            evaluation(
                "quote\"back\\slash\u{1}ünï",
                "blue",
                true,
                Some(&payload),
                true,
            ),
            evaluation("third", "green \"x\"", true, None, false),
        ];
        #[derive(Serialize)]
        struct Toggles<'a> {
            toggles: Vec<Toggle<'a>>,
        }
        let expected = serde_json::to_vec(&Toggles {
            toggles: evaluations.iter().map(Toggle::from).collect(),
        })
        .unwrap();
        let mut written = b"{\"toggles\":[".to_vec();
        for (i, evaluation) in evaluations.iter().enumerate() {
            flagpole_eval::toggle_list::write_toggle(&mut written, evaluation, i == 0).unwrap();
        }
        written.extend_from_slice(b"]}");
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }

    fn token(projects: &[&str]) -> Arc<ApiToken> {
        Arc::new(ApiToken {
            token_name: "browser".into(),
            token_type: crate::auth::token::TokenType::Frontend,
            projects: projects.iter().map(|p| p.to_string()).collect(),
            environment: "development".into(),
            expires_at: None,
            created_at: Utc::now(),
            secret_prefix: "default:development.0".into(),
            alias: None,
        })
    }

    /// Flags in two projects, every third one off, with names long enough that the list takes
    /// several pieces.
    fn engine(count: usize) -> Arc<Engine> {
        let features: Vec<Value> = (0..count)
            .map(|n| {
                json!({
                    "name": format!("flag-{n:05}-{}", "x".repeat(40)),
                    "project": if n % 2 == 0 { "default" } else { "other" },
                    "enabled": n % 3 != 0,
                    "strategies": [{"name": "default"}],
                })
            })
            .collect();
        let state = serde_json::from_value(json!({"version": 2, "features": features})).unwrap();
        Arc::new(flagpole_eval::compile(&state))
    }

    /// Every piece of a list body, in order.
    fn pieces(response: Response) -> Vec<Bytes> {
        use http_body::Body as _;
        let mut body = response.into_body();
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        let mut pieces = Vec::new();
        loop {
            // The pieces are evaluated as they are asked for; nothing waits.
            match std::pin::Pin::new(&mut body).poll_frame(&mut context) {
                std::task::Poll::Ready(Some(frame)) => {
                    pieces.push(frame.unwrap().into_data().unwrap())
                }
                std::task::Poll::Ready(None) => return pieces,
                std::task::Poll::Pending => panic!("a list body never waits"),
            }
        }
    }

    /// A list longer than a piece is sent in pieces that together are exactly the list the
    /// engine gives for the token's projects; a short one is one body of known length.
    #[test]
    fn long_lists_are_sent_in_pieces_that_join_into_the_list() {
        let context = Context {
            user_id: Some("123".into()),
            ..Context::default()
        };
        for (count, projects) in [
            (5_000, vec!["*"]),
            (5_000, vec!["other"]),
            (20, vec!["default"]),
            (0, vec!["*"]),
        ] {
            let engine = engine(count);
            let token = token(&projects);
            let expected: Vec<Value> = engine
                .evaluate_all(&context, Utc::now())
                .iter()
                .filter(|e| e.enabled)
                .filter(|e| e.project.is_some_and(|p| token.allows_project(p)))
                .map(|e| serde_json::to_value(Toggle::from(e)).unwrap())
                .collect();
            let response =
                ToggleList::new(Arc::clone(&engine), Arc::clone(&token), context.clone())
                    .into_response()
                    .unwrap();
            let known_length = http_body::Body::size_hint(response.body()).exact();
            let pieces = pieces(response);
            let joined: Vec<u8> = pieces.iter().flat_map(|piece| piece.to_vec()).collect();
            let listed: Value = serde_json::from_slice(&joined).unwrap();
            assert_eq!(
                listed,
                json!({ "toggles": expected }),
                "{count} flags, {projects:?}"
            );
            if joined.len() > PIECE_BYTES {
                assert!(pieces.len() > 1, "{count} flags in one piece");
                assert!(pieces.iter().all(|p| p.len() < PIECE_BYTES + 1024));
                assert_eq!(known_length, None);
            } else {
                assert_eq!(known_length, Some(joined.len() as u64));
            }
        }
    }

    /// A remembered answer is only reused for the very same name: an equal name elsewhere in
    /// memory is asked about again, and gets the same answer.
    #[test]
    fn the_project_filter_answers_as_the_token_does() {
        let names = ["default", "other", "default"].map(String::from);
        let copy = names[0].clone();
        for projects in [vec!["default"], vec!["other"], vec!["*"], vec![]] {
            let token = token(&projects);
            let mut filter = ProjectFilter::new(Arc::clone(&token));
            for name in names.iter().chain([&copy, &names[0], &names[1]]) {
                assert_eq!(
                    filter.allows(name),
                    token.allows_project(name),
                    "{name} for {projects:?}"
                );
            }
        }
    }

    #[test]
    fn oversized_contexts_are_refused() {
        let many: serde_json::Map<String, Value> = (0..=MAX_CONTEXT_PROPERTIES)
            .map(|n| (format!("p{n}"), json!("x")))
            .collect();
        assert!(context_from_json(json!({ "properties": many })).is_err());
        assert!(context_from_json(json!({ "userId": "x".repeat(1_001) })).is_err());
        assert!(context_from_json(json!("text")).is_err());
    }
}
