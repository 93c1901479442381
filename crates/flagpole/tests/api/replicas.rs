//! Several server processes: PostgreSQL replicas that share changes within a second and lose no
//! acknowledged write when one is killed, and SQLite's refusal of a second server on one file.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{serve_args, Backend, TestApp, ADMIN_TOKEN};

/// A `flagpole serve` process of its own.
pub(crate) struct Replica {
    child: Child,
    pub(crate) base: String,
}

impl Replica {
    pub(crate) async fn start(database_url: &str) -> Replica {
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

    /// Asks the process to stop, as an orchestrator would, and returns how it ended.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop within 10 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn kill(&mut self) {
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

    // Metrics posted to both replicas add up, and the same bucket re-sent to the other replica
    // is counted once.
    for (replica, minute) in [(&a, 0), (&b, 1), (&b, 0)] {
        let post = json!({"appName": "app", "instanceId": "i-1",
            "bucket": {"start": format!("2026-11-28T10:0{minute}:00Z"), "stop": format!("2026-11-28T10:0{minute}:59Z"),
                       "toggles": {"replicated-0": {"yes": 4, "no": 1}}}});
        let response = send(
            &http,
            Method::POST,
            format!("{}/api/client/metrics", replica.base),
            &client,
            Some(post),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    // Each replica writes its own buffer when asked for usage.
    send(
        &http,
        Method::GET,
        format!("{}/api/admin/client-metrics/features/replicated-0", a.base),
        ADMIN_TOKEN,
        None,
    )
    .await
    .unwrap();
    let usage = send(
        &http,
        Method::GET,
        format!("{}/api/admin/client-metrics/features/replicated-0", b.base),
        ADMIN_TOKEN,
        None,
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(usage["lastHourUsage"][0]["yes"], 8, "{usage}");

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

/// SIGTERM ends open streams, answers what is in flight, writes buffered metrics and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_gracefully_and_keeps_buffered_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/flagpole.db?mode=rwc", dir.path().display());
    let mut server = Replica::start(&url).await;
    let http = reqwest::Client::new();
    use reqwest::Method;
    send(
        &http,
        Method::POST,
        format!("{}/api/admin/projects/default/features", server.base),
        ADMIN_TOKEN,
        Some(json!({"name": "counted"})),
    )
    .await
    .unwrap();
    let client = send(
        &http,
        Method::POST,
        format!("{}/api/admin/api-tokens", server.base),
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
    // Metrics are buffered (the default interval is 5 s), and a stream is open.
    let response = send(
        &http,
        Method::POST,
        format!("{}/api/client/metrics", server.base),
        &client,
        Some(json!({"appName": "app", "bucket": {"toggles": {"counted": {"yes": 3, "no": 1}}}})),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let stream = send(
        &http,
        Method::GET,
        format!("{}/api/client/streaming", server.base),
        &client,
        None,
    )
    .await
    .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);

    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    drop(stream);

    let server = Replica::start(&url).await;
    let usage = send(
        &http,
        Method::GET,
        format!("{}/api/admin/client-metrics/features/counted", server.base),
        ADMIN_TOKEN,
        None,
    )
    .await
    .unwrap()
    .json::<Value>()
    .await
    .unwrap();
    assert_eq!(usage["lastHourUsage"][0]["yes"], 3, "{usage}");
}

/// PostgreSQL only: while the database refuses connections, writes answer 503 and SDK reads
/// keep being served from memory; when it is back, writes work again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_gives_503_and_recovers() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let Backend::Postgres(admin_url) = &backend else {
        unreachable!()
    };
    let app = TestApp::spawn(&backend).await;
    let database = app.database.database_url.clone().unwrap();
    let name = database.rsplit('/').next().unwrap().to_string();
    app.create_flag("before").await;
    let client = app
        .create_token(json!({"tokenName": "sdk", "type": "client", "environment": "development"}))
        .await;
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(admin_url)
        .await
        .unwrap();
    let outage = |allow: bool| format!("alter database {name} allow_connections {allow}");
    sqlx::query(&outage(false))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::query(&format!(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = '{name}' and pid <> pg_backend_pid()"
    ))
    .execute(&mut admin)
    .await
    .unwrap();

    let (status, body) = app
        .admin(
            reqwest::Method::POST,
            "/api/admin/projects/default/features",
            Some(json!({"name": "during"})),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["name"], "ServiceUnavailableError");
    let (status, body) = app
        .call(
            reqwest::Method::GET,
            "/api/client/features",
            Some(&client),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["features"][0]["name"], "before");
    let (status, _) = app.call(reqwest::Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    sqlx::query(&outage(true))
        .execute(&mut admin)
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let (status, _) = app
            .admin(
                reqwest::Method::POST,
                "/api/admin/projects/default/features",
                Some(json!({"name": "after"})),
            )
            .await;
        if status.is_success() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no recovery: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = app.call(reqwest::Method::GET, "/ready", None, None).await;
    assert_eq!(status, StatusCode::OK);
}
