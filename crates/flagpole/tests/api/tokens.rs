use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{serve_args, Backend, TestApp};

fn is_hex(text: &str, length: usize) -> bool {
    text.len() == length && text.chars().all(|c| c.is_ascii_hexdigit())
}

pub async fn tokens_have_unleash_format_and_are_shown_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (status, created) = app
        .admin(
            Method::POST,
            "/api/admin/api-tokens",
            Some(json!({"tokenName": "sample-client", "type": "client", "environment": "development", "projects": ["default"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap();
    let random = secret
        .strip_prefix("default:development.")
        .expect("scope prefix");
    assert!(is_hex(random, 56), "{secret}");
    assert_eq!(created["type"], "client");
    assert_eq!(created["project"], "default");

    let backend_token = app
        .create_token(json!({"tokenName": "b", "type": "backend", "environment": "production"}))
        .await;
    assert!(backend_token.starts_with("*:production."));
    app.post("/api/admin/projects", json!({"id": "web", "name": "Web"}))
        .await;
    let several = app
        .create_token(json!({"tokenName": "m", "type": "frontend", "environment": "production", "projects": ["default", "web"]}))
        .await;
    assert!(several.starts_with("[]:production."));
    let admin = app
        .create_token(json!({"tokenName": "a", "type": "admin"}))
        .await;
    assert!(admin.starts_with("*:*."));

    // Listing never shows a full secret again.
    let listed = app.get("/api/admin/api-tokens").await;
    let text = listed.to_string();
    for full in [secret, &backend_token, &several, &admin] {
        assert!(!text.contains(full), "listing leaked a secret");
    }
    let mine = app.get("/api/admin/api-tokens/sample-client").await;
    assert_eq!(mine["tokens"].as_array().unwrap().len(), 1);
    assert!(mine["tokens"][0]["secret"]
        .as_str()
        .unwrap()
        .starts_with("default:development."));
    assert_eq!(mine["tokens"][0]["projects"], json!(["default"]));
    let web = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tokenName"] == "m")
        .unwrap()
        .clone();
    assert_eq!(web["projects"], json!(["default", "web"]));
    assert_eq!(web["project"], "[]");

    // Deleting an unknown secret is not an error (as in Unleash) and records nothing.
    let before = app.event_count().await;
    let (status, _) = app
        .admin(
            Method::DELETE,
            "/api/admin/api-tokens/default:development.nope",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.event_count().await, before);
    let created_events = app
        .get("/api/admin/search/events?type=api-token-created")
        .await;
    assert!(!created_events.to_string().contains(secret));
}

pub async fn token_scopes_are_validated(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let before = app.event_count().await;
    let invalid = [
        (
            json!({"tokenName": "x", "type": "client", "environment": "nope"}),
            "Environment=nope does not exist",
        ),
        (
            json!({"tokenName": "x", "type": "client", "environment": "development", "projects": ["nope"]}),
            "Project=nope does not exist",
        ),
        (
            json!({"tokenName": "x", "type": "client", "environment": "*"}),
            "only admin tokens",
        ),
        (
            json!({"tokenName": "x", "type": "admin", "projects": ["default"]}),
            "admin tokens cover",
        ),
        (
            json!({"tokenName": "x", "type": "superuser"}),
            "must be admin, client",
        ),
        (json!({"type": "client"}), "tokenName"),
        (
            json!({"tokenName": "x", "type": "client", "expiresAt": "2001-01-01T00:00:00Z"}),
            "future",
        ),
    ];
    for (body, message) in invalid {
        let (status, response) = app
            .admin(Method::POST, "/api/admin/api-tokens", Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            response.to_string().contains(message),
            "{body} -> {response}"
        );
    }
    assert_eq!(app.event_count().await, before);
}

pub async fn start_up_tokens_are_idempotent(backend: Backend) {
    let mut serve = serve_args();
    serve.init_client_api_tokens = vec!["default:development.unleash-insecure-api-token".into()];
    serve.init_frontend_api_tokens =
        vec!["default:development.unleash-insecure-frontend-api-token".into()];
    let app = TestApp::spawn_with(&backend, serve.clone()).await;
    let count = |listed: &serde_json::Value| listed["tokens"].as_array().unwrap().len();
    assert_eq!(count(&app.get("/api/admin/api-tokens").await), 3);
    let app = app.restart(serve).await;
    assert_eq!(count(&app.get("/api/admin/api-tokens").await), 3);
    let (status, _) = app
        .call(
            Method::GET,
            "/api/admin/projects",
            Some("default:development.unleash-insecure-api-token"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a client token, recognised as such"
    );
    let created = app
        .get("/api/admin/search/events?type=api-token-created")
        .await;
    assert_eq!(created["total"], 3);
}
