use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};

pub async fn bad_input_is_refused_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("Demo").await;
    let before = app.event_count().await;
    let create = "/api/admin/projects/default/features";

    let (status, body) = app
        .admin(
            Method::POST,
            create,
            Some(json!({"name": "bad name with spaces!"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["name"], "BadDataError");
    assert!(body["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("URL friendly"));
    assert!(body["id"].is_string());

    let (status, body) = app
        .admin(
            Method::POST,
            create,
            Some(json!({"description": "no name"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, body) = app
        .admin(Method::POST, create, Some(json!({"name": "Demo"})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["name"], "NameExistsError");
    assert_eq!(body["message"], "A flag with that name already exists");

    let (status, _) = app
        .admin(
            Method::POST,
            create,
            Some(json!({"name": "typed", "type": "nonsense"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Malformed JSON, and JSON without a JSON content type.
    let response = app
        .http
        .post(app.url(create))
        .header("Authorization", ADMIN_TOKEN)
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = app
        .http
        .post(app.url(create))
        .header("Authorization", ADMIN_TOKEN)
        .body("{\"name\": \"plain\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["name"], "ContentTypeError");

    // Invalid strategies: unknown operator, bad rollout, bad semver, bad CIDR, unknown segment.
    let strategies =
        "/api/admin/projects/default/features/Demo/environments/development/strategies";
    let invalid = [
        json!({"name": "flexibleRollout", "constraints": [{"contextName": "userId", "operator": "NOT_AN_OPERATOR", "values": ["1"]}]}),
        json!({"name": "flexibleRollout", "parameters": {"rollout": "150"}}),
        json!({"name": "default", "constraints": [{"contextName": "v", "operator": "SEMVER_GT", "value": "one"}]}),
        json!({"name": "default", "constraints": [{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/99"]}]}),
        json!({"name": "default", "constraints": [{"contextName": "n", "operator": "NUM_GT", "value": "many"}]}),
        json!({"name": "default", "constraints": [{"contextName": "d", "operator": "DATE_AFTER", "value": "tomorrow"}]}),
        json!({"name": "default", "constraints": [{"contextName": "email", "operator": "REGEX", "value": "(unclosed"}]}),
        json!({"name": "default", "segments": [999]}),
        json!({"name": ""}),
    ];
    for body in invalid {
        let (status, response) = app
            .admin(Method::POST, strategies, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {response}");
    }
    let (status, body) = app
        .admin(Method::POST, strategies, Some(json!({"name": "flexibleRollout", "constraints": [{"contextName": "userId", "operator": "NOT_AN_OPERATOR", "values": ["1"]}]})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("NOT_AN_OPERATOR"));

    // Nothing above changed anything.
    assert_eq!(app.event_count().await, before);
    let flags = app.get("/api/admin/projects/default/features").await;
    assert_eq!(flags["features"].as_array().unwrap().len(), 1);
    assert_eq!(app.get(strategies).await, json!([]));
}

pub async fn unknown_things_are_404(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("Demo").await;
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/admin/projects/default/features/does-not-exist/environments/development/on",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["message"],
        "There's no feature named \"does-not-exist\" in project \"default\"."
    );
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/admin/projects/default/features/Demo/environments/nope/on",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["message"],
        "Could not find environment nope for feature: Demo"
    );
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/admin/projects/nope/features",
            Some(json!({"name": "x-in-nope"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["message"],
        "Active project with id nope does not exist"
    );
    let (status, body) = app.admin(Method::GET, "/api/admin/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["name"], "NotFoundError");
    let (status, _) = app
        .admin(Method::POST, "/api/admin/features/ghost/toggle/on", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.admin(Method::GET, "/api/admin/segments/42", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/segments/not-a-number", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

pub async fn limits_give_413_and_400(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("Demo").await;
    let before = app.event_count().await;
    // The test server accepts 64 KiB bodies.
    // Just over the limit, so that the whole body sits in the socket buffers and the early 413
    // cannot race with a half-sent request.
    let huge: Vec<String> = (0..7_000).map(|n| format!("user-{n:05}")).collect();
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/admin/projects/default/features/Demo/environments/development/strategies",
            Some(json!({"name": "default", "constraints": [{"contextName": "userId", "operator": "IN", "values": huge}]})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let long_name = "x".repeat(101);
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/projects/default/features",
            Some(json!({"name": long_name})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/search/events?limit=100000", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.event_count().await, before);
}
