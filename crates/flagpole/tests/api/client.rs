use std::io::Read;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{feature_names as names, Backend, TestApp};

async fn client_get(
    app: &TestApp,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app.http.get(app.url(path)).header("Authorization", token);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

/// Projects, environments, segments and flags that the client tests share.
async fn seed(app: &TestApp) -> i64 {
    app.post(
        "/api/admin/projects",
        json!({"id": "mobile", "name": "Mobile"}),
    )
    .await;
    let segment = app
        .post(
            "/api/admin/segments",
            json!({"name": "beta", "constraints": [
            {"contextName": "userId", "operator": "IN", "values": ["1", "2"]}]}),
        )
        .await;
    let segment_id = segment["id"].as_i64().unwrap();
    app.create_flag("web-checkout").await;
    app.post(
        "/api/admin/projects/default/features/web-checkout/environments/development/strategies",
        json!({"name": "flexibleRollout", "parameters": {"rollout": "50"}, "segments": [segment_id],
               "constraints": [{"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"]}]}),
    )
    .await;
    app.post(
        "/api/admin/projects/default/features/web-checkout/environments/development/strategies",
        json!({"name": "default", "disabled": true}),
    )
    .await;
    app.admin(
        Method::POST,
        "/api/admin/projects/default/features/web-checkout/environments/development/on",
        None,
    )
    .await;
    app.create_flag("web-banner").await;
    app.post(
        "/api/admin/projects/mobile/features",
        json!({"name": "mobile-dark-mode"}),
    )
    .await;
    app.admin(
        Method::POST,
        "/api/admin/projects/mobile/features/mobile-dark-mode/environments/production/on",
        None,
    )
    .await;
    app.post("/api/admin/tag-types", json!({"name": "team"}))
        .await;
    app.post(
        "/api/admin/features/web-banner/tags",
        json!({"type": "team", "value": "growth"}),
    )
    .await;
    segment_id
}

