//! No secret reaches the logs: a server process at the most verbose log level is driven through
//! sign-in, token creation and use (in headers and in paths), personal access tokens, failed
//! sign-ins, revocation and a database URL with a password; then its whole output is searched
//! for every secret it saw.

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};

const ADMIN_PASSWORD: &str = "Initial-Secret-Pass-77";
const USER_PASSWORD: &str = "Another-Secret-Pass-88";

pub async fn secrets_never_reach_the_logs(backend: Backend) {
    let database = TestApp::unstarted(&backend).await;
    let mut url = database.database.url().unwrap();
    // A password in the URL that the log must not show (PostgreSQL trusts local connections
    // here, so any password works).
    if let Some(rest) = url.strip_prefix("postgres://postgres@") {
        url = format!("postgres://postgres:Url-Secret-99@{rest}");
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Output goes to a file: a pipe nobody reads while the server runs would fill and block it.
    let log_dir = tempfile::tempdir().unwrap();
    let log_path = log_dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flagpole"))
        .args(["--log-format", "json", "serve"])
        .env("DATABASE_URL", &url)
        .env("HTTP_HOST", "127.0.0.1")
        .env("HTTP_PORT", port.to_string())
        .env("INIT_ADMIN_API_TOKENS", ADMIN_TOKEN)
        .env("UNLEASH_DEFAULT_ADMIN_USERNAME", "root")
        .env("UNLEASH_DEFAULT_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("LOG_LEVEL", "trace,hyper=info,h2=info,sqlx=debug")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let call = |method: Method, path: &str, auth: &str, body: Option<Value>| {
        let mut request = http.request(method, format!("{base}{path}"));
        if !auth.is_empty() {
            request = request.header("Authorization", auth);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, headers, body)
        }
    };

    let mut secrets: Vec<String> = vec![
        ADMIN_TOKEN.into(),
        ADMIN_PASSWORD.into(),
        USER_PASSWORD.into(),
        "Url-Secret-99".into(),
    ];
    for kind in ["admin", "client", "frontend"] {
        let mut body = json!({"tokenName": kind, "type": kind});
        if kind != "admin" {
            body["environment"] = json!("development");
        }
        let (status, _, created) = call(
            Method::POST,
            "/api/admin/api-tokens",
            ADMIN_TOKEN,
            Some(body),
        )
        .await;
        assert!(status.is_success(), "{created}");
        let secret = created["secret"].as_str().unwrap().to_string();
        // Used, looked up by its secret in the path, and revoked.
        let _ = call(Method::GET, "/api/client/features", &secret, None).await;
        let _ = call(Method::GET, "/api/frontend", &secret, None).await;
        let _ = call(
            Method::GET,
            &format!("/api/admin/api-tokens/{secret}"),
            ADMIN_TOKEN,
            None,
        )
        .await;
        let (status, _, _) = call(
            Method::DELETE,
            &format!("/api/admin/api-tokens/{secret}"),
            ADMIN_TOKEN,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let _ = call(Method::GET, "/api/client/features", &secret, None).await;
        secrets.push(secret);
    }
    let (status, _, _) = call(
        Method::POST,
        "/api/admin/user-admin",
        ADMIN_TOKEN,
        Some(json!({"username": "writer", "rootRole": "Editor", "password": USER_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let _ = call(
        Method::POST,
        "/auth/simple/login",
        "",
        Some(json!({"username": "writer", "password": "Wrong-Guess-123"})),
    )
    .await;
    let (status, headers, _) = call(
        Method::POST,
        "/auth/simple/login",
        "",
        Some(json!({"username": "root", "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cookies: Vec<String> = headers
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let cookie = cookies.join("; ");
    for value in &cookies {
        secrets.push(value.split_once('=').unwrap().1.to_string());
    }
    let me = http
        .get(format!("{base}/api/admin/user"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csrf = me
        .headers()
        .get("x-csrf-token")
        .map(|v| v.to_str().unwrap().to_string());
    if let Some(csrf) = &csrf {
        secrets.push(csrf.clone());
    }
    let mut pat_request = http
        .post(format!("{base}/api/admin/user/tokens"))
        .header("Cookie", &cookie)
        .json(&json!({"description": "script", "expiresAt": chrono::Utc::now() + chrono::Duration::days(1)}));
    if let Some(csrf) = &csrf {
        pat_request = pat_request.header("X-CSRF-Token", csrf);
    }
    let pat: Value = pat_request.send().await.unwrap().json().await.unwrap();
    if let Some(pat) = pat["secret"].as_str() {
        let _ = call(Method::GET, "/api/admin/projects", pat, None).await;
        secrets.push(pat.to_string());
    }
    let _ = call(
        Method::POST,
        "/api/admin/user/change-password",
        "",
        Some(json!({"password": USER_PASSWORD})),
    )
    .await;

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..300 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let output = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        output.lines().count() > 20,
        "the run logged too little to mean anything:\n{output}"
    );
    for secret in &secrets {
        // The part after the prefix of a token is what must stay hidden.
        let hidden = secret.rsplit_once('.').map_or(secret.as_str(), |(_, s)| s);
        assert!(
            hidden.len() >= 8 && !output.contains(hidden),
            "a secret ({}…) appears in the logs",
            &hidden[..4.min(hidden.len())]
        );
    }
    println!(
        "secrets: {} secrets searched for in {} log lines at trace level; none found",
        secrets.len(),
        output.lines().count()
    );
}
