use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

async fn seed(app: &TestApp) {
    app.post(
        "/api/admin/projects",
        json!({"id": "mobile", "name": "Mobile"}),
    )
    .await;
    let strategies = |flag: &str| {
        format!("/api/admin/projects/default/features/{flag}/environments/development/strategies")
    };
    let on = |flag: &str| {
        format!("/api/admin/projects/default/features/{flag}/environments/development/on")
    };
    app.create_flag("for-everyone").await;
    app.admin(Method::POST, &on("for-everyone"), None).await;
    app.create_flag("for-eu").await;
    app.post(
        &strategies("for-eu"),
        json!({"name": "default", "constraints": [
        {"contextName": "region", "operator": "IN", "values": ["eu"]}]}),
    )
    .await;
    app.admin(Method::POST, &on("for-eu"), None).await;
    app.create_flag("for-office").await;
    app.post(
        &strategies("for-office"),
        json!({"name": "remoteAddress", "parameters": {"IPs": "127.0.0.0/8"}}),
    )
    .await;
    app.admin(Method::POST, &on("for-office"), None).await;
    app.create_flag("with-variant").await;
    app.post(&strategies("with-variant"), json!({"name": "flexibleRollout", "parameters": {"rollout": "100"},
        "variants": [{"name": "dark", "weight": 1000, "payload": {"type": "string", "value": "dark"}}]})).await;
    app.admin(Method::POST, &on("with-variant"), None).await;
    app.create_flag("switched-off").await;
    app.post(
        "/api/admin/projects/mobile/features",
        json!({"name": "mobile-only"}),
    )
    .await;
    app.admin(
        Method::POST,
        "/api/admin/projects/mobile/features/mobile-only/environments/development/on",
        None,
    )
    .await;
}

/// Saves the Frontend API's allowed origins (one origin); the answer's status.
async fn set_origins(app: &TestApp, origin: &str) -> StatusCode {
    let body = json!({"frontendApiOrigins": [origin]});
    let (status, _) = app
        .admin(Method::POST, "/api/admin/ui-config/cors", Some(body))
        .await;
    status
}

