use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{serve_args, Backend, TestApp};

fn enabled_by_environment(flag: &serde_json::Value) -> Vec<(String, bool)> {
    flag["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["enabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

pub async fn legacy_endpoints_act_on_every_environment(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (status, created) = app
        .admin(
            Method::POST,
            "/api/admin/features",
            Some(json!({
                "name": "old-school",
                "description": "made the v3 way",
                "enabled": true,
                "strategies": [{"name": "userWithId", "parameters": {"userIds": "1,2"}}]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["project"], "default");
    assert_eq!(created["strategies"][0]["name"], "userWithId");

    let flag = app
        .get("/api/admin/projects/default/features/old-school")
        .await;
    assert_eq!(
        enabled_by_environment(&flag),
        vec![("development".into(), true), ("production".into(), true)]
    );
    assert_eq!(
        flag["environments"][1]["strategies"][0]["parameters"]["userIds"],
        "1,2"
    );

    let legacy = app.get("/api/admin/features/old-school").await;
    assert_eq!(legacy["enabled"], true);
    let listed = app.get("/api/admin/features").await;
    assert_eq!(listed["version"], 1);
    assert_eq!(listed["features"][0]["name"], "old-school");

    let (status, toggled) = app
        .admin(
            Method::POST,
            "/api/admin/features/old-school/toggle/off",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(toggled["enabled"], false);
    let (_, toggled) = app
        .admin(Method::POST, "/api/admin/features/old-school/toggle", None)
        .await;
    assert_eq!(toggled["enabled"], true);

    let (status, updated) = app
        .admin(
            Method::PUT,
            "/api/admin/features/old-school",
            Some(
                json!({"name": "old-school", "description": "updated", "enabled": false,
                        "strategies": [{"name": "default"}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["description"], "updated");
    assert_eq!(updated["enabled"], false);
    assert_eq!(
        updated["strategies"],
        json!([{"name": "default", "parameters": {}, "constraints": []}])
    );

    // Every legacy change is in the audit log.
    let events = app
        .get("/api/admin/search/events?feature=old-school&limit=100")
        .await;
    let count = |kind: &str| {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == kind)
            .count()
    };
    assert_eq!(count("feature-created"), 1);
    assert_eq!(count("feature-environment-enabled"), 4);
    assert_eq!(count("feature-environment-disabled"), 4);
    assert_eq!(count("feature-metadata-updated"), 1);

    // A legacy create whose strategy is invalid leaves nothing behind.
    let before = app.event_count().await;
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/features",
            Some(json!({"name": "half", "enabled": true,
            "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "abc"}}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/features/half", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.event_count().await, before);

    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/features/old-school", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/features/old-school", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

pub async fn legacy_environments_can_be_narrowed(backend: Backend) {
    let mut serve = serve_args();
    serve.legacy_api_environments = vec!["development".into()];
    let app = TestApp::spawn_with(&backend, serve).await;
    app.create_flag("Demo").await;
    let (status, _) = app
        .admin(Method::POST, "/api/admin/features/Demo/toggle/on", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let flag = app.get("/api/admin/projects/default/features/Demo").await;
    assert_eq!(
        enabled_by_environment(&flag),
        vec![("development".into(), true), ("production".into(), false)]
    );
    assert_eq!(app.get("/api/admin/features/Demo").await["enabled"], true);
}
