//! Slow and stalled clients: a client that never finishes its headers, one that never finishes
//! its body, and idle kept-alive connections are cut off, and while the connection cap is taken
//! by such clients the others are served as soon as the deadlines free a place.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{serve_args, Backend, TestApp, ADMIN_TOKEN};

async fn app_with_short_deadlines(max_connections: usize) -> TestApp {
    let mut serve = serve_args();
    serve.connections.http_header_timeout_ms = 500;
    serve.connections.http_body_timeout_ms = 500;
    serve.connections.http_max_connections = max_connections;
    TestApp::spawn_with(&Backend::Sqlite, serve).await
}

fn address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the connection (or `limit` passes); returns what came and when
/// the connection closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (
                    String::from_utf8_lossy(&received).into(),
                    Some(started.elapsed()),
                )
            }
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&received).into(), None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_headers_are_cut_off() {
    let app = app_with_short_deadlines(64).await;
    let mut stalled = TcpStream::connect(address(&app)).await.unwrap();
    // Headers begun, never finished; a byte now and then keeps a naive server waiting forever.
    stalled
        .write_all(b"GET /api/admin/projects HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let dripping = async {
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if stalled.write_all(b"X-A: b\r\n").await.is_err() {
                break;
            }
        }
    };
    // Meanwhile other clients are served.
    let (_, served) = tokio::join!(dripping, app.http.get(app.url("/health")).send());
    assert_eq!(served.unwrap().status(), StatusCode::OK);
    let (_, closed) = read_until_closed(&mut stalled, Duration::from_secs(3)).await;
    assert!(closed.is_some(), "the stalled connection is still open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_kept_alive_connections_are_closed() {
    let app = app_with_short_deadlines(64).await;
    let mut idle = TcpStream::connect(address(&app)).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (response, closed) = read_until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let closed = closed.expect("the idle connection is still open after 3 s");
    assert!(
        closed >= Duration::from_millis(400),
        "closed too early: {closed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_gets_408_and_changes_nothing() {
    let app = app_with_short_deadlines(64).await;
    let before = app.event_count().await;
    let mut slow = TcpStream::connect(address(&app)).await.unwrap();
    let request = format!(
        "POST /api/admin/projects/default/features HTTP/1.1\r\nHost: x\r\n\
         Authorization: {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{\"name\": \"slow"
    );
    slow.write_all(request.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (response, _) = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("RequestTimeoutError"), "{response}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(app.event_count().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_cannot_take_every_connection() {
    let app = app_with_short_deadlines(4).await;
    // Four stalled clients take every place.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut stream = TcpStream::connect(address(&app)).await.unwrap();
        stream.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
        stalled.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A well-behaved client waits in the listen queue, then is served once the header deadline
    // frees places: not refused, and not stuck.
    let started = Instant::now();
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        app.http.get(app.url("/health")).send(),
    )
    .await
    .expect("served within 5 s")
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200),
        "the cap did not apply: {waited:?}"
    );
    for mut stream in stalled {
        let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(3)).await;
        assert!(closed.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lived_streams_outlast_the_header_deadline() {
    use futures_util::StreamExt;
    let app = app_with_short_deadlines(64).await;
    app.create_flag("live").await;
    let token = app
        .create_token(
            serde_json::json!({"tokenName": "s", "type": "client", "environment": "development"}),
        )
        .await;
    let response = app
        .http
        .get(app.url("/api/client/streaming"))
        .header("Authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    while !text.contains("unleash-connected") {
        text.push_str(&String::from_utf8_lossy(
            &stream.next().await.unwrap().unwrap(),
        ));
    }
    // Three header deadlines pass with the stream open and quiet; then a change still arrives.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    app.admin(
        reqwest::Method::POST,
        "/api/admin/projects/default/features/live/environments/development/on",
        None,
    )
    .await;
    let update = tokio::time::timeout(Duration::from_secs(3), async {
        let mut text = String::new();
        while !text.contains("unleash-updated") {
            match stream.next().await {
                Some(Ok(chunk)) => text.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return false,
            }
        }
        true
    })
    .await;
    assert_eq!(
        update,
        Ok(true),
        "the stream was cut or the update never came"
    );
}
