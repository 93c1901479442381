//! Application state, router assembly and the server lifecycle.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::http::{header, Method, Request};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Layer;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::api::fast_path::{FastPathShared, SdkFastPath};
use crate::api::openapi;
use crate::auth::session::Sessions;
use crate::auth::token::{Secret, TokenType};
use crate::config::{redact_database_url, DatabaseArgs, ServeArgs};
use crate::connections::Limits;
use crate::domain::{settings, tokens, users, Core};
use crate::observability::{self, Telemetry};
use crate::store::{sqlite_path, Backend, CHANGES_CHANNEL};

/// Shared by every handler. One reference count to clone: axum clones the state for every
/// extractor and middleware of every request, so this sits on the hottest path there is.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What `AppState` shares.
pub struct Shared {
    pub core: Arc<Core>,
    /// Becomes true when the server shuts down, so that long-lived streams end.
    pub shutdown: watch::Receiver<bool>,
    /// Prometheus metrics of this server.
    pub telemetry: Arc<Telemetry>,
    /// Sign-in session settings and this process's sign-in limiter.
    pub sessions: Arc<Sessions>,
}

/// CORS for the Frontend API: origins come from the saved setting (or the configured default),
/// read from the snapshot on each request so that a change applies at once on every replica.
/// The router and the SDK fast path in front of it (`api::fast_path`) each apply it.
fn frontend_cors(core: Arc<Core>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            let snapshot = core.snapshot.current();
            let allowed = settings::frontend_origins(&core, &snapshot);
            allowed
                .iter()
                .any(|a| a == "*" || origin.as_bytes() == a.as_bytes())
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([header::ETAG])
        .max_age(Duration::from_secs(86_400))
}

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let cors = frontend_cors(Arc::clone(&state.core));
    let telemetry = Arc::clone(&state.telemetry);
    let (routes, mut document) = openapi::routes(Some(cors)).split_for_parts();
    openapi::complete(&mut document);
    // Kept as its JSON text: the document's structure takes megabytes, its text a tenth of that.
    let document = Bytes::from(serde_json::to_vec(&document).unwrap_or_default());
    let serve_document = move || {
        let document = document.clone();
        async move { ([(header::CONTENT_TYPE, "application/json")], document) }
    };
    routes
        .route(openapi::DOCUMENT_PATH, axum::routing::get(serve_document))
        .merge(
            SwaggerUi::new(openapi::VIEWER_PATH)
                .config(SwaggerConfig::new([openapi::DOCUMENT_PATH])),
        )
        .merge(crate::ui::routes())
        .fallback(crate::ui::not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            telemetry,
            observability::track_requests,
        ))
        // Spans carry the request id, the method and a redacted path: headers other than the
        // request id, and so tokens, are never logged.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let request_id = request
                    .headers()
                    .get(observability::REQUEST_ID_HEADER)
                    .and_then(|id| id.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!(
                    "request",
                    request_id = %request_id,
                    method = %request.method(),
                    path = %loggable_path(request.uri().path()),
                )
            }),
        )
        .layer(axum::middleware::from_fn(observability::request_id))
        .with_state(state)
}

/// The request path as it may appear in logs: token secrets in paths are replaced.
pub fn loggable_path(path: &str) -> String {
    const SECRET_PATHS: [&str; 1] = ["/api/admin/api-tokens/"];
    for prefix in SECRET_PATHS {
        if let Some(rest) = path.strip_prefix(prefix) {
            if !rest.is_empty() {
                return format!("{prefix}<redacted>");
            }
        }
    }
    path.to_owned()
}

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    /// Every request's router; each connection puts it behind its own SDK polling fast path.
    router: Router,
    state: AppState,
    limits: Limits,
    sync_interval: Duration,
    metrics_interval: Duration,
    database_url: String,
    shutdown_sender: watch::Sender<bool>,
    /// Held while serving an SQLite file, so that a second server on the same file refuses to
    /// start instead of running beside this one.
    _sqlite_lock: Option<std::fs::File>,
    pub core: Arc<Core>,
}

