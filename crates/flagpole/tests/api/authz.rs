//! Authorization beyond roles: every operation of the OpenAPI document called with broken,
//! expired and revoked credentials and by a session that leaves out its CSRF token; and the SDK
//! surfaces (Client, delta, streaming, Frontend, OFREP) called with tokens of different project
//! and environment scopes, checking that nothing outside a token's scope appears in any body.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};
use crate::roles::{expectations, CLIENT, FRONTEND, OFREP, PUBLIC};
use crate::users::{create_user, sign_in};

/// Authorization values that name no token at all.
const MALFORMED: [&str; 6] = [
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "*:*.",
    "not a token at all",
    "default:development.0000000000000000000000000000000000000000000000000000000000000000",
];

/// Every operation as (method, template), from the OpenAPI document built from the router.
fn operations() -> Vec<(String, String)> {
    let document = serde_json::to_value(flagpole::api::openapi::document()).unwrap();
    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase(), template.clone()));
            }
        }
    }
    operations
}

fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "x" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Sends a dummy request (an empty JSON object as the body of writes) with the given headers.
async fn status_of(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    let method: Method = method.parse().unwrap();
    let mut request = app.http.request(method.clone(), app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if method != Method::GET && path != "/logout" {
        request = request.json(&json!({}));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    if path == "/api/client/streaming" && status.is_success() {
        return status.as_u16();
    }
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    crate::contract::check(method.as_str(), path, status.as_u16(), &body);
    if status.is_client_error() {
        assert!(
            body["message"].is_string()
                || body["error"].is_string()
                || body["errorCode"].is_string(),
            "{method} {path} {status}: no JSON error message in {text:?}"
        );
    }
    status.as_u16()
}

pub async fn bad_credentials_are_refused_on_every_operation(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let table = expectations();

    // The token of the right kind for each surface, in three states: expired, revoked, live.
    let kinds = [
        json!({"type": "admin"}),
        json!({"type": "client", "environment": "development"}),
        json!({"type": "frontend", "environment": "development"}),
    ];
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(1_500);
    let mut expired = Vec::new();
    let mut revoked = Vec::new();
    for (n, kind) in kinds.iter().enumerate() {
        let mut body = kind.clone();
        body["tokenName"] = json!(format!("expiring-{n}"));
        body["expiresAt"] = json!(soon);
        expired.push(app.create_token(body).await);
        let mut body = kind.clone();
        body["tokenName"] = json!(format!("revoked-{n}"));
        let secret = app.create_token(body).await;
        let (status, _) = app
            .admin(
                Method::DELETE,
                &format!("/api/admin/api-tokens/{secret}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        revoked.push(secret);
    }
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&expired[0]), None)
        .await;
    assert_eq!(status, StatusCode::OK, "not yet expired");

    create_user(&app, "adm", "Admin").await;
    let browser = sign_in(&app, "adm").await;

    let until = soon + chrono::Duration::milliseconds(200);
    let wait = (until - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait).await;

    let mut failures = Vec::new();
    let mut tried = 0;
    let mut operations = operations();
    operations.sort_by_key(|(_, template)| template == "/logout");
    for (method, template) in &operations {
        let row = table[format!("{method} {template}").as_str()];
        if row == PUBLIC {
            continue;
        }
        let path = concrete(template);
        let kind = if row == CLIENT || row == OFREP {
            1
        } else if row == FRONTEND {
            2
        } else {
            0
        };
        let mut expect = |caller: String, got: u16, want: u16| {
            tried += 1;
            if got != want {
                failures.push(format!(
                    "{method} {template} with {caller}: expected {want}, got {got}"
                ));
            }
        };
        for header in MALFORMED {
            let got = status_of(&app, method, &path, &[("Authorization", header)]).await;
            expect(format!("Authorization {header:?}"), got, 401);
        }
        let got = status_of(&app, method, &path, &[("Authorization", &expired[kind])]).await;
        expect("an expired token".into(), got, 401);
        let got = status_of(&app, method, &path, &[("Authorization", &revoked[kind])]).await;
        expect("a revoked token".into(), got, 401);

        // A session: Admin API writes need the CSRF token; SDK surfaces ignore cookies.
        let sdk = kind != 0;
        let write = method != "GET";
        let without = status_of(&app, method, &path, &[("Cookie", &browser.cookie)]).await;
        let wrong = status_of(
            &app,
            method,
            &path,
            &[
                ("Cookie", &browser.cookie),
                ("X-CSRF-Token", "0".repeat(64).as_str()),
            ],
        )
        .await;
        let with = status_of(
            &app,
            method,
            &path,
            &[("Cookie", &browser.cookie), ("X-CSRF-Token", &browser.csrf)],
        )
        .await;
        if sdk {
            expect("a session without CSRF token".into(), without, 401);
            expect("a session with a CSRF token".into(), with, 401);
        } else if write {
            expect("a session without CSRF token".into(), without, 403);
            expect("a session with a wrong CSRF token".into(), wrong, 403);
            tried += 1;
            if with == 401 || with == 403 {
                failures.push(format!(
                    "{method} {template} by an Admin session with its CSRF token: got {with}"
                ));
            }
        } else {
            tried += 1;
            if without == 401 || without == 403 {
                failures.push(format!(
                    "{method} {template} read by an Admin session: got {without}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "authorization mismatches:\n{}",
        failures.join("\n")
    );
    println!("authorization extras: {tried} requests checked");
    // Reads with the admin token still work: nothing above broke the server.
    assert_eq!(
        app.get("/api/admin/projects").await["projects"][0]["id"],
        "default"
    );
}

/// Names chosen so that none is a substring of another, to search bodies for them.
const FLAGS: [(&str, &str); 4] = [
    ("alpha", "flag-alpha-x"),
    ("beta", "flag-beta-x"),
    ("default", "flag-gamma-x"),
    ("alpha", "flag-delta-x"),
];
const ENVIRONMENTS: [&str; 2] = ["development", "production"];

/// A marker only the given environment's configuration carries.
fn marker(environment: &str) -> String {
    format!("marker-of-{environment}-env")
}

async fn seed_scopes(app: &TestApp) {
    for project in ["alpha", "beta"] {
        app.post(
            "/api/admin/projects",
            json!({"id": project, "name": project}),
        )
        .await;
    }
    for (project, flag) in FLAGS {
        app.post(
            &format!("/api/admin/projects/{project}/features"),
            json!({"name": flag}),
        )
        .await;
        for environment in ENVIRONMENTS {
            let base =
                format!("/api/admin/projects/{project}/features/{flag}/environments/{environment}");
            app.post(
                &format!("{base}/strategies"),
                json!({"name": "default", "constraints": [
                    {"contextName": "appName", "operator": "NOT_IN", "values": [marker(environment)]}]}),
            )
            .await;
            let (status, body) = app
                .admin(
                    Method::PUT,
                    &format!("{base}/variants"),
                    Some(
                        json!([{"name": "v", "weight": 1000, "weightType": "variable",
                        "stickiness": "default",
                        "payload": {"type": "string", "value": marker(environment)}}]),
                    ),
                )
                .await;
            assert!(status.is_success(), "{body}");
            let (status, body) = app.admin(Method::POST, &format!("{base}/on"), None).await;
            assert!(status.is_success(), "{body}");
        }
    }
}

/// Reads the first server-sent event of a stream (or whatever came within two seconds).
async fn first_event(response: reqwest::Response) -> String {
    use futures_util::StreamExt;
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains("\n\n") && text.contains("data:") {
                break;
            }
        }
    })
    .await;
    text
}

pub async fn sdk_bodies_hold_only_the_tokens_scope(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    seed_scopes(&app).await;

    // (kind, projects, environment)
    let scopes: [(&str, Vec<&str>, &str); 7] = [
        ("client", vec!["alpha"], "development"),
        ("client", vec!["beta"], "production"),
        ("client", vec!["alpha", "default"], "production"),
        ("client", vec!["*"], "development"),
        ("frontend", vec!["alpha"], "production"),
        ("frontend", vec!["beta", "default"], "development"),
        ("frontend", vec!["*"], "production"),
    ];
    let mut checked = 0;
    for (n, (kind, projects, environment)) in scopes.iter().enumerate() {
        let secret = app
            .create_token(json!({"tokenName": format!("scope-{n}"), "type": kind,
                "environment": environment, "projects": projects}))
            .await;
        let in_scope = |project: &str| projects.contains(&"*") || projects.contains(&project);
        let visible: Vec<&str> = FLAGS
            .iter()
            .filter(|(p, _)| in_scope(p))
            .map(|(_, f)| *f)
            .collect();
        let hidden: Vec<&str> = FLAGS
            .iter()
            .filter(|(p, _)| !in_scope(p))
            .map(|(_, f)| *f)
            .collect();
        let other_environment = ENVIRONMENTS.iter().find(|e| *e != environment).unwrap();

        // Every SDK read this kind of token may make, each with the flags it should list.
        let mut reads: Vec<(Method, String, Option<Value>, bool)> = Vec::new();
        let context = json!({"context": {"userId": "7", "appName": "app"}});
        if *kind == "client" {
            reads.push((Method::GET, "/api/client/features".into(), None, true));
            reads.push((Method::GET, "/api/client/delta".into(), None, true));
            reads.push((Method::GET, "/api/client/streaming".into(), None, true));
        } else {
            reads.push((Method::GET, "/api/frontend?userId=7".into(), None, true));
            reads.push((
                Method::POST,
                "/api/frontend".into(),
                Some(context.clone()),
                true,
            ));
        }
        reads.push((
            Method::POST,
            "/ofrep/v1/evaluate/flags".into(),
            Some(json!({"context": {"targetingKey": "7"}})),
            true,
        ));
        // Single-flag reads of every flag, in scope or not.
        for (_, flag) in FLAGS {
            if *kind == "client" {
                reads.push((
                    Method::GET,
                    format!("/api/client/features/{flag}"),
                    None,
                    false,
                ));
            } else {
                reads.push((
                    Method::GET,
                    format!("/api/frontend/features/{flag}"),
                    None,
                    false,
                ));
            }
            reads.push((
                Method::POST,
                format!("/ofrep/v1/evaluate/flags/{flag}"),
                Some(json!({"context": {"targetingKey": "7"}})),
                false,
            ));
        }

        for (method, path, body, lists_all) in reads {
            let mut request = app
                .http
                .request(method.clone(), app.url(&path))
                .header("Authorization", &secret);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            let text = if path == "/api/client/streaming" {
                assert_eq!(status, StatusCode::OK);
                first_event(response).await
            } else {
                response.text().await.unwrap()
            };
            checked += 1;
            let what = format!("{kind} token {projects:?}/{environment}: {method} {path}");
            assert!(!status.is_server_error(), "{what}: {status} {text}");
            // A single-flag read may echo the key it was asked for, and nothing else.
            for flag in hidden.iter().filter(|f| !path.ends_with(**f)) {
                assert!(!text.contains(flag), "{what} shows {flag}: {text}");
            }
            assert!(
                !text.contains(&marker(other_environment)),
                "{what} shows {other_environment}'s configuration: {text}"
            );
            if lists_all {
                assert!(status.is_success(), "{what}: {status} {text}");
                for flag in &visible {
                    assert!(text.contains(flag), "{what} lacks {flag}: {text}");
                }
            } else if let Some(flag) = hidden.iter().find(|f| path.ends_with(*f)) {
                // Asking by name for a flag outside the scope is not found, and says nothing
                // about it.
                assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {flag}: {text}");
                assert!(
                    !text.contains(&marker(environment)),
                    "{what}: {flag}: {text}"
                );
            } else {
                assert!(status.is_success(), "{what}: {status} {text}");
            }
        }
    }
    println!("token scopes: {checked} SDK responses checked for flags outside their scope");
    // The admin token still sees everything.
    let (status, _) = app
        .call(Method::GET, "/api/admin/features", Some(ADMIN_TOKEN), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}
