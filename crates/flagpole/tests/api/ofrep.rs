//! The OpenFeature Remote Evaluation Protocol endpoints: single and bulk evaluation, the mapping
//! of Unleash flags to OpenFeature values, errors, token scope and ETags.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};

const FLAGS: &str = "/ofrep/v1/evaluate/flags";

fn flag_path(key: &str) -> String {
    format!("{FLAGS}/{key}")
}

async fn add_strategy(app: &TestApp, project: &str, flag: &str, strategy: Value) {
    app.post(
        &format!(
            "/api/admin/projects/{project}/features/{flag}/environments/development/strategies"
        ),
        strategy,
    )
    .await;
}

async fn switch_on(app: &TestApp, project: &str, flag: &str) {
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/api/admin/projects/{project}/features/{flag}/environments/development/on"),
            None,
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
}

/// A variant with a payload, given to everyone by a 100% rollout.
fn variant_strategy(name: &str, payload_type: &str, value: &str) -> Value {
    json!({"name": "flexibleRollout", "parameters": {"rollout": "100"},
        "variants": [{"name": name, "weight": 1000, "stickiness": "default",
                      "payload": {"type": payload_type, "value": value}}]})
}

async fn seed(app: &TestApp) {
    app.post(
        "/api/admin/projects",
        json!({"id": "mobile", "name": "Mobile"}),
    )
    .await;
    app.create_flag("of-everyone").await;
    switch_on(app, "default", "of-everyone").await;
    app.create_flag("of-eu").await;
    add_strategy(
        app,
        "default",
        "of-eu",
        json!({"name": "default", "constraints": [
        {"contextName": "region", "operator": "IN", "values": ["eu"]}]}),
    )
    .await;
    switch_on(app, "default", "of-eu").await;
    app.create_flag("of-alice").await;
    add_strategy(
        app,
        "default",
        "of-alice",
        json!({"name": "userWithId", "parameters": {"userIds": "alice"}}),
    )
    .await;
    switch_on(app, "default", "of-alice").await;
    app.create_flag("of-off").await;
    for (flag, strategy) in [
        ("of-string", variant_strategy("dark", "string", "night")),
        (
            "of-json",
            variant_strategy("wide", "json", r#"{"columns": 3, "tags": ["a"]}"#),
        ),
        ("of-number", variant_strategy("fast", "number", "2.5")),
        ("of-broken", variant_strategy("odd", "number", "many")),
    ] {
        app.create_flag(flag).await;
        add_strategy(app, "default", flag, strategy).await;
        switch_on(app, "default", flag).await;
    }
    app.post(
        "/api/admin/projects/mobile/features",
        json!({"name": "mobile-only"}),
    )
    .await;
    switch_on(app, "mobile", "mobile-only").await;
}

/// A token of `kind` for the default project in `environment`.
async fn token(app: &TestApp, kind: &str, environment: &str) -> String {
    app.create_token(
        json!({"tokenName": format!("ofrep-{kind}-{environment}"), "type": kind,
        "environment": environment, "projects": ["default"]}),
    )
    .await
}

async fn evaluate(app: &TestApp, token: &str, key: &str, context: Value) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        &flag_path(key),
        Some(token),
        Some(json!({ "context": context })),
    )
    .await
}