impl Server {
    /// Opens the database, applies migrations, creates start-up tokens and binds the port.
    pub async fn build(database: &DatabaseArgs, serve: &ServeArgs) -> anyhow::Result<Server> {
        let url = database.url()?;
        let sqlite_lock = match sqlite_path(&url) {
            Some(path) => Some(lock_sqlite_file(&path)?),
            None => None,
        };
        let mut core = Core::open(&url, &database.pool_settings())
            .await
            .with_context(|| format!("cannot open the database {}", redact_database_url(&url)))?;
        core.default_frontend_origins = serve
            .frontend_api_origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &core.default_frontend_origins {
            settings::check_origin(origin).map_err(|e| anyhow::anyhow!(e.describe()))?;
        }
        core.legacy_environments = serve
            .legacy_api_environments
            .iter()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect();
        crate::domain::built_ins::seed(&core).await?;
        let init_tokens = [
            (TokenType::Admin, serve.init_admin_api_tokens.clone()),
            (TokenType::Client, serve.init_client_tokens()),
            (TokenType::Frontend, serve.init_frontend_api_tokens.clone()),
        ];
        for (token_type, secrets) in init_tokens {
            for secret in secrets.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
                let secret = Secret::new(secret);
                if tokens::ensure_init_token(&core, token_type, &secret).await? {
                    tracing::info!(
                        token = %secret.display_prefix(),
                        kind = token_type.as_str(),
                        "created start-up API token"
                    );
                }
            }
        }
        create_first_admin(&core, &serve.users).await?;
        let core = Arc::new(core);
        let address = SocketAddr::new(serve.host, serve.port());
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let (shutdown_sender, shutdown) = watch::channel(false);
        let state = AppState(Arc::new(Shared {
            core: Arc::clone(&core),
            shutdown,
            telemetry: Arc::new(Telemetry::new()),
            sessions: Arc::new(Sessions {
                settings: serve.users.session_settings(),
                limiter: Default::default(),
            }),
        }));
        let limits = Limits::new(&serve.connections, serve.max_body_bytes);
        let router = router(state.clone(), serve.max_body_bytes).layer(
            axum::middleware::from_fn_with_state(limits, crate::connections::read_body_in_time),
        );
        Ok(Server {
            listener,
            router,
            state,
            limits,
            sync_interval: Duration::from_millis(serve.sync_interval_ms.max(10)),
            metrics_interval: Duration::from_millis(serve.metrics_flush_interval_ms.max(10)),
            database_url: url,
            shutdown_sender,
            _sqlite_lock: sqlite_lock,
            core,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let address = self.listener.local_addr()?;
        tracing::info!(%address, backend = ?self.core.store.backend(), "Flagpole is serving");
        let sync = tokio::spawn(keep_snapshot_in_sync(
            Arc::clone(&self.core),
            self.sync_interval,
        ));
        let listener = (self.core.store.backend() == Backend::Postgres).then(|| {
            tokio::spawn(listen_for_changes(
                Arc::clone(&self.core),
                self.database_url.clone(),
            ))
        });
        let metrics = tokio::spawn(flush_metrics_periodically(
            Arc::clone(&self.core),
            self.metrics_interval,
            self.shutdown_sender.subscribe(),
        ));
        let shutdown_sender = self.shutdown_sender;
        let shutdown = async move {
            shutdown.await;
            // Streams end first; otherwise graceful shutdown would wait for them forever.
            let _ = shutdown_sender.send(true);
        };
        let router = self.router;
        let cors = frontend_cors(Arc::clone(&self.state.core));
        let fast_path = FastPathShared::new(self.state, cors);
        let service_for = move |remote: SocketAddr| {
            // As `into_make_service_with_connect_info` does: handlers can ask for the peer.
            let router = axum::Extension(ConnectInfo(remote)).layer(router.clone());
            SdkFastPath::for_connection(router, Arc::clone(&fast_path), remote)
        };
        crate::connections::serve(self.listener, service_for, self.limits, shutdown).await;
        sync.abort();
        // The flush task stops between writes (never in the middle of one), then the last
        // buffered metrics are written.
        let _ = metrics.await;
        if let Some(listener) = listener {
            listener.abort();
        }
        if let Err(error) = self.core.metrics.flush(&self.core.store).await {
            tracing::warn!(%error, "could not write the last SDK metrics at shutdown");
        }
        self.core.store.close().await;
        Ok(())
    }
}

/// Creates the first Admin user when no user has ever existed. A generated password is logged
/// once, here; later starts find the user and log nothing.
async fn create_first_admin(core: &Core, args: &crate::config::UserArgs) -> anyhow::Result<()> {
    let configured = args.default_admin()?;
    match users::ensure_first_admin(core, configured).await? {
        Some((username, Some(password))) => tracing::warn!(
            "created the first Admin user \"{username}\" with password {password} \
             (shown only this once; sign in and change it)"
        ),
        Some((username, None)) => tracing::info!(
            username = %username,
            "created the first Admin user from UNLEASH_DEFAULT_ADMIN_USERNAME"
        ),
        None => {}
    }
    Ok(())
}

/// Takes an exclusive lock on `<file>.lock`; fails with a clear message when another Flagpole
/// server holds it. The CLI does not take it: SQLite itself serialises its short transactions.
fn lock_sqlite_file(path: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let lock_path = path.with_extension("db.lock");
    if let Some(parent) = lock_path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "another Flagpole server is already using {}. SQLite serves one process; \
             run several replicas on PostgreSQL instead (DATABASE_URL=postgres://…)",
            path.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
}

/// Refreshes the snapshot whenever any replica commits (PostgreSQL `LISTEN`). A lost
/// connection is re-established, followed by a refresh to cover what was missed meanwhile; the
/// periodic sync remains the safety net.
async fn listen_for_changes(core: Arc<Core>, url: String) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(error) = listener.listen(CHANGES_CHANNEL).await {
                    tracing::warn!(%error, "cannot listen for changes");
                } else {
                    let _ = core.snapshot.refresh(&core.store).await;
                    loop {
                        // `try_recv` reports a lost connection (as `None`) instead of silently
                        // reconnecting, so that what was missed meanwhile is read back.
                        match listener.try_recv().await {
                            Ok(notice) => {
                                if notice.is_none() {
                                    tracing::warn!("change notices interrupted; catching up");
                                }
                                if let Err(error) = core.snapshot.refresh(&core.store).await {
                                    tracing::warn!(%error, "cannot refresh after a change notice");
                                }
                            }
                            Err(error) => {
                                tracing::warn!(%error, "change notices interrupted; reconnecting");
                                break;
                            }
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot connect to listen for changes"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Writes buffered SDK metrics in one transaction per interval.
async fn flush_metrics_periodically(
    core: Arc<Core>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        if let Err(error) = core.metrics.flush(&core.store).await {
            tracing::warn!(%error, "could not write SDK metrics; keeping them for the next try");
        }
    }
}

/// Picks up changes committed by other processes (the CLI, other replicas) even when no request
/// on this one asks for fresh state. Cheap: one indexed query that usually returns nothing.
async fn keep_snapshot_in_sync(core: Arc<Core>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        ticker.tick().await;
        match core.snapshot.refresh(&core.store).await {
            Ok(_) if failing => {
                tracing::info!("database reachable again; snapshot in sync");
                failing = false;
            }
            Ok(_) => {}
            Err(error) if !failing => {
                tracing::warn!(%error, "cannot refresh the snapshot; serving the last one");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn token_secrets_in_paths_are_not_logged() {
        assert_eq!(
            loggable_path("/api/admin/api-tokens/*:*.secret"),
            "/api/admin/api-tokens/<redacted>"
        );
        assert_eq!(
            loggable_path("/api/admin/api-tokens"),
            "/api/admin/api-tokens"
        );
        assert_eq!(loggable_path("/api/admin/projects"), "/api/admin/projects");
    }
}
