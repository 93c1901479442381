//! The OpenAPI document: served, complete, and routed. (That responses match it is checked on
//! every request the other tests make; see `contract.rs`.)

use std::path::Path;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::contract;
use crate::helpers::{Backend, TestApp};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every documented operation is routed (a request without a token reaches its handler, which
/// asks for a token, rather than the 404 fallback or a 405), declares each of its path
/// parameters, and lists a success answer.
pub async fn document_is_served_and_every_operation_is_routed(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let (status, served) = app
        .call(Method::GET, "/docs/openapi.json", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let generated = serde_json::to_value(flagpole::api::openapi::document()).unwrap();
    assert_eq!(
        served, generated,
        "the served document is the generated one"
    );
    assert!(served["openapi"].as_str().unwrap().starts_with("3."));

    let paths = served["paths"].as_object().unwrap();
    let mut operations = 0;
    for (template, item) in paths {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            operations += 1;
            let declared: Vec<&str> = operation["parameters"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            for name in template
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            {
                assert!(
                    declared.contains(&name),
                    "{method} {template}: path parameter {name} is not declared"
                );
            }
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|status| status.starts_with('2')),
                "{method} {template} documents no success answer"
            );

            let concrete = template
                .split('/')
                .map(|s| if s.starts_with('{') { "x" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let response = app
                .http
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            if template.starts_with("/api/") || template.starts_with("/ofrep/") {
                assert_eq!(
                    response.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {concrete} is documented but not routed as documented"
                );
            } else {
                // Public routes (health, sign-in, sign-out) answer, each in its own way.
                assert!(
                    ![StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED]
                        .contains(&response.status()),
                    "{method} {concrete} is documented but not routed"
                );
            }
        }
    }
    assert!(operations >= 96, "only {operations} operations documented");

    // The interactive viewer.
    let viewer = app.http.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(viewer.status(), StatusCode::OK);
    let html = viewer.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
}

/// Routes are only ever registered through `utoipa_axum::routes!`, which documents them. A plain
/// axum `.route(` would bypass the document, so none may appear in the server's source, except
/// the one that serves the document itself (kept as text; Swagger UI's pages are not in the
/// document either).
#[test]
fn no_route_bypasses_the_document() {
    fn visit(dir: &Path, offenders: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            // The web UI's HTML pages are not API operations, so they are not in the OpenAPI
            // document; they are registered in `src/ui/` only, from its one route table.
            if path.is_dir() && path.file_name().is_some_and(|name| name == "ui") {
                continue;
            }
            if path.is_dir() {
                visit(&path, offenders);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (number, line) in text.lines().enumerate() {
                    let serves_the_document = line.contains("openapi::DOCUMENT_PATH");
                    if (line.contains(".route(") || line.contains("routing::"))
                        && !serves_the_document
                    {
                        offenders.push(format!("{}:{}: {line}", path.display(), number + 1));
                    }
                }
            }
        }
    }
    let mut offenders = Vec::new();
    visit(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut offenders,
    );
    assert!(
        offenders.is_empty(),
        "routes registered outside the OpenAPI document:\n{}",
        offenders.join("\n")
    );
}

/// The contract checker itself: it must reject what the document does not promise, or the
/// behaviour tests would check nothing.
#[test]
fn the_contract_check_rejects_undocumented_answers() {
    assert_eq!(
        contract::template_for("/api/admin/features/validate", "post").as_deref(),
        Some("/api/admin/features/validate")
    );
    assert_eq!(
        contract::template_for("/api/admin/features/Demo", "get").as_deref(),
        Some("/api/admin/features/{feature}")
    );
    let wrong_shape: Value = serde_json::json!({ "version": 1, "projects": [{ "id": 7 }] });
    let result = std::panic::catch_unwind(|| {
        contract::check("GET", "/api/admin/projects", 200, &wrong_shape)
    });
    assert!(result.is_err(), "a body of the wrong shape is refused");
    let result = std::panic::catch_unwind(|| {
        contract::check("GET", "/api/admin/projects", 418, &Value::Null)
    });
    assert!(result.is_err(), "an undocumented status is refused");
}
