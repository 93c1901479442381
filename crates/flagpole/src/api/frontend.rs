//! The Frontend API (`/api/frontend`) for browser and mobile SDKs holding frontend tokens. The
//! server evaluates every flag for the caller's context with the engine compiled for the
//! token's environment, and answers with the enabled ones.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use flagpole_eval::{Context, Evaluation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::api::{ApiJson, QueryPairs};
use crate::app::AppState;
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

/// Writes `{"toggles":[…]}` for these evaluations: byte for byte what serialising each with
/// `Toggle` gives, but with the keys as fixed text, so that only names (and payloads) pass
/// through the JSON escaper. A request lists hundreds of flags, and serde's per-key work was most
/// of what it cost.
fn write_toggles<'a>(
    evaluations: impl Iterator<Item = Evaluation<'a>>,
    capacity: usize,
) -> serde_json::Result<Vec<u8>> {
    let flag = |on: bool, yes: &'static [u8], no: &'static [u8]| if on { yes } else { no };
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(b"{\"toggles\":[");
    for (i, evaluation) in evaluations.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        serde_json::to_writer(&mut out, evaluation.name)?;
        out.extend_from_slice(b",\"enabled\":true,\"variant\":{\"name\":");
        serde_json::to_writer(&mut out, evaluation.variant.name)?;
        out.extend_from_slice(flag(
            evaluation.variant.enabled,
            b",\"enabled\":true",
            b",\"enabled\":false",
        ));
        if let Some(payload) = evaluation.variant.payload {
            out.extend_from_slice(b",\"payload\":");
            serde_json::to_writer(&mut out, payload)?;
        }
        out.extend_from_slice(flag(
            evaluation.enabled,
            b",\"feature_enabled\":true,\"featureEnabled\":true}",
            b",\"feature_enabled\":false,\"featureEnabled\":false}",
        ));
        out.extend_from_slice(flag(
            evaluation.impression_data,
            b",\"impressionData\":true}",
            b",\"impressionData\":false}",
        ));
    }
    out.extend_from_slice(b"]}");
    // Concurrent requests each hold their body until it is written: none keeps spare capacity.
    out.shrink_to_fit();
    Ok(out)
}

/// Evaluates every flag the token may see and serialises those `keep` accepts: the whole list,
/// or (with `single`) just the first one.
fn evaluate(
    state: &AppState,
    auth: &FrontendAuth,
    mut context: Context,
    peer: SocketAddr,
    single: bool,
    keep: impl Fn(&Evaluation<'_>) -> bool,
) -> ApiResult<Option<Vec<u8>>> {
    // The token fixes the environment; the caller's address fills in remoteAddress.
    context.environment = Some(auth.token.environment.clone());
    if context.remote_address.is_none() {
        context.remote_address = Some(peer.ip().to_string());
    }
    let snapshot = state.core.snapshot.current();
    let engine = state.core.engines.get(&snapshot, &auth.token.environment);
    let mut toggles = engine
        .evaluations(&context, chrono::Utc::now())
        .filter(|e| e.project.is_some_and(|p| auth.token.allows_project(p)))
        .filter(|e| keep(e));
    let body = if single {
        match toggles.next() {
            Some(evaluation) => serde_json::to_vec(&Toggle::from(&evaluation)),
            None => return Ok(None),
        }
    } else {
        // About 150 bytes per flag that is on, and often half are; more grows the buffer as needed.
        write_toggles(toggles, 80 * engine.len())
    };
    body.map(Some).map_err(|e| ApiError::Internal(e.into()))
}

fn no_cache(body: Vec<u8>) -> Response {
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
    let context = context_from_pairs(pairs)?;
    let body = evaluate(&state, &auth, context, peer, false, |e| e.enabled)?.unwrap_or_default();
    Ok(no_cache(body))
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
    let body = evaluate(&state, &auth, context, peer, false, |e| e.enabled)?.unwrap_or_default();
    Ok(no_cache(body))
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
    let toggle = evaluate(&state, &auth, context, peer, true, |e| {
        e.enabled && e.name == name
    })?
    .ok_or_else(|| ApiError::not_found(format!("Could not find feature flag with name {name}")))?;
    Ok(no_cache(toggle))
}

#[utoipa::path(
    post,
    path = "/client/metrics",
    tag = "Frontend API",
    summary = "A browser SDK reports evaluation counts",
    request_body = crate::domain::metrics::ClientMetrics,
    responses(
        (status = 204, description = "Accepted"),
    )
)]
pub async fn metrics(
    auth: FrontendAuth,
    State(state): State<AppState>,
    ApiJson(metrics): ApiJson<ClientMetrics>,
) -> ApiResult<StatusCode> {
    state
        .core
        .metrics
        .record_metrics(&auth.token.environment, metrics)?;
    Ok(StatusCode::NO_CONTENT)
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
        let written = write_toggles(evaluations.iter().copied(), 16).unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        assert_eq!(
            write_toggles(std::iter::empty(), 16).unwrap(),
            br#"{"toggles":[]}"#
        );
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
