use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

pub async fn projects_and_environments(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let projects = app.get("/api/admin/projects").await;
    assert_eq!(projects["projects"][0]["id"], "default");
    let environments = app.get("/api/admin/environments").await;
    let names: Vec<&str> = environments["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["development", "production"]);

    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/projects",
            Some(json!({"id": "web", "name": "Web"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/projects",
            Some(json!({"id": "web", "name": "Again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = app
        .admin(
            Method::PUT,
            "/api/admin/projects/web",
            Some(json!({"name": "Website"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "Website");
    app.post(
        "/api/admin/projects/web/features",
        json!({"name": "web-flag"}),
    )
    .await;
    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/projects/web", None)
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a project with flags stays"
    );
    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/projects/default", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The flag lives in its project only.
    let (status, _) = app
        .admin(
            Method::GET,
            "/api/admin/projects/default/features/web-flag",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = app
        .admin(
            Method::POST,
            "/api/admin/environments",
            Some(json!({"name": "staging", "type": "test"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["sortOrder"], 4);
    // Existing flags gain the environment, off.
    let flag = app.get("/api/admin/projects/web/features/web-flag").await;
    assert_eq!(flag["environments"][2]["name"], "staging");
    assert_eq!(flag["environments"][2]["enabled"], false);
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/projects/web/features/web-flag/environments/staging/on",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(Method::POST, "/api/admin/environments/staging/off", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/admin/environments/staging").await["enabled"],
        false
    );
    let (status, body) = app
        .admin(
            Method::PUT,
            "/api/admin/environments/staging",
            Some(json!({"type": "preprod", "sortOrder": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let environments = app.get("/api/admin/environments").await;
    assert_eq!(environments["environments"][0]["name"], "staging");
    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/environments/staging", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/environments/staging", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A new environment of the same name starts empty: the flag was on in the old one.
    app.post(
        "/api/admin/environments",
        json!({"name": "staging", "type": "test"}),
    )
    .await;
    let flag = app.get("/api/admin/projects/web/features/web-flag").await;
    let staging = flag["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "staging")
        .unwrap()
        .clone();
    assert_eq!(staging["enabled"], false);
    assert_eq!(staging["strategies"], json!([]));
    let events = app.get("/api/admin/search/events?type=IS_ANY_OF:environment-created,environment-updated,environment-deleted").await;
    // Two seeded, one created, one disabled, one updated, one deleted, one created again.
    assert_eq!(events["total"], 7);
}

pub async fn tags_and_tag_types(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("tagged").await;
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/features/tagged/tags",
            Some(json!({"type": "team", "value": "payments"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the tag type must exist first"
    );
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/tag-types",
            Some(json!({"name": "team", "description": "owning team"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/tag-types/validate",
            Some(json!({"name": "team"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/features/tagged/tags",
            Some(json!({"type": "team", "value": "payments"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app
        .admin(
            Method::PUT,
            "/api/admin/features/tagged/tags",
            Some(json!({"addedTags": [{"type": "team", "value": "growth"}],
                        "removedTags": [{"type": "team", "value": "payments"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["tags"],
        json!([{"type": "team", "value": "growth", "color": null}])
    );
    assert_eq!(
        app.get("/api/admin/features/tagged/tags").await["tags"][0]["value"],
        "growth"
    );
    // As in Unleash, deleting a tag type in use takes its tags off every flag.
    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/tag-types/team", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get("/api/admin/features/tagged/tags").await["tags"],
        json!([])
    );
    let events = app.get("/api/admin/search/events?feature=tagged").await;
    let types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        // Newest first; an update adds before it removes, as in Unleash.
        vec![
            "feature-untagged",
            "feature-untagged",
            "feature-tagged",
            "feature-tagged",
            "feature-created"
        ]
    );
}

pub async fn context_fields_and_feature_types(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (status, body) = app
        .admin(
            Method::POST,
            "/api/admin/context",
            Some(json!({"name": "region", "description": "where", "stickiness": true,
                        "legalValues": [{"value": "eu"}, {"value": "us", "description": "States"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/context",
            Some(json!({"name": "userId"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "built-in fields are taken");
    let fields = app.get("/api/admin/context").await;
    let names: Vec<&str> = fields
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"region") && names.contains(&"userId"));
    let (status, body) = app
        .admin(
            Method::PUT,
            "/api/admin/context/region",
            Some(json!({"description": "region code", "legalValues": [{"value": "eu"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        Value::Null,
        "Unleash answers an update without a body"
    );
    let body = app.get("/api/admin/context/region").await;
    assert_eq!(body["legalValues"], json!([{"value": "eu"}]));
    assert_eq!(body["description"], "region code");
    assert_eq!(
        body["stickiness"], false,
        "left out, as in Unleash: not sticky"
    );
    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/context/region", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/context/region", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let types = app.get("/api/admin/feature-types").await;
    let ids: Vec<&str> = types["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            "release",
            "experiment",
            "operational",
            "kill-switch",
            "permission"
        ]
    );
    for id in ids {
        app.create_flag(&format!("typed-{id}")).await;
        let (status, _) = app
            .admin(
                Method::PATCH,
                &format!("/api/admin/projects/default/features/typed-{id}"),
                Some(json!([{"op": "replace", "path": "/type", "value": id}])),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
}
