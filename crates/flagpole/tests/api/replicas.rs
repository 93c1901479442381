//! Several server processes: PostgreSQL replicas that share changes within a second and lose no
//! acknowledged write when one is killed, and SQLite's refusal of a second server on one file.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{serve_args, Backend, TestApp, ADMIN_TOKEN};

/// A `flagpole serve` process of its own.
struct Replica {
    child: Child,
    base: String,
}

impl Replica {
    async fn start(database_url: &str) -> Replica {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_flagpole"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("HTTP_HOST", "127.0.0.1")
            .env("HTTP_PORT", port.to_string())
            .env("INIT_ADMIN_API_TOKENS", ADMIN_TOKEN)
            .env("LOG_LEVEL", "warn")
            // Only notifications may bring changes across quickly; the safety net is slow.
            .env("SYNC_INTERVAL_MS", "30000")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let replica = Replica {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(response) = http.get(format!("{}/ready", replica.base)).send().await {
                if response.status() == StatusCode::OK {
                    return replica;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("replica on port {port} never became ready");
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> reqwest::Result<reqwest::Response> {
    let mut request = http.request(method, url).header("Authorization", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await
}

/// Polls until `check` holds; returns how long it took.
async fn within(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    started.elapsed()
}

/// PostgreSQL only: replicas need a shared database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_share_changes_within_a_second() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    // A fresh database, made by the usual test helper and then left to the two processes.
    let mut setup = TestApp::spawn(&backend).await;
    let url = setup.database.database_url.clone().unwrap();
    setup.stop().await;
    let (a, mut b) = (Replica::start(&url).await, Replica::start(&url).await);
    let http = reqwest::Client::new();
    use reqwest::Method;

    // A flag toggled on A is served by B's Client API.
    let client = send(
        &http,
        Method::POST,
        format!("{}/api/admin/api-tokens", a.base),
        ADMIN_TOKEN,
        Some(json!({"tokenName": "sdk", "type": "client", "environment": "development"})),
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let mut delays = Vec::new();
    for n in 0..20 {
        let name = format!("replicated-{n}");
        send(
            &http,
            Method::POST,
            format!("{}/api/admin/projects/default/features", a.base),
            ADMIN_TOKEN,
            Some(json!({"name": name})),
        )
        .await
        .unwrap();
        send(
            &http,
            Method::POST,
            format!(
                "{}/api/admin/projects/default/features/{name}/environments/development/on",
                a.base
            ),
            ADMIN_TOKEN,
            None,
        )
        .await
        .unwrap();
        let delay = within(Duration::from_secs(1), async || {
            let Ok(response) = send(
                &http,
                Method::GET,
                format!("{}/api/client/features/{name}", b.base),
                &client,
                None,
            )
            .await
            else {
                return false;
            };
            response.status() == StatusCode::OK
                && response
                    .json::<Value>()
                    .await
                    .is_ok_and(|f| f["enabled"] == true)
        })
        .await;
        delays.push(delay);
    }
    delays.sort();
    let _ = std::io::Write::write_fmt(
        &mut std::io::stderr(),
        format_args!(
            "replication delay over {} changes: median {:?}, max {:?}\n",
            delays.len(),
            delays[delays.len() / 2],
            delays[delays.len() - 1]
        ),
    );

    // A stream from B carries a change made on A within a second.
    let stream = send(
        &http,
        Method::GET,
        format!("{}/api/client/streaming", b.base),
        &client,
        None,
    )
    .await
    .unwrap();
    let reader = tokio::spawn(crate::delta::read_events(stream, 2));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let changed_at = Instant::now();
    send(
        &http,
        Method::POST,
        format!(
            "{}/api/admin/projects/default/features/replicated-0/environments/development/off",
            a.base
        ),
        ADMIN_TOKEN,
        None,
    )
    .await
    .unwrap();
    let events = reader.await.unwrap();
    assert!(changed_at.elapsed() < Duration::from_secs(1));
    assert_eq!(events[1].0, "unleash-updated");
    assert_eq!(events[1].2["events"][0]["feature"]["enabled"], false);

    // A token made on A works on B at once; revoked on A, it stops on B just as fast.
    let admin = send(
        &http,
        Method::POST,
        format!("{}/api/admin/api-tokens", a.base),
        ADMIN_TOKEN,
        Some(json!({"tokenName": "short", "type": "admin"})),
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap()["secret"]
        .as_str()
        .unwrap()
        .to_string();
    within(Duration::from_secs(1), async || {
        send(
            &http,
            Method::GET,
            format!("{}/api/admin/projects", b.base),
            &admin,
            None,
        )
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    })
    .await;
    send(
        &http,
        Method::DELETE,
        format!("{}/api/admin/api-tokens/{admin}", a.base),
        ADMIN_TOKEN,
        None,
    )
    .await
    .unwrap();
    within(Duration::from_secs(1), async || {
        send(
            &http,
            Method::GET,
            format!("{}/api/admin/projects", b.base),
            &admin,
            None,
        )
        .await
        .is_ok_and(|r| r.status() == StatusCode::UNAUTHORIZED)
    })
    .await;

    // Kill A with SIGKILL in the middle of a burst of writes: every acknowledged write is on B.
    let mut a = a;
    let writer = {
        let (http, base) = (http.clone(), a.base.clone());
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0..10_000 {
                let name = format!("burst-{n}");
                match send(
                    &http,
                    Method::POST,
                    format!("{base}/api/admin/projects/default/features"),
                    ADMIN_TOKEN,
                    Some(json!({"name": name})),
                )
                .await
                {
                    Ok(response) if response.status().is_success() => acknowledged.push(name),
                    _ => break,
                }
            }
            acknowledged
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.kill();
    let acknowledged = writer.await.unwrap();
    assert!(!acknowledged.is_empty());
    let listed = send(
        &http,
        Method::GET,
        format!("{}/api/admin/projects/default/features", b.base),
        ADMIN_TOKEN,
        None,
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap();
    let present: std::collections::HashSet<&str> = listed["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in &acknowledged {
        assert!(
            present.contains(name.as_str()),
            "acknowledged {name} is missing"
        );
    }
    let events = send(
        &http,
        Method::GET,
        format!(
            "{}/api/admin/search/events?type=feature-created&feature=IS:{}",
            b.base, acknowledged[0]
        ),
        ADMIN_TOKEN,
        None,
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(events["total"], 1);
    // B keeps serving.
    let response = send(
        &http,
        Method::GET,
        format!("{}/api/client/features", b.base),
        &client,
        None,
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    b.kill();
}

/// Two servers on one SQLite file would corrupt nothing (SQLite locks), but their snapshots
/// would drift apart; the second refuses to start and says why.
#[tokio::test]
async fn a_second_server_on_one_sqlite_file_is_refused() {
    let first = TestApp::spawn(&Backend::Sqlite).await;
    let error = flagpole::app::Server::build(&first.database, &serve_args())
        .await
        .err()
        .expect("the second server must not start");
    assert!(
        error
            .to_string()
            .contains("another Flagpole server is already using"),
        "{error}"
    );
}
