//! Unleash's export/import format (`/api/admin/features-batch/*`), fed with an export recorded
//! from a real Unleash 8.2 (`tests/fixtures/unleash/export-development.json`).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

pub fn recorded_export() -> Value {
    serde_json::from_str(include_str!("../fixtures/unleash/export-development.json")).unwrap()
}

fn import_body(project: &str, environment: &str, data: Value) -> Value {
    json!({ "project": project, "environment": environment, "data": data })
}

/// Creates a segment and returns its id.
pub async fn create_segment(app: &TestApp, name: &str) -> i64 {
    app.post(
        "/api/admin/segments",
        json!({"name": name, "constraints": [
            {"contextName": "userId", "operator": "IN", "values": ["1", "2", "3"]}
        ]}),
    )
    .await["id"]
        .as_i64()
        .unwrap()
}

fn messages(items: &Value) -> String {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| format!("{} {}", i["message"], i["affectedItems"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The recorded Unleash export lands as it was in Unleash: flags, strategies with constraints,
/// segments (mapped by name to Flagpole's ids), variants, tags, dependencies, context fields.
pub async fn recorded_unleash_export_imports(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let data = recorded_export();
    let body = import_body("default", "development", data.clone());

    // The segment the file uses does not exist yet: validate says so, import refuses.
    let validation = app
        .post("/api/admin/features-batch/validate", body.clone())
        .await;
    assert!(
        messages(&validation["errors"]).contains("beta-users"),
        "{validation}"
    );
    let before = app.event_count().await;
    let (status, error) = app
        .admin(
            Method::POST,
            "/api/admin/features-batch/import",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(error["details"][0]["message"]
        .as_str()
        .unwrap()
        .contains("beta-users"));
    assert_eq!(app.event_count().await, before);

    // With the segment in place (under another id than in Unleash) the file is fine.
    create_segment(&app, "someone-else").await;
    let beta = create_segment(&app, "beta-users").await;
    assert_ne!(beta, 1, "Unleash's id differs from Flagpole's");
    let validation = app
        .post("/api/admin/features-batch/validate", body.clone())
        .await;
    assert_eq!(validation["errors"], json!([]), "{validation}");
    assert_eq!(validation["permissions"], json!([]));
    assert!(
        messages(&validation["warnings"]).contains("betaCountries"),
        "custom strategy types are pointed out: {validation}"
    );
    let (status, response) = app
        .admin(
            Method::POST,
            "/api/admin/features-batch/import",
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");

    let checkout = app
        .get("/api/admin/projects/default/features/checkout-v2")
        .await;
    assert_eq!(checkout["type"], "release");
    assert_eq!(checkout["description"], "New checkout flow");
    let development = &checkout["environments"][0];
    assert_eq!(development["name"], "development");
    assert_eq!(development["enabled"], true);
    let strategy = &development["strategies"][0];
    assert_eq!(strategy["name"], "flexibleRollout");
    assert_eq!(strategy["title"], "Half of EU beta");
    assert_eq!(strategy["parameters"]["rollout"], "50");
    assert_eq!(strategy["parameters"]["stickiness"], "userId");
    assert_eq!(strategy["segments"], json!([beta]));
    let operators: Vec<&str> = strategy["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operator"].as_str().unwrap())
        .collect();
    assert_eq!(
        operators,
        ["IN", "SEMVER_GTE", "STR_ENDS_WITH", "DATE_AFTER"]
    );
    assert_eq!(strategy["constraints"][1]["value"], "2.1.0");
    assert_eq!(strategy["constraints"][2]["inverted"], true);
    assert_eq!(strategy["constraints"][2]["caseInsensitive"], true);
    let variants: Vec<&str> = strategy["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(variants, ["blue", "green"]);
    assert_eq!(strategy["variants"][0]["payload"]["type"], "json");
    // Only the named environment is touched.
    assert_eq!(checkout["environments"][1]["name"], "production");
    assert_eq!(checkout["environments"][1]["enabled"], false);
    assert_eq!(checkout["environments"][1]["strategies"], json!([]));

    let kill = app
        .get("/api/admin/projects/default/features/kill-payments")
        .await;
    assert_eq!(kill["type"], "kill-switch");
    assert_eq!(kill["stale"], true);
    let pricing = app
        .get("/api/admin/projects/default/features/new-pricing")
        .await;
    assert_eq!(pricing["impressionData"], true);
    let tags = app.get("/api/admin/features/new-pricing/tags").await;
    assert_eq!(
        tags["tags"],
        json!([
            {"type": "simple", "value": "web", "color": "#FFFFFF"},
            {"type": "team", "value": "growth", "color": null}
        ])
    );
    let banner = app
        .get("/api/admin/projects/default/features/pricing-banner")
        .await;
    assert_eq!(
        banner["dependencies"],
        json!([{"feature": "new-pricing", "enabled": true, "variants": ["cheap", "premium"]}])
    );
    let variants = app
        .get("/api/admin/projects/default/features/banner-colour/environments/development/variants")
        .await;
    let weights: Vec<(String, i64)> = variants["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().into(),
                v["weight"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(weights, [("red".into(), 700), ("teal".into(), 300)]);
    let ops = app
        .get("/api/admin/projects/default/features/ops-cache")
        .await;
    assert_eq!(ops["environments"][0]["enabled"], false);
    assert_eq!(
        ops["environments"][0]["strategies"][0]["name"],
        "betaCountries"
    );
    assert_eq!(
        ops["environments"][0]["strategies"][0]["parameters"]["countries"],
        "NO,SE"
    );

    let region = app.get("/api/admin/context/region").await;
    assert_eq!(region["stickiness"], true);
    assert_eq!(region["legalValues"][0]["value"], "eu-west");
    let team = app.get("/api/admin/tag-types/team").await;
    assert_eq!(team["tagType"]["description"], "Owning team");

    // SDKs see the imported flags.
    let token = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "development"}))
        .await;
    let response = app
        .http
        .get(app.url("/api/client/features"))
        .header("Authorization", &token)
        .header("Unleash-Client-Spec", "5.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let client: Value = response.json().await.unwrap();
    assert_eq!(client["segments"][0]["id"], beta);
    let names: Vec<&str> = client["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "banner-colour",
            "checkout-v2",
            "kill-payments",
            "new-pricing",
            "ops-cache",
            "pricing-banner"
        ]
    );
    let client_checkout = client["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "checkout-v2")
        .unwrap();
    assert_eq!(client_checkout["enabled"], true);
    assert_eq!(client_checkout["strategies"][0]["segments"], json!([beta]));

    // Audited: one event per change, attributed to the token, plus the import itself.
    let events = app
        .get("/api/admin/search/events?type=feature-created&createdBy=admin")
        .await;
    assert_eq!(events["total"], 6);
    let events = app
        .get("/api/admin/search/events?type=features-imported")
        .await;
    assert_eq!(events["total"], 1);
    assert_eq!(events["events"][0]["project"], "default");
    assert_eq!(events["events"][0]["environment"], "development");

    // Importing the same file again changes nothing but records that it ran.
    let before = app.event_count().await;
    let validation = app
        .post("/api/admin/features-batch/validate", body.clone())
        .await;
    assert!(messages(&validation["warnings"]).contains("checkout-v2"));
    let (status, _) = app
        .admin(Method::POST, "/api/admin/features-batch/import", Some(body))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.event_count().await, before + 1);
    let again = app
        .get("/api/admin/projects/default/features/checkout-v2")
        .await;
    assert_eq!(
        again["environments"][0]["strategies"][0]["id"],
        strategy["id"]
    );
}

fn strip_empty_overrides(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if object.get("overrides") == Some(&json!([])) {
                object.remove("overrides");
            }
            object.values_mut().for_each(strip_empty_overrides);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_empty_overrides),
        _ => {}
    }
}

/// Strategy ids and segment ids differ between servers; everything else must survive.
fn normalised(export: &Value) -> Value {
    let segments: std::collections::HashMap<i64, String> = export["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_i64().unwrap(),
                s["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut export = export.clone();
    for strategy in export["featureStrategies"].as_array_mut().unwrap() {
        let object = strategy.as_object_mut().unwrap();
        object.remove("id");
        object.remove("sortOrder");
        let names: Vec<Value> = object["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| json!(segments[&id.as_i64().unwrap()]))
            .collect();
        object.insert("segments".into(), json!(names));
    }
    for segment in export["segments"].as_array_mut().unwrap() {
        segment.as_object_mut().unwrap().remove("id");
    }
    export
}

/// What Flagpole exports, Flagpole imports into another server to the same export.
pub async fn export_import_round_trips(backend: Backend) {
    let source = TestApp::spawn(&backend).await;
    create_segment(&source, "beta-users").await;
    source
        .post(
            "/api/admin/features-batch/import",
            import_body("default", "development", recorded_export()),
        )
        .await;
    let query = json!({"environment": "development", "features": []});
    let exported = source
        .post("/api/admin/features-batch/export", query.clone())
        .await;

    // The export has what Unleash's had (Flagpole leaves out empty `overrides`).
    let mut recorded = recorded_export();
    strip_empty_overrides(&mut recorded);
    // `simple` is built in on both servers, each describing it in its own words.
    let without_simple = |tag_types: &Value| -> Vec<Value> {
        tag_types
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["name"] != "simple")
            .cloned()
            .collect()
    };
    assert_eq!(
        without_simple(&exported["tagTypes"]),
        without_simple(&recorded["tagTypes"])
    );
    for key in [
        "features",
        "featureEnvironments",
        "featureTags",
        "dependencies",
    ] {
        assert_eq!(exported[key], recorded[key], "{key}");
    }
    assert_eq!(
        exported["segments"],
        json!([{"id": 1, "name": "beta-users"}])
    );
    let context_fields: Vec<&str> = exported["contextFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert!(context_fields.contains(&"region"), "{context_fields:?}");
    assert_eq!(
        exported["featureStrategies"].as_array().unwrap().len(),
        recorded["featureStrategies"].as_array().unwrap().len()
    );

    // Selections: by name, by tag, by project; `downloadFile` makes it a file.
    let one = source
        .post(
            "/api/admin/features-batch/export",
            json!({"environment": "development", "features": ["new-pricing"]}),
        )
        .await;
    assert_eq!(one["features"].as_array().unwrap().len(), 1);
    assert_eq!(one["tagTypes"].as_array().unwrap().len(), 2);
    let tagged = source
        .post(
            "/api/admin/features-batch/export",
            json!({"environment": "development", "tag": "team:payments"}),
        )
        .await;
    assert_eq!(tagged["features"][0]["name"], "checkout-v2");
    assert_eq!(tagged["features"].as_array().unwrap().len(), 1);
    let response = source
        .http
        .post(source.url("/api/admin/features-batch/export"))
        .header("Authorization", crate::helpers::ADMIN_TOKEN)
        .json(&json!({"environment": "production", "project": "default", "downloadFile": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"export-"),
        "{disposition}"
    );
    let production: Value = response.json().await.unwrap();
    assert_eq!(production["features"].as_array().unwrap().len(), 6);
    // As in Unleash, an unknown environment exports the flags without their state.
    let (status, nowhere) = source
        .admin(
            Method::POST,
            "/api/admin/features-batch/export",
            Some(json!({"environment": "nope", "features": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(nowhere["features"].as_array().unwrap().len(), 6);
    assert_eq!(nowhere["featureEnvironments"], json!([]));
    assert_eq!(nowhere["featureStrategies"], json!([]));

    // Into another server, with the segment under another id.
    let target = TestApp::spawn(&backend).await;
    create_segment(&target, "unrelated").await;
    create_segment(&target, "beta-users").await;
    let (status, response) = target
        .admin(
            Method::POST,
            "/api/admin/features-batch/import",
            Some(import_body("default", "development", exported.clone())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let round_tripped = target.post("/api/admin/features-batch/export", query).await;
    assert_eq!(normalised(&round_tripped), normalised(&exported));
    assert_eq!(round_tripped["segments"][0]["id"], 2);
}

/// A bad file, a bad target or a clash gives 400/404 with the reason, and changes nothing:
/// not even the parts of the file that were fine.
pub async fn bad_imports_change_nothing(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    create_segment(&app, "beta-users").await;
    let before = app.event_count().await;
    let flags_before = app.get("/api/admin/projects/default/features").await;

    let mut bad_strategy = recorded_export();
    bad_strategy["featureStrategies"]
        .as_array_mut()
        .unwrap()
        .push(
            json!({"name": "default", "featureName": "ops-cache", "constraints": [
                {"contextName": "userId", "operator": "NUM_GT", "value": "many"}
            ]}),
        );
    let mut unknown_flag = recorded_export();
    unknown_flag["featureTags"]
        .as_array_mut()
        .unwrap()
        .push(json!({"featureName": "ghost", "tagType": "simple", "tagValue": "x"}));
    let mut missing_tag_type = recorded_export();
    missing_tag_type["tagTypes"] = json!([]);
    let mut self_dependency = recorded_export();
    self_dependency["dependencies"] =
        json!([{"feature": "ops-cache", "dependencies": [{"feature": "ops-cache"}]}]);
    let mut bad_name = recorded_export();
    bad_name["features"][0]["name"] = json!("no spaces allowed");

    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            import_body("default", "development", bad_strategy),
            StatusCode::BAD_REQUEST,
            "many",
        ),
        (
            import_body("default", "development", unknown_flag),
            StatusCode::BAD_REQUEST,
            "ghost",
        ),
        (
            import_body("default", "development", missing_tag_type),
            StatusCode::BAD_REQUEST,
            "team",
        ),
        (
            import_body("default", "development", self_dependency),
            StatusCode::BAD_REQUEST,
            "depend on itself",
        ),
        (
            import_body("default", "development", bad_name),
            StatusCode::BAD_REQUEST,
            "no spaces allowed",
        ),
        (
            import_body("nope", "development", recorded_export()),
            StatusCode::NOT_FOUND,
            "nope",
        ),
        (
            import_body("default", "nope", recorded_export()),
            StatusCode::NOT_FOUND,
            "nope",
        ),
        (
            json!({"project": "default", "environment": "development", "data": {"features": []}}),
            StatusCode::BAD_REQUEST,
            "featureStrategies",
        ),
        (
            json!({"project": "default", "environment": "development"}),
            StatusCode::BAD_REQUEST,
            "data",
        ),
        (
            json!({"project": "default", "environment": "development", "data": {"features": [{"name": 3}], "featureStrategies": [], "tagTypes": []}}),
            StatusCode::BAD_REQUEST,
            "name",
        ),
    ];
    for (body, expected, mentions) in cases {
        let (status, error) = app
            .admin(
                Method::POST,
                "/api/admin/features-batch/import",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, expected, "{body:#}\n{error}");
        assert!(error.to_string().contains(mentions), "{mentions}: {error}");
        assert!(
            error["details"].as_array().is_some_and(|d| !d.is_empty()),
            "{error}"
        );
        assert_eq!(app.event_count().await, before, "{error}");
    }
    assert_eq!(
        app.get("/api/admin/projects/default/features").await,
        flags_before
    );

    // A flag of the file exists in another project: the rest of the file, though fine, is not
    // imported either.
    app.post(
        "/api/admin/projects",
        json!({"id": "other", "name": "Other"}),
    )
    .await;
    app.post(
        "/api/admin/projects/other/features",
        json!({"name": "kill-payments"}),
    )
    .await;
    let before = app.event_count().await;
    let (status, error) = app
        .admin(
            Method::POST,
            "/api/admin/features-batch/import",
            Some(import_body("default", "development", recorded_export())),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error
            .to_string()
            .contains("kill-payments (in project other)"),
        "{error}"
    );
    assert_eq!(app.event_count().await, before);
    assert_eq!(
        app.get("/api/admin/projects/default/features").await,
        flags_before
    );

    // Validate reports the clash as an error item, with no change either.
    let validation = app
        .post(
            "/api/admin/features-batch/validate",
            import_body("default", "development", recorded_export()),
        )
        .await;
    assert!(messages(&validation["errors"]).contains("kill-payments (in project other)"));
    let validation = app
        .post(
            "/api/admin/features-batch/validate",
            import_body("nope", "development", recorded_export()),
        )
        .await;
    assert!(messages(&validation["errors"]).contains("nope"));
    assert_eq!(app.event_count().await, before);

    // Archived flags of the project are left alone, with a warning.
    app.post(
        "/api/admin/projects/default/features",
        json!({"name": "ops-cache"}),
    )
    .await;
    let (status, _) = app
        .admin(
            Method::DELETE,
            "/api/admin/projects/default/features/ops-cache",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mut without_clash = recorded_export();
    without_clash["features"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["name"] != "kill-payments");
    for key in ["featureStrategies", "featureEnvironments", "featureTags"] {
        without_clash[key]
            .as_array_mut()
            .unwrap()
            .retain(|f| f["featureName"] != "kill-payments");
    }
    let body = import_body("default", "development", without_clash);
    let validation = app
        .post("/api/admin/features-batch/validate", body.clone())
        .await;
    assert_eq!(validation["errors"], json!([]), "{validation}");
    assert!(messages(&validation["warnings"]).contains("ops-cache"));
    let (status, response) = app
        .admin(Method::POST, "/api/admin/features-batch/import", Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let archived = app.get("/api/admin/archive/features").await;
    assert_eq!(archived["features"][0]["name"], "ops-cache");
    assert_eq!(
        app.get("/api/admin/projects/default/features").await["features"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

/// Only admin tokens may export or import.
pub async fn batch_endpoints_need_an_admin_token(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let client = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "development"}))
        .await;
    let frontend = app
        .create_token(json!({"tokenName": "web", "type": "frontend", "environment": "development"}))
        .await;
    let before = app.event_count().await;
    let bodies = [
        (
            "export",
            json!({"environment": "development", "features": []}),
        ),
        (
            "validate",
            import_body("default", "development", recorded_export()),
        ),
        (
            "import",
            import_body("default", "development", recorded_export()),
        ),
    ];
    for (path, body) in bodies {
        let path = format!("/api/admin/features-batch/{path}");
        for token in [&client, &frontend] {
            let (status, _) = app
                .call(Method::POST, &path, Some(token), Some(body.clone()))
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        }
        let (status, _) = app
            .call(Method::POST, &path, None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(app.event_count().await, before);
}
