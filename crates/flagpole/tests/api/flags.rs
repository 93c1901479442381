use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{feature_names, serve_args, Backend, TestApp, ADMIN_TOKEN};

/// The workflow from Unleash's API-access docs, end to end.
pub async fn documented_flow_toggles_and_attributes_the_change(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let created = app.create_flag("Demo").await;
    assert_eq!(created["name"], "Demo");
    let flag = app.get("/api/admin/projects/default/features/Demo").await;
    assert_eq!(flag["environments"][0]["enabled"], false);

    let (status, _) = app
        .admin(Method::POST, "/api/admin/features/Demo/toggle/on", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    let flag = app.get("/api/admin/projects/default/features/Demo").await;
    for environment in flag["environments"].as_array().unwrap() {
        assert_eq!(environment["enabled"], true, "{environment}");
        // "On" with no strategies means on for everyone: a 100% rollout is added.
        assert_eq!(environment["strategies"][0]["name"], "flexibleRollout");
        assert_eq!(environment["strategies"][0]["parameters"]["rollout"], "100");
    }

    let events = app.get("/api/admin/search/events?feature=Demo").await;
    let enabled: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "feature-environment-enabled")
        .collect();
    assert_eq!(enabled.len(), 2, "one event per environment: {events}");
    for event in enabled {
        assert_eq!(event["createdBy"], "admin");
        assert_eq!(event["featureName"], "Demo");
        assert_eq!(event["project"], "default");
        assert!(event["createdAt"].as_str().unwrap().ends_with('Z'));
    }

    // The same through the project API, with a named token: attributed to that token.
    let token = app
        .create_token(json!({"tokenName": "deploy-bot", "type": "admin"}))
        .await;
    let (status, _) = app
        .call(
            Method::POST,
            "/api/admin/projects/default/features/Demo/environments/production/off",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = app
        .get("/api/admin/search/events?feature=IS:Demo&type=IS:feature-environment-disabled")
        .await;
    assert_eq!(events["total"], 1);
    assert_eq!(events["events"][0]["createdBy"], "deploy-bot");
    assert_eq!(events["events"][0]["environment"], "production");
}

pub async fn strategies_with_constraints_and_segments(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("checkout").await;
    let segment = app
        .post(
            "/api/admin/segments",
            json!({"name": "beta", "constraints": [
                {"contextName": "userId", "operator": "IN", "values": ["1", "2"]}
            ]}),
        )
        .await;
    let segment_id = segment["id"].as_i64().unwrap();
    let base = "/api/admin/projects/default/features/checkout/environments/development/strategies";
    let added = app
        .post(
            base,
            json!({
                "name": "flexibleRollout",
                "parameters": {"rollout": 50, "stickiness": "userId"},
                "constraints": [
                    {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"], "caseInsensitive": true},
                    {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "1.2.0", "inverted": true},
                    {"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}
                ],
                "segments": [segment_id],
                "variants": [{"name": "blue", "weight": 0, "payload": {"type": "json", "value": "{\"a\":1}"}}]
            }),
        )
        .await;
    let id = added["id"].as_str().unwrap().to_string();
    assert_eq!(added["parameters"]["rollout"], "50");
    assert_eq!(added["parameters"]["groupId"], "checkout");
    assert_eq!(added["variants"][0]["weight"], 1000);
    assert_eq!(added["constraints"][1]["inverted"], true);
    assert_eq!(added["segments"], json!([segment_id]));

    let listed = app.get(base).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // PUT replaces, PATCH edits, both keep the id.
    let (status, updated) = app
        .admin(
            Method::PUT,
            &format!("{base}/{id}"),
            Some(json!({"name": "default", "constraints": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["id"], id.as_str());
    assert_eq!(updated["name"], "default");
    let (status, patched) = app
        .admin(
            Method::PATCH,
            &format!("{base}/{id}"),
            Some(
                json!([{"op": "replace", "path": "/disabled", "value": true},
                        {"op": "replace", "path": "/title", "value": "off for now"}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["disabled"], true);
    assert_eq!(patched["title"], "off for now");

    // A segment in use cannot be deleted; once unused it can.
    let (status, _) = app
        .admin(
            Method::PUT,
            &format!("{base}/{id}"),
            Some(json!({"name": "default", "segments": [segment_id]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/segments/{segment_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, _) = app
        .admin(Method::DELETE, &format!("{base}/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.admin(Method::GET, &format!("{base}/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .admin(
            Method::DELETE,
            &format!("/api/admin/segments/{segment_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let events = app.get("/api/admin/search/events?feature=checkout").await;
    let types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "feature-strategy-remove",
            "feature-strategy-update",
            "feature-strategy-update",
            "feature-strategy-update",
            "feature-strategy-add",
            "feature-created"
        ]
    );
}

pub async fn variants_are_balanced_and_patchable(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("colors").await;
    let path = "/api/admin/projects/default/features/colors/environments/production/variants";
    let (status, body) = app
        .admin(
            Method::PUT,
            path,
            Some(json!([
                {"name": "red", "weight": 0},
                {"name": "green", "weight": 0},
                {"name": "fixed", "weight": 100, "weightType": "fix",
                 "overrides": [{"contextName": "userId", "values": ["7"]}]}
            ])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Saved by name, as Unleash saves them: SDKs walk variants in this order.
    let weights: Vec<(&str, i64)> = body["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["weight"].as_i64().unwrap()))
        .collect();
    assert_eq!(weights, vec![("fixed", 100), ("green", 450), ("red", 450)]);

    let (status, body) = app
        .admin(
            Method::PATCH,
            path,
            Some(json!([{"op": "remove", "path": "/0"}])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["variants"].as_array().unwrap().len(), 2);
    assert_eq!(body["variants"][0]["weight"], 500);

    // Development is untouched.
    let development = app
        .get("/api/admin/projects/default/features/colors/environments/development/variants")
        .await;
    assert_eq!(development["variants"], json!([]));

    // Duplicate names are refused.
    let (status, _) = app
        .admin(
            Method::PUT,
            path,
            Some(json!([{"name": "a"}, {"name": "a"}])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

pub async fn metadata_put_and_json_patch(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("meta").await;
    let path = "/api/admin/projects/default/features/meta";
    let (status, body) = app
        .admin(
            Method::PUT,
            path,
            Some(json!({"name": "meta", "type": "kill-switch", "description": "d", "stale": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["type"], "kill-switch");
    assert_eq!(body["stale"], true);
    // A PUT replaces: as in Unleash, a description left out is cleared.
    let (_, body) = app
        .admin(
            Method::PUT,
            path,
            Some(json!({"name": "meta", "type": "kill-switch", "stale": true})),
        )
        .await;
    assert_eq!(body["description"], json!(null));

    let (status, body) = app
        .admin(
            Method::PATCH,
            path,
            Some(
                json!([{"op": "replace", "path": "/description", "value": "patched"},
                        {"op": "replace", "path": "/impressionData", "value": true}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["description"], "patched");
    assert_eq!(body["impressionData"], true);
    assert_eq!(body["type"], "kill-switch");

    // A patch that cannot apply changes nothing.
    let before = app.event_count().await;
    let (status, _) = app
        .admin(
            Method::PATCH,
            path,
            Some(json!([{"op": "replace", "path": "/type", "value": "nonsense"}])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app
        .admin(
            Method::PATCH,
            path,
            Some(json!([{"op": "test", "path": "/stale", "value": false}])),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.event_count().await, before);

    let events = app
        .get("/api/admin/search/events?feature=meta&type=feature-metadata-updated")
        .await;
    // The first PUT, the second clearing the description, then the patch (newest first).
    assert_eq!(events["total"], 3);
    assert_eq!(events["events"][1]["preData"]["description"], "d");
    assert_eq!(events["events"][0]["data"]["description"], "patched");
}

pub async fn archive_revive_and_delete(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("old").await;
    let (status, _) = app
        .admin(
            Method::DELETE,
            "/api/admin/projects/default/features/old",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = app
        .admin(
            Method::GET,
            "/api/admin/projects/default/features/old",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let archived = app.get("/api/admin/archive/features").await;
    assert_eq!(archived["features"][0]["name"], "old");
    // An archived flag keeps its name.
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/projects/default/features",
            Some(json!({"name": "old"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, _) = app
        .admin(Method::POST, "/api/admin/archive/revive/old", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.get("/api/admin/projects/default/features/old").await;

    // Only archived flags can be deleted for good; as in Unleash, asking for a live one
    // succeeds and changes nothing.
    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/archive/old", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.get("/api/admin/projects/default/features/old").await;
    app.admin(
        Method::DELETE,
        "/api/admin/projects/default/features/old",
        None,
    )
    .await;
    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/archive/old", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get("/api/admin/archive/features").await["features"],
        json!([])
    );
    // The name is free again, and the history stays.
    app.create_flag("old").await;
    let events = app.get("/api/admin/events/old").await;
    let types: Vec<&str> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "feature-created",
            "feature-deleted",
            "feature-archived",
            "feature-revived",
            "feature-archived",
            "feature-created"
        ]
    );
}

pub async fn dependencies_between_flags(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("parent").await;
    app.create_flag("child").await;
    let path = "/api/admin/projects/default/features/child/dependencies";
    let (status, body) = app
        .admin(
            Method::POST,
            path,
            Some(json!({"feature": "parent", "variants": ["a"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let child = app.get("/api/admin/projects/default/features/child").await;
    assert_eq!(child["dependencies"][0]["feature"], "parent");
    assert_eq!(child["dependencies"][0]["enabled"], true);
    assert_eq!(child["dependencies"][0]["variants"], json!(["a"]));
    let parent = app.get("/api/admin/projects/default/features/parent").await;
    assert_eq!(parent["children"], json!(["child"]));

    // No cycles, no self-dependency, no unknown parent (refused with 403, as Unleash does), and a
    // parent cannot be archived.
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/projects/default/features/parent/dependencies",
            Some(json!({"feature": "child"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .admin(Method::POST, path, Some(json!({"feature": "child"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .admin(Method::POST, path, Some(json!({"feature": "ghost"})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .admin(
            Method::DELETE,
            "/api/admin/projects/default/features/parent",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, _) = app
        .admin(Method::DELETE, &format!("{path}/parent"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let child = app.get("/api/admin/projects/default/features/child").await;
    assert_eq!(child["dependencies"], json!([]));
}

/// Many writers on one flag at once: every change applies, each with exactly one event.
pub async fn concurrent_changes_all_apply_with_one_event_each(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("busy").await;
    let base = "/api/admin/projects/default/features/busy/environments/development/strategies";
    let writers = 24;
    let mut handles = Vec::new();
    for n in 0..writers {
        let http = app.http.clone();
        let url = app.url(base);
        handles.push(tokio::spawn(async move {
            http.post(url)
                .header("Authorization", ADMIN_TOKEN)
                .json(&json!({"name": "userWithId", "parameters": {"userIds": n.to_string()}}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for handle in handles {
        assert_eq!(handle.await.unwrap(), StatusCode::OK);
    }
    let strategies = app.get(base).await;
    let mut users: Vec<i64> = strategies
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["parameters"]["userIds"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    users.sort();
    assert_eq!(users, (0..writers).collect::<Vec<i64>>());
    let events = app
        .get("/api/admin/search/events?feature=busy&type=feature-strategy-add&limit=100")
        .await;
    assert_eq!(events["total"], writers);
}

pub async fn state_survives_a_restart(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("durable").await;
    app.admin(Method::POST, "/api/admin/features/durable/toggle/on", None)
        .await;
    // Enough flags that loading them is split between threads; one archived, one deleted.
    for n in 0..40 {
        app.create_flag(&format!("kept-{n:02}")).await;
    }
    for name in ["archived", "deleted"] {
        app.create_flag(name).await;
        let path = format!("/api/admin/projects/default/features/{name}");
        let (status, _) = app.admin(Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, _) = app
        .admin(Method::DELETE, "/api/admin/archive/deleted", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let client = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "development"}))
        .await;
    let app = app.restart(serve_args()).await;
    let flag = app
        .get("/api/admin/projects/default/features/durable")
        .await;
    assert_eq!(flag["environments"][0]["enabled"], true);
    let mut names = feature_names(&app.get("/api/admin/projects/default/features").await);
    names.sort_unstable();
    let mut expected: Vec<String> = (0..40).map(|n| format!("kept-{n:02}")).collect();
    expected.push("durable".into());
    expected.sort_unstable();
    assert_eq!(names, expected);
    let archived = feature_names(&app.get("/api/admin/archive/features").await);
    assert_eq!(archived, ["archived"]);
    let tokens = app.get("/api/admin/api-tokens").await;
    let names: Vec<&str> = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tokenName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"sdk"));
    // The client token still authenticates (and is still not an admin token).
    let (status, _) = app
        .call(Method::GET, "/api/admin/projects", Some(&client), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

pub async fn bulk_toggle_switches_all_or_none(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("a").await;
    app.create_flag("b").await;
    let path = "/api/admin/projects/default/bulk_features/environments/development/on";
    let before = app.event_count().await;
    let (status, _) = app
        .admin(
            Method::POST,
            path,
            Some(json!({"features": ["a", "ghost"]})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.event_count().await, before, "nothing switched");
    let (status, body) = app
        .admin(Method::POST, path, Some(json!({"features": ["a", "b"]})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for name in ["a", "b"] {
        let flag = app
            .get(&format!("/api/admin/projects/default/features/{name}"))
            .await;
        assert_eq!(flag["environments"][0]["enabled"], true);
    }
    let events = app
        .get("/api/admin/search/events?type=feature-environment-enabled")
        .await;
    assert_eq!(events["total"], 2);
    let (status, _) = app
        .admin(
            Method::POST,
            "/api/admin/projects/default/bulk_features/environments/development/off",
            Some(json!({"features": ["a"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let flag = app.get("/api/admin/projects/default/features/a").await;
    assert_eq!(flag["environments"][0]["enabled"], false);
}
