//! The OpenFeature Remote Evaluation Protocol (OFREP): `POST /ofrep/v1/evaluate/flags/{key}` and
//! `POST /ofrep/v1/evaluate/flags`, for OpenFeature SDKs with an OFREP provider. Flags are
//! evaluated like the Frontend API does it: with the engine compiled once per snapshot and
//! environment, for the token's environment and projects, never touching the database.
//!
//! How an Unleash flag becomes an OpenFeature value (see `resolve`):
//! - off for this context: `value` false, `variant` "off", reason `DISABLED` when the flag is
//!   switched off in the environment, `DEFAULT` when it is on there but no strategy (or a parent
//!   dependency) let this context in;
//! - on, without a variant: `value` true, `variant` "on", reason `TARGETING_MATCH`;
//! - on, with a variant: `variant` is its name, reason `SPLIT`, and `value` is its payload
//!   (`json` as JSON, `number` as a number, `string` and `csv` as a string) or true when it has
//!   none. A payload that cannot be read as its type is a `PARSE_ERROR` for that flag.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use flagpole_eval::wire::Payload;
use flagpole_eval::{Context, Evaluation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::frontend::{MAX_CONTEXT_PROPERTIES, MAX_CONTEXT_VALUE_LENGTH};
use crate::app::AppState;
use crate::auth::OfrepAuth;
use crate::domain::model::Feature;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(evaluate_flags))
        .routes(routes!(evaluate_flag))
}

/// The body of both endpoints: `{"context": {"targetingKey": "…", …}}`. Every part is optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct EvaluationRequest {
    #[serde(default)]
    pub context: Option<Value>,
}

/// Why a flag has its value, in OpenFeature's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// On for this context, without a variant.
    TargetingMatch,
    /// On for this context, and a variant was picked.
    Split,
    /// Switched on in the environment, but not for this context.
    Default,
    /// Switched off in the environment.
    Disabled,
}

/// OpenFeature error codes that Flagpole answers with. (`TARGETING_KEY_MISSING` is never one:
/// Unleash evaluates contexts without a user id.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    FlagNotFound,
    ParseError,
    InvalidContext,
    General,
}

/// Facts about the flag shown alongside its value. OpenFeature metadata holds only booleans,
/// strings and numbers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlagMetadata {
    /// The Unleash project of the flag.
    pub project: String,
    /// The flag type (`release`, `experiment`, `operational`, …).
    pub flag_type: String,
    /// Unleash's `isEnabled` for this context.
    pub enabled: bool,
    pub impression_data: bool,
    /// The payload type the value came from, when it came from a variant's payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_type: Option<String>,
}

/// A successful evaluation of one flag.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EvaluationSuccess {
    pub key: String,
    pub reason: Reason,
    pub variant: String,
    pub value: Value,
    pub metadata: FlagMetadata,
}

/// A failed evaluation of one flag (`404` `FLAG_NOT_FOUND`, `400` otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationFailure {
    pub key: String,
    pub error_code: ErrorCode,
    pub error_details: String,
}

/// One entry of a bulk answer.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum BulkFlag {
    Success(EvaluationSuccess),
    Failure(EvaluationFailure),
}

/// The bulk answer: every flag the token may see.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BulkEvaluationSuccess {
    pub flags: Vec<BulkFlag>,
}

/// A request-wide failure (`400` for a bad body or context, `413` for a body too large).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestFailure {
    pub error_code: ErrorCode,
    pub error_details: String,
}

impl RequestFailure {
    fn new(error_code: ErrorCode, error_details: impl Into<String>) -> Self {
        RequestFailure {
            error_code,
            error_details: error_details.into(),
        }
    }

    fn for_flag(self, key: &str) -> EvaluationFailure {
        EvaluationFailure {
            key: key.to_owned(),
            error_code: self.error_code,
            error_details: self.error_details,
        }
    }
}

/// Reads the body: nothing or `{}` is an empty context. Malformed JSON is `PARSE_ERROR`; a
/// context Unleash cannot use is `INVALID_CONTEXT`.
pub fn parse_request(body: &[u8]) -> Result<Context, RequestFailure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Context::default());
    }
    let request: EvaluationRequest = serde_json::from_slice(body).map_err(|error| {
        RequestFailure::new(
            ErrorCode::ParseError,
            format!("the body is not an OFREP evaluation request: {error}"),
        )
    })?;
    unleash_context(request.context)
        .map_err(|details| RequestFailure::new(ErrorCode::InvalidContext, details))
}

