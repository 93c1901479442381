//! Prometheus metrics at `/internal-backstage/prometheus`, request ids, and JSON logs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};

const METRICS: &str = "/internal-backstage/prometheus";

async fn scrape(app: &TestApp) -> String {
    let response = app.http.get(app.url(METRICS)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

/// The value of the sample `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let matches = series_name == name
            && labels.iter().all(|(key, value)| {
                series_labels
                    .split(',')
                    .any(|pair| pair == format!("{key}=\"{value}\""))
            });
        matches.then(|| value.parse().ok()).flatten()
    })
}

pub async fn prometheus_metrics_follow_requests_and_state(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let client = app
        .create_token(
            json!({"tokenName": "metrics-client", "type": "client", "environment": "development"}),
        )
        .await;
    app.create_flag("very-private-flag-name").await;
    for _ in 0..3 {
        let (status, _) = app
            .call(Method::GET, "/api/client/features", Some(&client), None)
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    // The Frontend API: GETs answered ahead of the router, a refused one and a POST by it.
    let frontend = app
        .create_token(
            json!({"tokenName": "metrics-web", "type": "frontend", "environment": "development"}),
        )
        .await;
    for (method, token, expected) in [
        (Method::GET, frontend.as_str(), StatusCode::OK),
        (Method::GET, frontend.as_str(), StatusCode::OK),
        (
            Method::GET,
            "default:development.wrong",
            StatusCode::UNAUTHORIZED,
        ),
        (Method::POST, frontend.as_str(), StatusCode::OK),
    ] {
        let body = (method == Method::POST).then(|| json!({"context": {}}));
        let (status, _) = app.call(method, "/api/frontend", Some(token), body).await;
        assert_eq!(status, expected);
    }
    app.get("/api/admin/projects/default/features/very-private-flag-name")
        .await;
    let (status, _) = app
        .call(Method::GET, "/api/no/such/route", None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let text = scrape(&app).await;
    // Requests are counted under their route template, with method and status.
    let client_requests = sample(
        &text,
        "flagpole_http_requests_total",
        &[
            ("method", "GET"),
            ("route", "/api/client/features"),
            ("status", "200"),
        ],
    );
    assert_eq!(client_requests, Some(3.0), "{text}");
    assert_eq!(
        sample(
            &text,
            "flagpole_http_requests_total",
            &[
                ("route", "/api/admin/projects/{project}/features/{feature}"),
                ("status", "200")
            ],
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "flagpole_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/api/client/features")],
        ),
        Some(3.0),
        "{text}"
    );
    for (method, status, count) in [
        ("GET", "200", 2.0),
        ("GET", "401", 1.0),
        ("POST", "200", 1.0),
    ] {
        let labels = [
            ("method", method),
            ("route", "/api/frontend"),
            ("status", status),
        ];
        assert_eq!(
            sample(&text, "flagpole_http_requests_total", &labels),
            Some(count),
            "{method} {status}: {text}"
        );
    }
    assert_eq!(
        sample(
            &text,
            "flagpole_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/api/frontend")],
        ),
        Some(3.0),
        "{text}"
    );
    assert!(text.contains("flagpole_http_request_duration_seconds_bucket{"));
    assert_eq!(
        sample(
            &text,
            "flagpole_http_requests_total",
            &[("route", "unmatched"), ("status", "404")],
        ),
        Some(1.0),
        "{text}"
    );
    // Raw paths, and so flag names and secrets, never become labels.
    assert!(!text.contains("very-private-flag-name"), "{text}");
    assert!(!text.contains("/api/no/such/route"), "{text}");
    assert!(!text.contains(&client), "{text}");

    // State gauges.
    assert!(sample(&text, "flagpole_db_pool_connections", &[]).unwrap() >= 1.0);
    assert!(sample(&text, "flagpole_db_pool_idle_connections", &[]).is_some());
    assert!(sample(&text, "flagpole_snapshot_age_seconds", &[]).unwrap() < 60.0);
    assert_eq!(
        sample(&text, "flagpole_api_tokens", &[("type", "admin")]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "flagpole_api_tokens", &[("type", "client")]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "flagpole_api_tokens", &[("type", "frontend")]),
        Some(1.0)
    );
    let active = [("project", "default"), ("state", "active")];
    let archived = [("project", "default"), ("state", "archived")];
    assert_eq!(sample(&text, "flagpole_flags", &active), Some(1.0));
    assert_eq!(sample(&text, "flagpole_flags", &archived), Some(0.0));

    // The revision gauge follows writes.
    let revision = sample(&text, "flagpole_snapshot_revision", &[]).unwrap();
    let ready = app.call(Method::GET, "/ready", None, None).await.1;
    assert_eq!(Some(revision), ready["revision"].as_f64());
    app.create_flag("second").await;
    let (status, _) = app
        .admin(
            Method::DELETE,
            "/api/admin/projects/default/features/very-private-flag-name",
            None,
        )
        .await;
    assert!(status.is_success());
    let text = scrape(&app).await;
    assert!(sample(&text, "flagpole_snapshot_revision", &[]).unwrap() > revision);
    assert_eq!(sample(&text, "flagpole_flags", &active), Some(1.0));
    assert_eq!(sample(&text, "flagpole_flags", &archived), Some(1.0));

    // An SDK stream is counted while it is open.
    assert_eq!(sample(&text, "flagpole_sdk_streams_open", &[]), Some(0.0));
    let mut stream = app
        .http
        .get(app.url("/api/client/streaming"))
        .header("Authorization", &client)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.chunk().await.unwrap().is_some());
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "flagpole_sdk_streams_open", &[]), Some(1.0));
    assert_eq!(
        sample(
            &text,
            "flagpole_http_requests_total",
            &[("route", "/api/client/streaming"), ("status", "200")],
        ),
        Some(1.0)
    );
    drop(stream);
    let mut open = None;
    for _ in 0..100 {
        open = sample(&scrape(&app).await, "flagpole_sdk_streams_open", &[]);
        if open == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, Some(0.0), "a closed stream is no longer counted");
}

