use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp};

pub async fn search_filters_and_pages(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    for name in ["alpha", "beta", "gamma"] {
        app.create_flag(name).await;
    }
    app.post(
        "/api/admin/projects",
        json!({"id": "other", "name": "Other"}),
    )
    .await;
    app.post(
        "/api/admin/projects/other/features",
        json!({"name": "delta"}),
    )
    .await;

    let created = app
        .get("/api/admin/search/events?type=IS:feature-created")
        .await;
    assert_eq!(created["total"], 4);
    let some = app
        .get("/api/admin/search/events?feature=IS_ANY_OF:alpha,gamma")
        .await;
    assert_eq!(some["total"], 2);
    let other = app.get("/api/admin/search/events?project=IS:other").await;
    let types: Vec<&str> = other["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["feature-created", "project-created"]);
    let by_token = app
        .get("/api/admin/search/events?createdBy=IS:admin&type=feature-created")
        .await;
    assert_eq!(by_token["total"], 4);

    // Paging: newest first, offset and limit.
    let page1 = app
        .get("/api/admin/search/events?type=feature-created&limit=3")
        .await;
    let page2 = app
        .get("/api/admin/search/events?type=feature-created&limit=3&offset=3")
        .await;
    assert_eq!(page1["events"].as_array().unwrap().len(), 3);
    assert_eq!(page2["events"].as_array().unwrap().len(), 1);
    assert_eq!(page1["events"][0]["featureName"], "delta");
    assert_eq!(page2["events"][0]["featureName"], "alpha");
    let ids: Vec<i64> = page1["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]));

    // Dates: today holds everything, tomorrow nothing.
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    let all = app
        .get(&format!(
            "/api/admin/search/events?from=IS:{today}&to=IS:{today}"
        ))
        .await;
    assert!(all["total"].as_i64().unwrap() >= 4);
    let none = app
        .get(&format!("/api/admin/search/events?from=IS:{tomorrow}"))
        .await;
    assert_eq!(none["total"], 0);
    let (status, _) = app
        .admin(Method::GET, "/api/admin/search/events?from=soon", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The older endpoints.
    let legacy = app.get("/api/admin/events?project=other").await;
    assert_eq!(legacy["version"], 1);
    assert_eq!(legacy["totalEvents"], 2);
    let for_flag = app.get("/api/admin/events/beta").await;
    assert_eq!(for_flag["toggleName"], "beta");
    assert_eq!(for_flag["events"][0]["type"], "feature-created");
    assert_eq!(for_flag["events"][0]["data"]["name"], "beta");
}