/// Maps an OpenFeature evaluation context to the Unleash context: `targetingKey` is the
/// `userId` (`userId` itself is read when there is no `targetingKey`); `sessionId`,
/// `remoteAddress`, `appName`, `environment` and `currentTime` (RFC 3339) are themselves;
/// `properties` (an object) and every other field become properties. Numbers and booleans are
/// read as their text, objects and arrays as JSON text; `null` is absent.
pub fn unleash_context(context: Option<Value>) -> Result<Context, String> {
    let fields = match context {
        None | Some(Value::Null) => return Ok(Context::default()),
        Some(Value::Object(fields)) => fields,
        Some(_) => return Err("the context must be a JSON object".into()),
    };
    let mut context = Context::default();
    let mut user_id = None;
    let mut properties = BTreeMap::new();
    for (name, value) in fields {
        if value.is_null() {
            continue;
        }
        match name.as_str() {
            "targetingKey" => context.user_id = Some(standard_text(&name, value)?),
            "userId" => user_id = Some(standard_text(&name, value)?),
            "sessionId" => context.session_id = Some(standard_text(&name, value)?),
            "remoteAddress" => context.remote_address = Some(standard_text(&name, value)?),
            "appName" => context.app_name = Some(standard_text(&name, value)?),
            "environment" => context.environment = Some(standard_text(&name, value)?),
            "currentTime" => {
                let text = standard_text(&name, value)?;
                let time = DateTime::parse_from_rfc3339(&text).map_err(|_| {
                    format!("currentTime must be an RFC 3339 timestamp, not \"{text}\"")
                })?;
                context.current_time = Some(time.with_timezone(&Utc));
            }
            "properties" => match value {
                Value::Object(nested) => {
                    for (name, value) in nested {
                        if !value.is_null() {
                            properties.insert(name, property_text(value));
                        }
                    }
                }
                _ => return Err("properties must be an object".into()),
            },
            _ => {
                properties.insert(name, property_text(value));
            }
        }
    }
    if context.user_id.as_deref().is_none_or(str::is_empty) {
        context.user_id = user_id;
    }
    if properties.len() > MAX_CONTEXT_PROPERTIES {
        return Err(format!(
            "a context may have at most {MAX_CONTEXT_PROPERTIES} properties"
        ));
    }
    let too_long = [
        &context.user_id,
        &context.session_id,
        &context.remote_address,
        &context.app_name,
        &context.environment,
    ]
    .into_iter()
    .flatten()
    .chain(properties.values())
    .any(|value| value.len() > MAX_CONTEXT_VALUE_LENGTH);
    if too_long {
        return Err(format!(
            "context values must be at most {MAX_CONTEXT_VALUE_LENGTH} bytes long"
        ));
    }
    context.properties = properties;
    Ok(context)
}

/// A standard field: a string, or a number or boolean read as its text.
fn standard_text(name: &str, value: Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        _ => Err(format!("{name} must be a string")),
    }
}

fn property_text(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// What the flag's document says beyond the evaluation, read from the same snapshot.
pub struct FlagFacts<'a> {
    /// Whether the flag is switched on in the environment evaluated.
    pub on_in_environment: bool,
    pub flag_type: &'a str,
}