pub async fn ofrep_evaluates_single_flags(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    seed(&app).await;
    let client = token(&app, "client", "development").await;

    // A flag without variants is a boolean.
    let (status, body) = evaluate(&app, &client, "of-everyone", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"key": "of-everyone", "reason": "TARGETING_MATCH", "variant": "on", "value": true,
            "metadata": {"project": "default", "flagType": "release", "enabled": true,
                         "impressionData": false}})
    );

    // Context: custom fields are properties, targetingKey is the user id.
    let (_, body) = evaluate(&app, &client, "of-eu", json!({"region": "eu"})).await;
    assert_eq!(
        (&body["value"], &body["reason"]),
        (&json!(true), &json!("TARGETING_MATCH"))
    );
    let (_, body) = evaluate(
        &app,
        &client,
        "of-eu",
        json!({"properties": {"region": "eu"}}),
    )
    .await;
    assert_eq!(body["value"], true);
    let (_, body) = evaluate(&app, &client, "of-eu", json!({"region": "us"})).await;
    assert_eq!(
        (&body["value"], &body["variant"], &body["reason"]),
        (&json!(false), &json!("off"), &json!("DEFAULT"))
    );
    assert_eq!(body["metadata"]["enabled"], false);
    let (_, body) = evaluate(&app, &client, "of-alice", json!({"targetingKey": "alice"})).await;
    assert_eq!(body["value"], true);
    let (_, body) = evaluate(&app, &client, "of-alice", json!({"targetingKey": "bob"})).await;
    assert_eq!(body["value"], false);

    // Switched off in the environment.
    let (status, body) = evaluate(&app, &client, "of-off", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&body["value"], &body["variant"], &body["reason"]),
        (&json!(false), &json!("off"), &json!("DISABLED"))
    );

    // Variant payloads are typed values.
    let (_, body) = evaluate(&app, &client, "of-string", json!({"targetingKey": "u1"})).await;
    assert_eq!(
        (&body["value"], &body["variant"], &body["reason"]),
        (&json!("night"), &json!("dark"), &json!("SPLIT"))
    );
    assert_eq!(body["metadata"]["payloadType"], "string");
    let (_, body) = evaluate(&app, &client, "of-json", json!({})).await;
    assert_eq!(body["value"], json!({"columns": 3, "tags": ["a"]}));
    assert_eq!(body["variant"], "wide");
    let (_, body) = evaluate(&app, &client, "of-number", json!({})).await;
    assert_eq!(body["value"], json!(2.5));

    // A payload that is not what its type says is a parse error of that flag.
    let (status, body) = evaluate(&app, &client, "of-broken", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["key"], "of-broken");
    assert_eq!(body["errorCode"], "PARSE_ERROR");
    assert!(body["errorDetails"].as_str().unwrap().contains("odd"));

    // Unknown, archived and out-of-scope flags are not found.
    let (status, body) = evaluate(&app, &client, "no-such-flag", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"key": "no-such-flag", "errorCode": "FLAG_NOT_FOUND",
               "errorDetails": "flag no-such-flag was not found"})
    );
    let (status, body) = evaluate(&app, &client, "mobile-only", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errorCode"], "FLAG_NOT_FOUND");
    let (status, _) = app
        .admin(
            Method::DELETE,
            "/api/admin/projects/default/features/of-everyone",
            None,
        )
        .await;
    assert!(status.is_success());
    let (status, _) = evaluate(&app, &client, "of-everyone", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Another environment has its own state: nothing is switched on in production.
    let production = token(&app, "client", "production").await;
    let (_, body) = evaluate(&app, &production, "of-eu", json!({"region": "eu"})).await;
    assert_eq!(
        (&body["value"], &body["reason"]),
        (&json!(false), &json!("DISABLED"))
    );
    // A context cannot pick another environment than the token's.
    let (_, body) = evaluate(
        &app,
        &production,
        "of-eu",
        json!({"region": "eu", "environment": "development"}),
    )
    .await;
    assert_eq!(body["value"], false);
}

fn keys(body: &Value) -> Vec<&str> {
    body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect()
}

async fn bulk(
    app: &TestApp,
    token: &str,
    context: Value,
    etag: Option<&str>,
) -> (StatusCode, Option<String>, Value) {
    let mut request = app
        .http
        .post(app.url(FLAGS))
        .header("Authorization", token)
        .json(&json!({ "context": context }));
    if let Some(etag) = etag {
        request = request.header("If-None-Match", etag);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let etag = response
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, etag, body)
}

pub async fn ofrep_bulk_evaluation_and_etags(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    seed(&app).await;
    let frontend = token(&app, "frontend", "development").await;

    let (status, etag, body) = bulk(&app, &frontend, json!({"targetingKey": "alice"}), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Every flag of the token's projects, on or off; never another project's.
    let mut names = keys(&body);
    names.sort_unstable();
    assert_eq!(
        names,
        vec![
            "of-alice",
            "of-broken",
            "of-eu",
            "of-everyone",
            "of-json",
            "of-number",
            "of-off",
            "of-string"
        ]
    );
    let flag = |key: &str| {
        body["flags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(flag("of-alice")["value"], true);
    assert_eq!(flag("of-off")["reason"], "DISABLED");
    assert_eq!(flag("of-json")["value"]["columns"], 3);
    // A flag that cannot be evaluated is a failure entry; the others still answer.
    assert_eq!(
        flag("of-broken"),
        json!({"key": "of-broken", "errorCode": "PARSE_ERROR",
               "errorDetails": "the payload of variant odd is not a number"})
    );

    // The same answer has the same ETag: 304 while nothing this context sees changes.
    let etag = etag.expect("an ETag");
    let (status, again, body) = bulk(
        &app,
        &frontend,
        json!({"targetingKey": "alice"}),
        Some(&etag),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert_eq!(again.as_deref(), Some(etag.as_str()));
    assert_eq!(body, Value::Null);
    // Another context has another answer.
    let (status, other, _) =
        bulk(&app, &frontend, json!({"targetingKey": "bob"}), Some(&etag)).await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(other.as_deref(), Some(etag.as_str()));
    // A change in another project does not touch this answer; one in scope does.
    app.admin(
        Method::POST,
        "/api/admin/projects/mobile/features/mobile-only/environments/development/off",
        None,
    )
    .await;
    let (status, _, _) = bulk(
        &app,
        &frontend,
        json!({"targetingKey": "alice"}),
        Some(&etag),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    switch_on(&app, "default", "of-off").await;
    let (status, changed, body) = bulk(
        &app,
        &frontend,
        json!({"targetingKey": "alice"}),
        Some(&etag),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(changed, Some(etag));
    assert!(body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["key"] == "of-off" && f["value"] == true));

    // A token for every project sees the other project too; a production token sees
    // production's state.
    let everything = app
        .create_token(json!({"tokenName": "all", "type": "client", "environment": "development", "projects": ["*"]}))
        .await;
    let (_, _, body) = bulk(&app, &everything, json!({}), None).await;
    assert!(keys(&body).contains(&"mobile-only"));
    let production = token(&app, "frontend", "production").await;
    let (_, _, body) = bulk(&app, &production, json!({}), None).await;
    assert!(body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["value"] == false && f["reason"] == "DISABLED"));
}

pub async fn ofrep_errors_and_authentication(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    seed(&app).await;
    let client = token(&app, "client", "development").await;
    let send = |path: String, headers: Vec<(&'static str, String)>, body: &'static str| {
        let mut request = app
            .http
            .post(app.url(&path))
            .header("Content-Type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = response.text().await.unwrap();
            (
                status,
                serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
            )
        }
    };
    let auth = || vec![("Authorization", client.clone())];

    // Bodies: malformed JSON is PARSE_ERROR, an unusable context INVALID_CONTEXT.
    let (status, body) = send(flag_path("of-everyone"), auth(), "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["key"], "of-everyone");
    assert_eq!(body["errorCode"], "PARSE_ERROR");
    assert!(body["errorDetails"].is_string());
    let (status, body) = send(FLAGS.into(), auth(), "{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorCode"], "PARSE_ERROR");
    assert!(body.get("key").is_none());
    for context in [
        r#"{"context": "alice"}"#,
        r#"{"context": {"targetingKey": {"id": 1}}}"#,
        r#"{"context": {"currentTime": "tomorrow"}}"#,
    ] {
        let (status, body) = send(flag_path("of-everyone"), auth(), context).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{context}");
        assert_eq!(body["errorCode"], "INVALID_CONTEXT", "{context}");
        let (status, body) = send(FLAGS.into(), auth(), context).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{context}");
        assert_eq!(body["errorCode"], "INVALID_CONTEXT", "{context}");
    }
    // No body at all is an empty context.
    let (status, body) = send(flag_path("of-everyone"), auth(), "").await;
    assert_eq!((status, &body["value"]), (StatusCode::OK, &json!(true)));

    // Tokens: none or unknown is 401, an admin token 403; client and frontend tokens work,
    // as `Authorization` (with or without `Bearer `) or `X-API-Key`.
    let (status, _) = send(flag_path("of-everyone"), vec![], "{}").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = send(FLAGS.into(), vec![], "{}").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let unknown = vec![("Authorization", "default:development.unknown".to_string())];
    let (status, _) = send(FLAGS.into(), unknown, "{}").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let admin = vec![("Authorization", ADMIN_TOKEN.to_string())];
    let (status, _) = send(flag_path("of-everyone"), admin, "{}").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let frontend = token(&app, "frontend", "development").await;
    for headers in [
        vec![("Authorization", format!("Bearer {client}"))],
        vec![("X-API-Key", client.clone())],
        vec![("Authorization", frontend.clone())],
        vec![("X-API-Key", frontend.clone())],
    ] {
        let (status, body) = send(flag_path("of-everyone"), headers.clone(), "{}").await;
        assert_eq!(
            (status, &body["value"]),
            (StatusCode::OK, &json!(true)),
            "{headers:?}"
        );
        let (status, _) = send(FLAGS.into(), headers.clone(), "{}").await;
        assert_eq!(status, StatusCode::OK, "{headers:?}");
    }
    // A revoked token stops at once.
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/api-tokens/{frontend}"),
            None,
        )
        .await;
    assert!(status.is_success());
    let (status, _) = send(FLAGS.into(), vec![("X-API-Key", frontend.clone())], "{}").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Browsers may call it (CORS), and read the ETag.
    let response = app
        .http
        .request(Method::OPTIONS, app.url(FLAGS))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "x-api-key, content-type")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    assert!(response
        .headers()
        .get("access-control-allow-headers")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("x-api-key"));
}
