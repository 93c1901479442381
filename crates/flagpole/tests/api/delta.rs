use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp};

async fn client_token(app: &TestApp) -> String {
    app.create_token(json!({"tokenName": "sdk", "type": "client", "environment": "development", "projects": ["default"]}))
        .await
}

fn types(body: &Value) -> Vec<String> {
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

pub async fn delta_api_sends_only_what_changed(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("one").await;
    app.create_flag("two").await;
    app.post(
        "/api/admin/projects",
        json!({"id": "other", "name": "Other"}),
    )
    .await;
    let token = client_token(&app).await;
    let get = |etag: Option<String>| {
        let mut request = app
            .http
            .get(app.url("/api/client/delta"))
            .header("Authorization", &token);
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        request.send()
    };

    let first = get(None).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = first.json().await.unwrap();
    assert_eq!(types(&body), vec!["hydration"]);
    let names: Vec<&str> = body["events"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["one", "two"]);

    assert_eq!(
        get(Some(etag.clone())).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );
    // A change outside the scope is not a change for this client.
    app.post(
        "/api/admin/projects/other/features",
        json!({"name": "elsewhere"}),
    )
    .await;
    assert_eq!(
        get(Some(etag.clone())).await.unwrap().status(),
        StatusCode::NOT_MODIFIED
    );

    app.admin(
        Method::POST,
        "/api/admin/projects/default/features/one/environments/development/on",
        None,
    )
    .await;
    let response = get(Some(etag.clone())).await.unwrap();
    let etag2 = response.headers()["etag"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(types(&body), vec!["feature-updated"]);
    assert_eq!(body["events"][0]["feature"]["name"], "one");
    assert_eq!(body["events"][0]["feature"]["enabled"], true);

    app.admin(
        Method::DELETE,
        "/api/admin/projects/default/features/two",
        None,
    )
    .await;
    let body: Value = get(Some(etag2)).await.unwrap().json().await.unwrap();
    assert_eq!(types(&body), vec!["feature-removed"]);
    assert_eq!(body["events"][0]["featureName"], "two");

    // An ETag that is not ours gets a hydration.
    let body: Value = get(Some("\"junk\"".into()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(types(&body), vec!["hydration"]);
}

/// Reads server-sent events until `count` named events have arrived (or a timeout).
pub async fn read_events(
    response: reqwest::Response,
    count: usize,
) -> Vec<(String, String, Value)> {
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while events.len() < count {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut name, mut id, mut data) = (String::new(), String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().into()
                }
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().into()
                }
                if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim())
                }
            }
            if !name.is_empty() {
                events.push((name, id, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

pub async fn streaming_pushes_changes_and_resumes(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    app.create_flag("live").await;
    let token = client_token(&app).await;
    let response = app
        .http
        .get(app.url("/api/client/streaming"))
        .header("Authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let reader = tokio::spawn(read_events(response, 3));
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.admin(
        Method::POST,
        "/api/admin/projects/default/features/live/environments/development/on",
        None,
    )
    .await;
    app.create_flag("new").await;
    let events = reader.await.unwrap();
    assert_eq!(events[0].0, "unleash-connected");
    assert_eq!(types(&events[0].2), vec!["hydration"]);
    assert_eq!(events[1].0, "unleash-updated");
    assert_eq!(events[1].2["events"][0]["feature"]["enabled"], true);
    assert_eq!(events[2].2["events"][0]["feature"]["name"], "new");
    let ids: Vec<i64> = events.iter().map(|e| e.1.parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

    // Reconnecting with Last-Event-ID misses nothing: what changed meanwhile comes first.
    let last = events[2].1.clone();
    app.admin(
        Method::POST,
        "/api/admin/projects/default/features/new/environments/development/on",
        None,
    )
    .await;
    let response = app
        .http
        .get(app.url("/api/client/streaming"))
        .header("Authorization", &token)
        .header("Last-Event-ID", last)
        .send()
        .await
        .unwrap();
    let events = read_events(response, 1).await;
    assert_eq!(events[0].0, "unleash-connected");
    assert_eq!(types(&events[0].2), vec!["feature-updated"]);
    assert_eq!(events[0].2["events"][0]["feature"]["name"], "new");

    // Revoking the token ends its open stream at once.
    let short = app
        .create_token(json!({"tokenName": "short", "type": "client", "environment": "development"}))
        .await;
    let response = app
        .http
        .get(app.url("/api/client/streaming"))
        .header("Authorization", &short)
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    body.next().await.unwrap().unwrap();
    app.admin(
        Method::DELETE,
        &format!("/api/admin/api-tokens/{short}"),
        None,
    )
    .await;
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream of a revoked token must end");

    // Wrong token kinds are refused as on the rest of the Client API.
    let (status, _) = app
        .call(
            Method::GET,
            "/api/client/streaming",
            Some(crate::helpers::ADMIN_TOKEN),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
