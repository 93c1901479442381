use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};

pub async fn missing_unknown_and_wrong_kind_of_token(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let path = "/api/admin/projects/default/features";
    let (status, body) = app.call(Method::GET, path, None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["name"], "AuthenticationRequired");
    let (status, body) = app
        .call(Method::GET, path, Some("*:*.not-a-real-token"), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["name"], "UnauthorizedError");

    let client = app
        .create_token(json!({"tokenName": "c", "type": "client", "environment": "development", "projects": ["default"]}))
        .await;
    let frontend = app
        .create_token(json!({"tokenName": "f", "type": "frontend", "environment": "development"}))
        .await;
    for token in [&client, &frontend] {
        let (status, body) = app.call(Method::GET, path, Some(token), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(
            body["message"],
            "invalid token: expected a different token type for this endpoint"
        );
        // Nor can they write.
        let before = app.event_count().await;
        let (status, _) = app
            .call(
                Method::POST,
                path,
                Some(token),
                Some(json!({"name": "sneaky"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(app.event_count().await, before);
        let (status, _) = app
            .call(
                Method::POST,
                "/api/admin/api-tokens",
                Some(token),
                Some(json!({"tokenName": "x", "type": "admin"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
}

pub async fn bearer_prefix_is_accepted(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    for header in [
        format!("Bearer {ADMIN_TOKEN}"),
        format!("bearer {ADMIN_TOKEN}"),
    ] {
        let (status, _) = app
            .call(Method::GET, "/api/admin/projects", Some(&header), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{header}");
    }
}

pub async fn revoked_and_expired_tokens_stop_at_once(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let token = app
        .create_token(json!({"tokenName": "short-lived", "type": "admin"}))
        .await;
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/api-tokens/{token}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Immediately: no cache window.
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let events = app
        .get("/api/admin/search/events?type=api-token-deleted")
        .await;
    assert_eq!(events["total"], 1);
    assert!(
        !events.to_string().contains(&token),
        "the secret must not be in the log"
    );

    // Expiry: set it to the near future, and the token stops working when it passes.
    let token = app
        .create_token(json!({"tokenName": "expiring", "type": "admin"}))
        .await;
    let soon = chrono::Utc::now() + chrono::Duration::milliseconds(400);
    let (status, _) = app
        .admin(
            Method::PUT,
            &format!("/api/admin/api-tokens/{token}"),
            Some(json!({"expiresAt": soon})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