pub async fn client_api_serves_the_token_scope(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let segment_id = seed(&app).await;
    let dev_default = app
        .create_token(json!({"tokenName": "web", "type": "client", "environment": "development", "projects": ["default"]}))
        .await;
    let prod_all = app
        .create_token(json!({"tokenName": "all", "type": "backend", "environment": "production"}))
        .await;

    let response = client_get(
        &app,
        "/api/client/features",
        &dev_default,
        &[("Unleash-Client-Spec", "5.0.0")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=utf-8"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["version"], 2);
    assert_eq!(names(&body), vec!["web-banner", "web-checkout"]);
    assert_eq!(body["meta"]["etag"], etag.as_str());
    assert_eq!(body["query"]["environment"], "development");
    let checkout = &body["features"][1];
    assert_eq!(checkout["enabled"], true);
    assert_eq!(checkout["project"], "default");
    assert_eq!(checkout["type"], "release");
    // The disabled strategy is left out; the segment is referenced, and sent alongside.
    assert_eq!(checkout["strategies"].as_array().unwrap().len(), 1);
    let strategy = &checkout["strategies"][0];
    assert_eq!(
        strategy["parameters"],
        json!({"groupId": "web-checkout", "rollout": "50", "stickiness": "default"})
    );
    assert_eq!(strategy["segments"], json!([segment_id]));
    assert_eq!(strategy["constraints"].as_array().unwrap().len(), 1);
    // Only what SDKs use, as Unleash serves it: no id, title or order.
    let mut fields: Vec<&str> = strategy
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["constraints", "name", "parameters", "segments", "variants"]
    );
    assert_eq!(body["segments"][0]["id"], segment_id);
    assert_eq!(
        body["segments"][0]["constraints"][0]["values"],
        json!(["1", "2"])
    );

    // Without the spec header (old SDKs) segment constraints are inlined.
    let old: Value = client_get(&app, "/api/client/features", &dev_default, &[])
        .await
        .json()
        .await
        .unwrap();
    assert!(old.get("segments").is_none());
    let strategy = &old["features"][1]["strategies"][0];
    assert_eq!(strategy["constraints"].as_array().unwrap().len(), 2);
    assert!(strategy.get("segments").is_none());

    // The production token of all projects sees other states.
    let prod: Value = client_get(&app, "/api/client/features", &prod_all, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        names(&prod),
        vec!["mobile-dark-mode", "web-banner", "web-checkout"]
    );
    assert_eq!(prod["features"][0]["enabled"], true);
    assert_eq!(prod["features"][2]["enabled"], false);

    // Filters.
    let filtered: Value = client_get(
        &app,
        "/api/client/features?namePrefix=web-b",
        &prod_all,
        &[],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(names(&filtered), vec!["web-banner"]);
    let tagged: Value = client_get(&app, "/api/client/features?tag=team:growth", &prod_all, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&tagged), vec!["web-banner"]);
    let project: Value = client_get(&app, "/api/client/features?project=mobile", &prod_all, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&project), vec!["mobile-dark-mode"]);
    // Nothing outside the token's projects, even when asked for.
    let response = client_get(
        &app,
        "/api/client/features?project=mobile",
        &dev_default,
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let text = response.text().await.unwrap();
    assert!(!text.contains("mobile-dark-mode"));
    let response = client_get(
        &app,
        "/api/client/features/mobile-dark-mode",
        &dev_default,
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let single: Value = client_get(&app, "/api/client/features/web-checkout", &dev_default, &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(single["name"], "web-checkout");
    assert_eq!(
        single["strategies"][0]["constraints"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

pub async fn client_api_caching_and_compression(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    seed(&app).await;
    let token = app
        .create_token(json!({"tokenName": "web", "type": "client", "environment": "development"}))
        .await;
    let first = client_get(&app, "/api/client/features", &token, &[]).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let plain = first.bytes().await.unwrap();

    let not_modified = client_get(
        &app,
        "/api/client/features",
        &token,
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.headers()["etag"], etag.as_str());

    let gzip = client_get(
        &app,
        "/api/client/features",
        &token,
        &[("Accept-Encoding", "gzip, deflate")],
    )
    .await;
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let compressed = gzip.bytes().await.unwrap();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.to_vec());
    let brotli = client_get(
        &app,
        "/api/client/features",
        &token,
        &[("Accept-Encoding", "br")],
    )
    .await;
    assert_eq!(brotli.headers()["content-encoding"], "br");
    let compressed = brotli.bytes().await.unwrap();
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap();
    assert_eq!(decoded, plain.to_vec());

    // A change in scope changes the ETag at once; a change in another environment does not.
    app.admin(
        Method::POST,
        "/api/admin/projects/default/features/web-banner/environments/production/on",
        None,
    )
    .await;
    let unchanged = client_get(
        &app,
        "/api/client/features",
        &token,
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    app.admin(
        Method::POST,
        "/api/admin/projects/default/features/web-banner/environments/development/on",
        None,
    )
    .await;
    let changed = client_get(
        &app,
        "/api/client/features",
        &token,
        &[("If-None-Match", &etag)],
    )
    .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    let body: Value = changed.json().await.unwrap();
    let banner = body["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "web-banner")
        .unwrap();
    assert_eq!(banner["enabled"], true);
}

pub async fn sdk_apis_check_token_kinds(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let frontend = app
        .create_token(json!({"tokenName": "f", "type": "frontend", "environment": "development"}))
        .await;
    let (status, body) = app
        .call(Method::GET, "/api/client/features", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"message": "This endpoint requires an API token. Please add an authorization header to your request with a valid token"})
    );
    let (status, _) = app
        .call(
            Method::GET,
            "/api/client/features",
            Some("default:development.nope"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for token in [frontend.as_str(), crate::helpers::ADMIN_TOKEN] {
        let (status, body) = app
            .call(Method::GET, "/api/client/features", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            body["message"],
            "invalid token: expected a different token type for this endpoint"
        );
        let (status, _) = app
            .call(
                Method::POST,
                "/api/client/metrics",
                Some(token),
                Some(json!({"appName": "x", "bucket": {"toggles": {}}})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

pub async fn metrics_and_registrations_reach_the_admin_api(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("Demo").await;
    let token = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "production"}))
        .await;
    let (status, _) = app
        .call(Method::POST, "/api/client/register", Some(&token), Some(json!({
            "appName": "checkout-service", "instanceId": "pod-1", "sdkVersion": "unleash-client-node:6.0.0",
            "strategies": ["default", "flexibleRollout"], "started": "2026-11-28T10:00:00Z", "interval": 15000
        })))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // Three minutes of buckets, the second sent twice (a retry after a lost response): the
    // retry is not counted again.
    let post = |minute: u32| {
        json!({
            "appName": "checkout-service", "instanceId": "pod-1",
            "bucket": {"start": format!("2026-11-28T10:0{minute}:00Z"), "stop": format!("2026-11-28T10:0{minute}:59Z"),
                       "toggles": {"Demo": {"yes": 5, "no": 2, "variants": {"blue": 3}}}}
        })
    };
    for minute in [0, 1, 1, 2] {
        let (status, _) = app
            .call(
                Method::POST,
                "/api/client/metrics",
                Some(&token),
                Some(post(minute)),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    // The same retry after the first copy was written to the database is not counted either.
    app.get("/api/admin/client-metrics/features/Demo").await;
    app.call(
        Method::POST,
        "/api/client/metrics",
        Some(&token),
        Some(post(0)),
    )
    .await;
    // Invalid posts are refused whole.
    let (status, _) = app
        .call(Method::POST, "/api/client/metrics", Some(&token), Some(json!({
            "appName": "checkout-service", "bucket": {"toggles": {"Demo": {"yes": 1}, "Other": {"yes": -4}}}})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/client/metrics",
            Some(&token),
            Some(json!({"appName": "", "bucket": {"toggles": {}}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A NUL could not be stored (PostgreSQL) and would hold up every report after it.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/client/metrics",
            Some(&token),
            Some(json!({"appName": "web\u{0}", "bucket": {"toggles": {"Demo": {"yes": 1}}}})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // As in Unleash, a report without a bucket is accepted and counts nothing.
    let (status, _) = app
        .call(
            Method::POST,
            "/api/client/metrics",
            Some(&token),
            Some(json!({"appName": "checkout-service"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let usage = app.get("/api/admin/client-metrics/features/Demo").await;
    assert_eq!(
        usage["lastHourUsage"],
        json!([{
        "environment": "production", "timestamp": usage["lastHourUsage"][0]["timestamp"], "yes": 15, "no": 6}])
    );
    assert_eq!(usage["seenApplications"], json!(["checkout-service"]));
    let raw = app
        .get("/api/admin/client-metrics/features/Demo/raw?hoursBack=24")
        .await;
    assert_eq!(raw["data"][0]["variants"], json!({"blue": 9}));
    let flag = app.get("/api/admin/projects/default/features/Demo").await;
    assert!(flag["environments"][1]["lastSeenAt"].is_string(), "{flag}");
    assert!(flag["environments"][0]["lastSeenAt"].is_null());
    // This hour's evaluations, per environment, as on Unleash's flag page.
    assert_eq!(
        (
            &flag["environments"][1]["yes"],
            &flag["environments"][1]["no"]
        ),
        (&json!(15), &json!(6))
    );
    assert_eq!(flag["environments"][0]["yes"], 0);
    let applications = app.get("/api/admin/metrics/applications").await;
    assert_eq!(applications["total"], 1);
    let application = &applications["applications"][0];
    assert_eq!(application["appName"], "checkout-service");
    assert_eq!(application["sdkVersion"], "unleash-client-node:6.0.0");
    assert_eq!(
        application["strategies"],
        json!(["default", "flexibleRollout"])
    );
    assert_eq!(application["instances"][0]["environment"], "production");
}

/// An SDK polls over one kept-alive connection, and the server remembers that connection's last
/// answer to make the next 304 cheap. That memory must never outlive what it depends on: a
/// change to the flags gives the new body, a different query its own answer, and a revoked
/// token a 401, on the very same connection.
pub async fn repeated_polls_on_one_connection_follow_changes(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("polled").await;
    let token = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "development"}))
        .await;
    // One connection at most, so that every poll below reuses it.
    let sdk = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .http1_only()
        .build()
        .unwrap();
    let poll = |etag: Option<String>, query: &'static str| {
        let mut request = sdk
            .get(app.url(&format!("/api/client/features{query}")))
            .header("Authorization", &token);
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        request.send()
    };
    let first = poll(None, "").await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    for _ in 0..3 {
        let again = poll(Some(etag.clone()), "").await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert!(again.headers().contains_key("x-request-id"));
    }

    // A filter that matches nothing is a different answer, not the remembered 304.
    let filtered = poll(Some(etag.clone()), "?namePrefix=nothing-")
        .await
        .unwrap();
    assert_eq!(filtered.status(), StatusCode::OK);
    let body: Value = filtered.json().await.unwrap();
    assert_eq!(body["features"], json!([]));

    app.create_flag("added").await;
    let changed = poll(Some(etag.clone()), "").await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let etag = changed.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = changed.json().await.unwrap();
    assert_eq!(names(&body).len(), 2, "{body}");
    let again = poll(Some(etag.clone()), "").await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/api-tokens/{token}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let revoked = poll(Some(etag), "").await.unwrap();
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);

    // The polls are counted like any other request.
    let metrics = app
        .http
        .get(app.url("/internal-backstage/prometheus"))
        .send()
        .await
        .unwrap();
    let text = metrics.text().await.unwrap();
    let not_modified = text
        .lines()
        .find(|line| {
            line.starts_with("flagpole_http_requests_total{")
                && line.contains("route=\"/api/client/features\"")
                && line.contains("status=\"304\"")
        })
        .unwrap_or_else(|| panic!("no 304 count in {text}"));
    assert!(not_modified.ends_with(" 4"), "{not_modified}");
}
