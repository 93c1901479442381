//! Starts a real Flagpole server on an ephemeral port, on a fresh database of either backend.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Once;

use flagpole::app::Server;
use flagpole::config::{DatabaseArgs, ServeArgs};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;

pub const ADMIN_TOKEN: &str = "*:*.test-admin-secret";

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL backend when `TEST_DATABASE_URL` is set; otherwise says once, on the
    /// terminal and not only in captured output, that the PostgreSQL tests are skipped.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ => {
                static SAY_ONCE: Once = Once::new();
                SAY_ONCE.call_once(|| {
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nskipped: PostgreSQL tests (set TEST_DATABASE_URL to run them)\n"
                    );
                });
                None
            }
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub database: DatabaseArgs,
    _data_dir: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Makes a database no other test uses.
async fn fresh_database(backend: &Backend) -> (DatabaseArgs, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let args = database_args(None, dir.path().to_path_buf());
            (args, Some(dir))
        }
        Backend::Postgres(url) => {
            let name = format!(
                "flagpole_test_{}",
                ulid::Ulid::new().to_string().to_lowercase()
            );
            let mut admin = sqlx::PgConnection::connect(url)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(&format!("create database {name}"))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let (base, _) = url.rsplit_once('/').expect("database URL with a path");
            let args = database_args(Some(format!("{base}/{name}")), PathBuf::from("unused"));
            (args, None)
        }
    }
}

fn database_args(url: Option<String>, data_dir: PathBuf) -> DatabaseArgs {
    DatabaseArgs {
        database_url: url,
        data_dir,
        pool_max: 5,
        acquire_timeout_ms: 5_000,
    }
}

pub fn serve_args() -> ServeArgs {
    ServeArgs {
        port: Some(0),
        host: IpAddr::V4(Ipv4Addr::LOCALHOST),
        init_admin_api_tokens: vec![ADMIN_TOKEN.to_string()],
        init_client_api_tokens: vec![],
        init_frontend_api_tokens: vec![],
        legacy_api_environments: vec![],
        frontend_api_origins: vec!["*".into()],
        max_body_bytes: 64 * 1024,
        sync_interval_ms: 100,
        metrics_flush_interval_ms: 200,
        users: Default::default(),
        connections: Default::default(),
    }
}

impl TestApp {
    pub async fn spawn(backend: &Backend) -> TestApp {
        TestApp::spawn_with(backend, serve_args()).await
    }

    pub async fn spawn_with(backend: &Backend, serve: ServeArgs) -> TestApp {
        let (database, dir) = fresh_database(backend).await;
        let mut app = TestApp::start(database, serve).await;
        app._data_dir = dir;
        app
    }

    /// A fresh database with no server started on it yet (so no first start has happened).
    pub async fn unstarted(backend: &Backend) -> TestApp {
        let (database, dir) = fresh_database(backend).await;
        TestApp {
            base: String::new(),
            http: reqwest::Client::new(),
            database,
            _data_dir: dir,
            shutdown: None,
            task: None,
        }
    }

    /// Starts a server on an existing database.
    pub async fn start(database: DatabaseArgs, serve: ServeArgs) -> TestApp {
        let server = Server::build(&database, &serve)
            .await
            .expect("server starts");
        let address = server.local_addr().expect("bound");
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run_until(async {
                    let _ = signal.await;
                })
                .await
                .expect("server runs");
        });
        TestApp {
            base: format!("http://{address}"),
            http: reqwest::Client::new(),
            database,
            _data_dir: None,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Stops the server gracefully and starts a new one on the same database.
    pub async fn restart(mut self, serve: ServeArgs) -> TestApp {
        self.stop().await;
        let dir = self._data_dir.take();
        let mut next = TestApp::start(self.database.clone(), serve).await;
        next._data_dir = dir;
        next
    }

    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with the given token (or none) and JSON body (or none).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method_name = method.to_string();
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let json = body_value(response.text().await.expect("body read"));
        crate::contract::check(&method_name, path, status.as_u16(), &json);
        (status, json)
    }

    /// Sends a request with extra headers (cookies, CSRF tokens, proxy headers) and returns the
    /// response headers too. Checked against the OpenAPI document like `call`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let method_name = method.to_string();
        let mut request = self.http.request(method, self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let json = body_value(response.text().await.expect("body read"));
        crate::contract::check(&method_name, path, status.as_u16(), &json);
        (status, headers, json)
    }

    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(method, path, Some(ADMIN_TOKEN), body).await
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.admin(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let (status, response) = self.admin(Method::POST, path, Some(body)).await;
        assert!(status.is_success(), "POST {path}: {status} {response}");
        response
    }

    pub async fn create_flag(&self, name: &str) -> Value {
        self.post(
            "/api/admin/projects/default/features",
            serde_json::json!({ "name": name }),
        )
        .await
    }

    pub async fn create_token(&self, body: Value) -> String {
        let created = self.post("/api/admin/api-tokens", body).await;
        created["secret"].as_str().expect("secret").to_string()
    }

    /// The number of audit events: used to check that a rejected request wrote nothing.
    pub async fn event_count(&self) -> i64 {
        self.get("/api/admin/search/events?limit=1").await["total"]
            .as_i64()
            .expect("total")
    }
}

/// A response body as JSON: `null` when empty, a string when it is not JSON.
pub fn body_value(text: String) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }
}

/// The names of the flags in a response's `features` list, in the order given.
pub fn feature_names(body: &Value) -> Vec<String> {
    body["features"]
        .as_array()
        .expect("a features list")
        .iter()
        .map(|f| f["name"].as_str().expect("a flag name").to_owned())
        .collect()
}