fn names(body: &Value) -> Vec<&str> {
    body["toggles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

pub async fn frontend_api_evaluates_for_the_context(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    seed(&app).await;
    let token = app
        .create_token(json!({"tokenName": "web", "type": "frontend", "environment": "development", "projects": ["default"]}))
        .await;

    // No context: the caller's address (127.0.0.1 here) fills remoteAddress.
    let (status, body) = app
        .call(Method::GET, "/api/frontend", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&body),
        vec!["for-everyone", "for-office", "with-variant"]
    );
    let everyone = &body["toggles"][0];
    assert_eq!(everyone["enabled"], true);
    assert_eq!(everyone["impressionData"], false);
    assert_eq!(
        everyone["variant"],
        json!({"name": "disabled", "enabled": false, "feature_enabled": true, "featureEnabled": true})
    );
    assert_eq!(body["toggles"][2]["variant"]["name"], "dark");
    assert_eq!(
        body["toggles"][2]["variant"]["payload"],
        json!({"type": "string", "value": "dark"})
    );

    // Context in the query (both property styles) and in a POST body.
    let (_, body) = app
        .call(
            Method::GET,
            "/api/frontend?userId=1&properties%5Bregion%5D=eu",
            Some(&token),
            None,
        )
        .await;
    assert!(names(&body).contains(&"for-eu"));
    let (_, body) = app
        .call(Method::GET, "/api/frontend?region=eu", Some(&token), None)
        .await;
    assert!(names(&body).contains(&"for-eu"));
    let (status, body) = app
        .call(Method::POST, "/api/frontend", Some(&token),
            Some(json!({"context": {"userId": "1", "remoteAddress": "10.1.1.1", "properties": {"region": "eu"}}})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&body), vec!["for-eu", "for-everyone", "with-variant"]);

    // One flag; a disabled one looks like an unknown one.
    let (status, body) = app
        .call(
            Method::GET,
            "/api/frontend/features/with-variant",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["variant"]["name"], "dark");
    let (status, _) = app
        .call(
            Method::GET,
            "/api/frontend/features/switched-off",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Never a flag from another project, even an enabled one.
    let (_, body) = app
        .call(Method::GET, "/api/frontend", Some(&token), None)
        .await;
    assert!(!body.to_string().contains("mobile-only"));
    let (status, _) = app
        .call(
            Method::GET,
            "/api/frontend/features/mobile-only",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A production token sees production state: nothing is on there.
    let production = app
        .create_token(json!({"tokenName": "prod", "type": "frontend", "environment": "production"}))
        .await;
    let (_, body) = app
        .call(Method::GET, "/api/frontend", Some(&production), None)
        .await;
    assert_eq!(body["toggles"], json!([]));

    // A change is visible on the next request.
    app.admin(
        Method::POST,
        "/api/admin/projects/default/features/switched-off/environments/development/on",
        None,
    )
    .await;
    let (_, body) = app
        .call(Method::GET, "/api/frontend", Some(&token), None)
        .await;
    assert!(names(&body).contains(&"switched-off"));

    // Bad contexts are 400; wrong tokens 401/403.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/frontend",
            Some(&token),
            Some(json!({"context": "nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let client = app
        .create_token(json!({"tokenName": "c", "type": "client", "environment": "development"}))
        .await;
    let (status, _) = app
        .call(Method::GET, "/api/frontend", Some(&client), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call(Method::GET, "/api/client/features", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.call(Method::GET, "/api/frontend", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("requires an API token"));

    // Metrics from browsers count like the others.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/frontend/client/metrics",
            Some(&token),
            Some(json!({
            "appName": "web", "bucket": {"toggles": {"for-everyone": {"yes": 2, "no": 0}}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let usage = app
        .get("/api/admin/client-metrics/features/for-everyone")
        .await;
    assert_eq!(usage["lastHourUsage"][0]["yes"], 2);
}

/// `GET /api/frontend` is answered ahead of the router (the SDK fast path), `POST` by the
/// router: for the same context, token and origin they must answer alike, headers included.
pub async fn frontend_get_and_post_answer_alike(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    seed(&app).await;
    let status = set_origins(&app, "https://app.example.com").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let token = app
        .create_token(json!({"tokenName": "web", "type": "frontend", "environment": "development", "projects": ["default"]}))
        .await;
    // The headers that differ from one response to the next.
    let comparable = |response: &reqwest::Response| {
        let mut headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        headers.sort();
        headers
    };
    for origin in [
        None,
        Some("https://app.example.com"),
        Some("https://evil.example.com"),
    ] {
        let mut get = app
            .http
            .get(app.url("/api/frontend?userId=7&region=eu&properties%5Bplan%5D=pro"))
            .header("Authorization", &token)
            .header("X-Request-Id", "page-load-1");
        let mut post = app
            .http
            .post(app.url("/api/frontend"))
            .header("Authorization", &token)
            .json(
                &json!({"context": {"userId": "7", "properties": {"region": "eu", "plan": "pro"}}}),
            );
        if let Some(origin) = origin {
            get = get.header("Origin", origin);
            post = post.header("Origin", origin);
        }
        let (get, post) = (get.send().await.unwrap(), post.send().await.unwrap());
        assert_eq!(get.status(), StatusCode::OK);
        assert_eq!(post.status(), StatusCode::OK);
        assert_eq!(get.headers()["x-request-id"], "page-load-1");
        assert_eq!(comparable(&get), comparable(&post), "origin {origin:?}");
        let allowed = get.headers().get("access-control-allow-origin").cloned();
        assert_eq!(
            allowed.as_ref().map(|v| v.to_str().unwrap()),
            origin.filter(|o| o.starts_with("https://app")),
            "origin {origin:?}"
        );
        let (get, post) = (get.bytes().await.unwrap(), post.bytes().await.unwrap());
        assert_eq!(get, post, "origin {origin:?}");
        let body: Value = serde_json::from_slice(&get).unwrap();
        assert_eq!(
            names(&body),
            vec!["for-eu", "for-everyone", "for-office", "with-variant"]
        );
    }

    // What the fast path declines, the router answers: errors in the usual shape.
    let (status, body) = app
        .call(
            Method::GET,
            "/api/frontend",
            Some("default:development.wrong"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let client = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "development"}))
        .await;
    let (status, _) = app
        .call(Method::GET, "/api/frontend", Some(&client), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let long = format!("/api/frontend?userId={}", "x".repeat(1_001));
    let (status, body) = app.call(Method::GET, &long, Some(&token), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

pub async fn frontend_cors_follows_the_setting(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(Method::OPTIONS, app.url("/api/frontend"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let response = preflight("https://shop.example.com").await.unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );

    let status = set_origins(&app, "https://app.example.com").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/admin/ui-config").await["frontendApiOrigins"],
        json!(["https://app.example.com"])
    );
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());

    let status = set_origins(&app, "not an origin").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The first value is "created", as in Unleash; the refused one is not recorded.
    let events = app
        .get("/api/admin/search/events?type=IS_ANY_OF:setting-created,setting-updated")
        .await;
    assert_eq!(events["total"], 1);
}