pub async fn requests_carry_a_request_id(backend: Backend) {
    let app = TestApp::spawn(&backend).await;
    let request_id = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };

    // Without one, each request gets a new id (a ULID).
    let first = app.http.get(app.url("/health")).send().await.unwrap();
    let second = app.http.get(app.url("/health")).send().await.unwrap();
    let (first, second) = (request_id(&first), request_id(&second));
    assert_eq!(first.len(), 26, "{first}");
    assert_ne!(first, second);

    // A sane incoming id is kept and returned, on errors too.
    for (path, status) in [
        ("/health", StatusCode::OK),
        ("/api/admin/projects", StatusCode::UNAUTHORIZED),
        ("/no/such/route", StatusCode::NOT_FOUND),
    ] {
        let response = app
            .http
            .get(app.url(path))
            .header("X-Request-Id", "trace-4f2a.7")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(request_id(&response), "trace-4f2a.7");
    }

    // SDK polls, answered before routing (the fast path), carry it too: 200, 304 and errors.
    let client = app
        .create_token(
            json!({"tokenName": "request-id-client", "type": "client", "environment": "development"}),
        )
        .await;
    let poll = |etag: Option<&str>, token: &str| {
        let mut request = app
            .http
            .get(app.url("/api/client/features"))
            .header("Authorization", token)
            .header("X-Request-Id", "poll-1");
        if let Some(etag) = etag {
            request = request.header("If-None-Match", etag);
        }
        request.send()
    };
    let full = poll(None, &client).await.unwrap();
    assert_eq!(full.status(), StatusCode::OK);
    assert_eq!(request_id(&full), "poll-1");
    let etag = full.headers()["etag"].to_str().unwrap().to_owned();
    let unchanged = poll(Some(&etag), &client).await.unwrap();
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(request_id(&unchanged), "poll-1");
    let refused = poll(None, "default:development.not-a-token").await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(request_id(&refused), "poll-1");
    let fresh = app
        .http
        .get(app.url("/api/client/features"))
        .header("Authorization", &client)
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&fresh).len(), 26, "a new ULID when none is sent");

    // One that is too long or has odd characters is replaced.
    for unsafe_id in ["x".repeat(200), "two words".to_string(), "a\"b".to_string()] {
        let response = app
            .http
            .get(app.url("/health"))
            .header("X-Request-Id", &unsafe_id)
            .send()
            .await
            .unwrap();
        let replaced = request_id(&response);
        assert_ne!(replaced, unsafe_id);
        assert_eq!(replaced.len(), 26);
    }
}

/// The real binary with `--log-format json`: every line is a JSON object, and the lines of a
/// request carry its request id, but never the token it sent.
pub async fn json_logs_carry_the_request_id(backend: Backend) {
    let mut setup = TestApp::spawn(&backend).await;
    setup.stop().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_flagpole"));
    command
        .args(["--log-format", "json", "serve"])
        .env_remove("DATABASE_URL")
        .env_remove("LOG_FORMAT")
        .env("DATA_DIR", &setup.database.data_dir)
        .env("HTTP_HOST", "127.0.0.1")
        .env("HTTP_PORT", port.to_string())
        .env("INIT_ADMIN_API_TOKENS", ADMIN_TOKEN)
        // tower_http's per-request lines are debug ones.
        .env("LOG_LEVEL", "info,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &setup.database.database_url {
        command.env("DATABASE_URL", url);
    }
    let mut child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server never answered");
    let response = http
        .get(format!("{base}/api/admin/projects"))
        .header("Authorization", ADMIN_TOKEN)
        .header("X-Request-Id", "json-log-check-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "json-log-check-1");

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect()
    })
    .await
    .unwrap();
    let _ = child.wait();

    let entries: Vec<Value> = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}"))
        })
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["fields"]["message"] == "Flagpole is serving"),
        "{lines:#?}"
    );
    let of_request: Vec<&Value> = entries
        .iter()
        .filter(|e| e["span"]["request_id"] == "json-log-check-1")
        .collect();
    assert!(of_request.len() >= 2, "{lines:#?}");
    assert!(of_request
        .iter()
        .all(|e| e["span"]["path"] == "/api/admin/projects"));
    let secret = ADMIN_TOKEN.split_once('.').unwrap().1;
    assert!(
        lines.iter().all(|line| !line.contains(secret)),
        "{lines:#?}"
    );
}