impl<'a> FlagFacts<'a> {
    pub fn of(feature: Option<&'a Feature>, environment: &str) -> FlagFacts<'a> {
        FlagFacts {
            on_in_environment: feature
                .and_then(|f| f.environments.get(environment))
                .is_some_and(|e| e.enabled),
            flag_type: feature.map_or("release", |f| f.feature_type.as_str()),
        }
    }
}

/// Turns an Unleash evaluation into an OFREP answer (the mapping in the module documentation).
pub fn resolve(
    evaluation: &Evaluation<'_>,
    facts: &FlagFacts<'_>,
) -> Result<EvaluationSuccess, EvaluationFailure> {
    let mut payload_type = None;
    let (value, variant, reason) = if !evaluation.enabled {
        let reason = if facts.on_in_environment {
            Reason::Default
        } else {
            Reason::Disabled
        };
        (Value::Bool(false), "off", reason)
    } else if evaluation.variant.enabled {
        let value = match evaluation.variant.payload {
            Some(payload) => {
                payload_type = Some(payload.payload_type.clone());
                payload_value(payload).map_err(|details| EvaluationFailure {
                    key: evaluation.name.to_owned(),
                    error_code: ErrorCode::ParseError,
                    error_details: format!(
                        "the payload of variant {} {details}",
                        evaluation.variant.name
                    ),
                })?
            }
            None => Value::Bool(true),
        };
        (value, evaluation.variant.name, Reason::Split)
    } else {
        (Value::Bool(true), "on", Reason::TargetingMatch)
    };
    Ok(EvaluationSuccess {
        key: evaluation.name.to_owned(),
        reason,
        variant: variant.to_owned(),
        value,
        metadata: FlagMetadata {
            project: evaluation.project.unwrap_or_default().to_owned(),
            flag_type: facts.flag_type.to_owned(),
            enabled: evaluation.enabled,
            impression_data: evaluation.impression_data,
            payload_type,
        },
    })
}

/// A variant payload as a typed value: `json` parsed, `number` as a JSON number (an integer
/// when it is one), anything else (`string`, `csv`) as text.
pub fn payload_value(payload: &Payload) -> Result<Value, String> {
    match payload.payload_type.as_str() {
        "json" => serde_json::from_str(&payload.value).map_err(|_| "is not valid JSON".to_owned()),
        "number" => {
            let text = payload.value.trim();
            if let Ok(integer) = text.parse::<i64>() {
                return Ok(Value::from(integer));
            }
            text.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| "is not a number".to_owned())
        }
        _ => Ok(Value::String(payload.value.clone())),
    }
}

/// Evaluates the flag `only` names, or every flag, among those `auth` may see.
fn evaluate(
    state: &AppState,
    auth: &OfrepAuth,
    mut context: Context,
    only: Option<&str>,
) -> Vec<Result<EvaluationSuccess, EvaluationFailure>> {
    // The token fixes the environment, as on the Frontend API.
    let environment = auth.token.environment.as_str();
    context.environment = Some(environment.to_owned());
    let snapshot = state.core.snapshot.current();
    let engine = state.core.engines.get(&snapshot, environment);
    let now = Utc::now();
    let evaluations = match only {
        Some(key) => engine.evaluate(key, &context, now).into_iter().collect(),
        None => engine.evaluate_all(&context, now),
    };
    evaluations
        .iter()
        .filter(|e| e.project.is_some_and(|p| auth.token.allows_project(p)))
        .map(|e| {
            let feature = snapshot.features.get(e.name).map(|f| f.value.as_ref());
            resolve(e, &FlagFacts::of(feature, environment))
        })
        .collect()
}

/// Reads the body, turning a body over the size limit into 413.
fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Context, (StatusCode, RequestFailure)> {
    let bytes = body.map_err(|rejection| {
        let status = rejection.status();
        let failure = if status == StatusCode::PAYLOAD_TOO_LARGE {
            RequestFailure::new(ErrorCode::General, "the request body is too large")
        } else {
            RequestFailure::new(ErrorCode::ParseError, rejection.body_text())
        };
        (status, failure)
    })?;
    parse_request(&bytes).map_err(|failure| (StatusCode::BAD_REQUEST, failure))
}

#[utoipa::path(
    post,
    path = "/ofrep/v1/evaluate/flags/{key}",
    tag = "OpenFeature (OFREP)",
    summary = "Evaluate one flag for a context (OpenFeature Remote Evaluation Protocol)",
    params(("key" = String, Path, description = "Flag name")),
    request_body = EvaluationRequest,
    responses(
        (status = 200, description = "The flag's value for the context", body = EvaluationSuccess),
        (status = 400, description = "PARSE_ERROR or INVALID_CONTEXT", body = EvaluationFailure),
        (status = 401, description = "No token, or an unknown, expired or revoked one"),
        (status = 403, description = "A token that is not a client or frontend token"),
        (status = 404, description = "FLAG_NOT_FOUND: unknown, archived, or outside the token's projects", body = EvaluationFailure),
        (status = 413, description = "The body is larger than the configured limit", body = EvaluationFailure),
    )
)]
/// `POST /ofrep/v1/evaluate/flags/{key}`: one flag, or 404 `FLAG_NOT_FOUND` when it does not
/// exist, is archived, or is outside the token's projects.
pub async fn evaluate_flag(
    auth: OfrepAuth,
    State(state): State<AppState>,
    Path(key): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let context = match read_body(body) {
        Ok(context) => context,
        Err((status, failure)) => return (status, Json(failure.for_flag(&key))).into_response(),
    };
    match evaluate(&state, &auth, context, Some(&key)).pop() {
        Some(Ok(success)) => Json(success).into_response(),
        Some(Err(failure)) => (StatusCode::BAD_REQUEST, Json(failure)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(EvaluationFailure {
                error_details: format!("flag {key} was not found"),
                key,
                error_code: ErrorCode::FlagNotFound,
            }),
        )
            .into_response(),
    }
}

