//! Every documented limit (docs/security.md, "Limits"): at the limit a request is accepted, one
//! over it is refused with 400 (413 for the body size) and a message naming the limit, and the
//! refusal changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{serve_args, Backend, TestApp};

const STRATEGIES: &str =
    "/api/admin/projects/default/features/Demo/environments/development/strategies";
const VARIANTS: &str =
    "/api/admin/projects/default/features/Demo/environments/development/variants";

fn strategy_with(field: &str, value: Value) -> Value {
    let mut strategy = json!({"name": "default"});
    strategy[field] = value;
    strategy
}

fn constraint_with_values(count: usize, length: usize) -> Value {
    let values: Vec<String> = (0..count)
        .map(|n| format!("{n:0>width$}", width = length))
        .collect();
    json!([{"contextName": "userId", "operator": "IN", "values": values}])
}

fn variants(count: usize, payload: usize, overrides: usize) -> Value {
    Value::Array(
        (0..count)
            .map(|n| {
                json!({"name": format!("v{n}"), "weightType": "variable", "weight": 0,
                "payload": {"type": "string", "value": "p".repeat(payload)},
                "overrides": (0..overrides).map(|o| json!({"contextName": "userId", "values": [o.to_string()]})).collect::<Vec<_>>()})
            })
            .collect(),
    )
}

pub async fn every_documented_limit_is_enforced(backend: Backend) {
    let mut serve = serve_args();
    serve.max_body_bytes = 4 * 1024 * 1024;
    let app = TestApp::spawn_with(&backend, serve).await;
    app.create_flag("Demo").await;
    let frontend = app
        .create_token(json!({"tokenName": "f", "type": "frontend", "environment": "development"}))
        .await;

    let mut segments = Vec::new();
    for n in 0..101 {
        let segment = app
            .post(
                "/api/admin/segments",
                json!({"name": format!("s{n}"), "constraints": []}),
            )
            .await;
        segments.push(segment["id"].clone());
    }

    // (what, method, path, at the limit, over it, words the refusal must contain)
    let cases: Vec<(&str, Method, &str, Value, Value, &str)> = vec![
        (
            "flag name length",
            Method::POST,
            "/api/admin/projects/default/features",
            json!({"name": "n".repeat(100)}),
            json!({"name": "n".repeat(101)}),
            "100",
        ),
        (
            "description length",
            Method::POST,
            "/api/admin/projects/default/features",
            json!({"name": "d1", "description": "d".repeat(2_000)}),
            json!({"name": "d2", "description": "d".repeat(2_001)}),
            "2000",
        ),
        (
            "constraints per strategy",
            Method::POST,
            STRATEGIES,
            strategy_with(
                "constraints",
                Value::Array(vec![
                    json!({"contextName": "a", "operator": "IN", "values": ["1"]});
                    100
                ]),
            ),
            strategy_with(
                "constraints",
                Value::Array(vec![
                    json!({"contextName": "a", "operator": "IN", "values": ["1"]});
                    101
                ]),
            ),
            "100",
        ),
        (
            "values per constraint",
            Method::POST,
            STRATEGIES,
            strategy_with("constraints", constraint_with_values(10_000, 5)),
            strategy_with("constraints", constraint_with_values(10_001, 5)),
            "10000",
        ),
        (
            "constraint value length",
            Method::POST,
            STRATEGIES,
            strategy_with("constraints", constraint_with_values(1, 1_000)),
            strategy_with("constraints", constraint_with_values(1, 1_001)),
            "1000",
        ),
        (
            "parameters per strategy",
            Method::POST,
            STRATEGIES,
            strategy_with(
                "parameters",
                Value::Object((0..100).map(|n| (format!("p{n}"), json!("x"))).collect()),
            ),
            strategy_with(
                "parameters",
                Value::Object((0..101).map(|n| (format!("p{n}"), json!("x"))).collect()),
            ),
            "100",
        ),
        (
            "parameter value length",
            Method::POST,
            STRATEGIES,
            strategy_with("parameters", json!({"userIds": "1".repeat(100_000)})),
            strategy_with("parameters", json!({"userIds": "1".repeat(100_001)})),
            "100000",
        ),
        (
            "segments per strategy",
            Method::POST,
            STRATEGIES,
            strategy_with("segments", Value::Array(segments[..100].to_vec())),
            strategy_with("segments", Value::Array(segments.clone())),
            "100",
        ),
        (
            "variants per flag",
            Method::PUT,
            VARIANTS,
            variants(100, 1, 0),
            variants(101, 1, 0),
            "100",
        ),
        (
            "variant payload length",
            Method::PUT,
            VARIANTS,
            variants(1, 100_000, 0),
            variants(1, 100_001, 0),
            "100000",
        ),
        (
            "overrides per variant",
            Method::PUT,
            VARIANTS,
            variants(1, 1, 100),
            variants(1, 1, 101),
            "100",
        ),
        (
            "flags per bulk toggle",
            Method::POST,
            "/api/admin/projects/default/bulk_features/environments/development/on",
            json!({"features": ["Demo"]}),
            json!({"features": (0..1_001).map(|n| format!("f{n}")).collect::<Vec<_>>()}),
            "1000",
        ),
        (
            "context properties",
            Method::POST,
            "/api/frontend",
            json!({"context": {"properties": (0..100).map(|n| (format!("k{n}"), json!("v"))).collect::<serde_json::Map<_, _>>()}}),
            json!({"context": {"properties": (0..101).map(|n| (format!("k{n}"), json!("v"))).collect::<serde_json::Map<_, _>>()}}),
            "100",
        ),
        (
            "context value length",
            Method::POST,
            "/api/frontend",
            json!({"context": {"userId": "u".repeat(1_000)}}),
            json!({"context": {"userId": "u".repeat(1_001)}}),
            "1000",
        ),
    ];
    let mut checked = 0;
    for (what, method, path, at, over, words) in cases {
        let token = if path == "/api/frontend" {
            frontend.as_str()
        } else {
            crate::helpers::ADMIN_TOKEN
        };
        let (status, body) = app.call(method.clone(), path, Some(token), Some(at)).await;
        assert!(status.is_success(), "{what} at the limit: {status} {body}");
        let before = app.event_count().await;
        let (status, body) = app.call(method, path, Some(token), Some(over)).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{what} over the limit: {body}"
        );
        let message = body.to_string().replace([',', '_'], "");
        assert!(
            message.contains(words),
            "{what}: the message should name the limit: {body}"
        );
        assert_eq!(
            app.event_count().await,
            before,
            "{what}: the refusal changed something"
        );
        checked += 1;
    }

    // Strategies per flag and environment: 100 fit, the 101st is refused.
    let (status, _) = app
        .admin(Method::DELETE, &format!("{STRATEGIES}/x"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let existing = app.get(STRATEGIES).await.as_array().unwrap().len();
    for _ in existing..100 {
        app.post(STRATEGIES, json!({"name": "default"})).await;
    }
    let (status, body) = app
        .admin(Method::POST, STRATEGIES, Some(json!({"name": "default"})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.to_string().contains("100"), "{body}");

    // Event pages: at most 1,000.
    let (status, _) = app
        .admin(Method::GET, "/api/admin/search/events?limit=1000", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/search/events?limit=1001", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The body size: 413.
    let (status, _) = app
        .admin(
            Method::POST,
            STRATEGIES,
            Some(json!({"name": "default", "title": "t".repeat(4 * 1024 * 1024)})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    println!(
        "limits: {} limits checked at and over their bounds",
        checked + 3
    );
}
