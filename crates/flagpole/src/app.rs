//! Application state, router assembly and the server lifecycle.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::api::{self, admin, health};
use crate::auth::token::{Secret, TokenType};
use crate::config::{redact_database_url, DatabaseArgs, ServeArgs};
use crate::domain::{tokens, Core};

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub core: Arc<Core>,
}

pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .nest("/api/admin", admin::router())
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // Spans carry method and path only: headers (and so tokens) are never logged.
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, ready-to-run server.
pub struct Server {
    listener: TcpListener,
    router: Router,
    pub core: Arc<Core>,
}

impl Server {
    /// Opens the database, applies migrations, creates start-up tokens and binds the port.
    pub async fn build(database: &DatabaseArgs, serve: &ServeArgs) -> anyhow::Result<Server> {
        let url = database.url()?;
        let mut core = Core::open(&url, &database.pool_settings())
            .await
            .with_context(|| format!("cannot open the database {}", redact_database_url(&url)))?;
        core.legacy_environments = serve
            .legacy_api_environments
            .iter()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect();
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
        let core = Arc::new(core);
        let address = SocketAddr::new(serve.host, serve.port());
        let listener = TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let state = AppState {
            core: Arc::clone(&core),
        };
        Ok(Server {
            listener,
            router: router(state, serve.max_body_bytes),
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
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        self.core.store.close().await;
        Ok(())
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