#[utoipa::path(
    post,
    path = "/ofrep/v1/evaluate/flags",
    tag = "OpenFeature (OFREP)",
    summary = "Evaluate every flag the token may see (OpenFeature Remote Evaluation Protocol)",
    request_body = EvaluationRequest,
    responses(
        (status = 200, description = "Every flag's value, with an ETag", body = BulkEvaluationSuccess),
        (status = 304, description = "Unchanged since the given ETag"),
        (status = 400, description = "PARSE_ERROR or INVALID_CONTEXT", body = RequestFailure),
        (status = 401, description = "No token, or an unknown, expired or revoked one"),
        (status = 403, description = "A token that is not a client or frontend token"),
        (status = 413, description = "The body is larger than the configured limit", body = RequestFailure),
        (status = 500, description = "GENERAL: the evaluation failed", body = RequestFailure),
    )
)]
/// `POST /ofrep/v1/evaluate/flags`: every flag the token may see. The `ETag` is a digest of the
/// answer, so `If-None-Match` gives 304 until something this context sees changes.
pub async fn evaluate_flags(
    auth: OfrepAuth,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let context = match read_body(body) {
        Ok(context) => context,
        Err((status, failure)) => return (status, Json(failure)).into_response(),
    };
    let flags = evaluate(&state, &auth, context, None)
        .into_iter()
        .map(|result| match result {
            Ok(success) => BulkFlag::Success(success),
            Err(failure) => BulkFlag::Failure(failure),
        })
        .collect();
    let body = match serde_json::to_vec(&BulkEvaluationSuccess { flags }) {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "cannot serialise an OFREP answer");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(RequestFailure::new(
                    ErrorCode::General,
                    "the evaluation failed",
                )),
            )
                .into_response();
        }
    };
    let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&body)[..12]));
    let etag_header = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    if etag_matches(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag_header),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// Whether `If-None-Match` lists `etag` (weak or strong) or `*`.
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|candidate| candidate.trim().trim_start_matches("W/"))
        .any(|candidate| candidate == etag || candidate == "*")
}

#[cfg(test)]
mod tests {
    use flagpole_eval::VariantRef;
    use serde_json::json;

    use super::*;

    fn evaluation<'a>(
        enabled: bool,
        variant: Option<(&'a str, Option<&'a Payload>)>,
    ) -> Evaluation<'a> {
        Evaluation {
            name: "checkout",
            project: Some("shop"),
            enabled,
            impression_data: false,
            variant: match variant {
                Some((name, payload)) => VariantRef {
                    name,
                    enabled: true,
                    payload,
                    feature_enabled: enabled,
                },
                None => VariantRef {
                    name: "disabled",
                    enabled: false,
                    payload: None,
                    feature_enabled: enabled,
                },
            },
        }
    }

    fn facts(on_in_environment: bool) -> FlagFacts<'static> {
        FlagFacts {
            on_in_environment,
            flag_type: "experiment",
        }
    }

    fn payload(payload_type: &str, value: &str) -> Payload {
        Payload {
            payload_type: payload_type.into(),
            value: value.into(),
        }
    }

    #[test]
    fn flags_without_variants_are_booleans() {
        let on = resolve(&evaluation(true, None), &facts(true)).unwrap();
        assert_eq!(
            (on.value, on.variant.as_str(), on.reason),
            (json!(true), "on", Reason::TargetingMatch)
        );
        assert_eq!(
            serde_json::to_value(&on.metadata).unwrap(),
            json!({"project": "shop", "flagType": "experiment", "enabled": true, "impressionData": false})
        );
        let not_for_you = resolve(&evaluation(false, None), &facts(true)).unwrap();
        assert_eq!(
            (not_for_you.value, not_for_you.variant.as_str()),
            (json!(false), "off")
        );
        assert_eq!(not_for_you.reason, Reason::Default);
        let switched_off = resolve(&evaluation(false, None), &facts(false)).unwrap();
        assert_eq!(switched_off.reason, Reason::Disabled);
        assert_eq!(switched_off.value, json!(false));
    }

    #[test]
    fn variant_payloads_are_typed_values() {
        let cases = [
            (payload("json", r#"{"a": [1, 2]}"#), json!({"a": [1, 2]})),
            (payload("number", "42"), json!(42)),
            (payload("number", " 2.5 "), json!(2.5)),
            (payload("string", "dark"), json!("dark")),
            (payload("csv", "a,b"), json!("a,b")),
        ];
        for (payload, expected) in cases {
            let result = resolve(
                &evaluation(true, Some(("blue", Some(&payload)))),
                &facts(true),
            )
            .unwrap();
            assert_eq!(result.value, expected);
            assert_eq!(result.variant, "blue");
            assert_eq!(result.reason, Reason::Split);
            assert_eq!(
                result.metadata.payload_type.as_deref(),
                Some(payload.payload_type.as_str())
            );
        }
        let bare = resolve(&evaluation(true, Some(("blue", None))), &facts(true)).unwrap();
        assert_eq!((bare.value, bare.variant.as_str()), (json!(true), "blue"));
        let broken = payload("number", "many");
        let failure = resolve(
            &evaluation(true, Some(("blue", Some(&broken)))),
            &facts(true),
        )
        .unwrap_err();
        assert_eq!(failure.error_code, ErrorCode::ParseError);
        assert_eq!(failure.key, "checkout");
    }

    #[test]
    fn openfeature_context_maps_to_unleash() {
        let context = unleash_context(Some(json!({
            "targetingKey": "user-1",
            "userId": "ignored",
            "sessionId": 17,
            "remoteAddress": "10.0.0.1",
            "appName": "shop",
            "currentTime": "2030-01-02T03:04:05Z",
            "email": "a@example.com",
            "beta": true,
            "tier": {"level": 2},
            "gone": null,
            "properties": {"region": "eu"},
        })))
        .unwrap();
        assert_eq!(context.user_id.as_deref(), Some("user-1"));
        assert_eq!(context.session_id.as_deref(), Some("17"));
        assert_eq!(context.remote_address.as_deref(), Some("10.0.0.1"));
        assert_eq!(context.app_name.as_deref(), Some("shop"));
        assert_eq!(
            context.current_time.map(|t| t.to_rfc3339()),
            Some("2030-01-02T03:04:05+00:00".to_owned())
        );
        let properties: Vec<(&str, &str)> = context
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            properties,
            vec![
                ("beta", "true"),
                ("email", "a@example.com"),
                ("region", "eu"),
                ("tier", r#"{"level":2}"#),
            ]
        );
        let by_user_id = unleash_context(Some(json!({"userId": "7"}))).unwrap();
        assert_eq!(by_user_id.user_id.as_deref(), Some("7"));
        assert_eq!(unleash_context(None).unwrap(), Context::default());
    }

    #[test]
    fn unusable_contexts_and_bodies_are_refused() {
        assert!(unleash_context(Some(json!([1]))).is_err());
        assert!(unleash_context(Some(json!({"targetingKey": {"id": 1}}))).is_err());
        assert!(unleash_context(Some(json!({"currentTime": "yesterday"}))).is_err());
        assert!(unleash_context(Some(json!({"properties": "x"}))).is_err());
        assert!(unleash_context(Some(json!({"targetingKey": "x".repeat(1_001)}))).is_err());
        let many: serde_json::Map<String, Value> = (0..=MAX_CONTEXT_PROPERTIES)
            .map(|n| (format!("p{n}"), json!("x")))
            .collect();
        assert!(unleash_context(Some(Value::Object(many))).is_err());

        assert_eq!(
            parse_request(b"{nope").unwrap_err().error_code,
            ErrorCode::ParseError
        );
        assert_eq!(
            parse_request(br#"{"context": 3}"#).unwrap_err().error_code,
            ErrorCode::InvalidContext
        );
        assert_eq!(parse_request(b"").unwrap(), Context::default());
        assert_eq!(parse_request(b"{}").unwrap(), Context::default());
    }
}
