//! The accept loop, in place of `axum::serve`, so that slow or stalled clients cannot hold the
//! server's connections: a deadline for each request's headers (which is also the idle timeout
//! of kept-alive connections), a deadline for each request's body (408), and a cap on open
//! connections (the rest wait in the kernel's listen queue). Graceful shutdown and
//! `ConnectInfo<SocketAddr>` work as with `axum::serve`.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::{Service, ServiceExt};

use crate::config::ConnectionArgs;
use crate::error::ApiError;

/// How long shutdown waits for in-flight requests before it closes what is left.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The limits, as durations.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub max_connections: usize,
    pub max_body_bytes: usize,
}

impl Limits {
    pub fn new(args: &ConnectionArgs, max_body_bytes: usize) -> Limits {
        Limits {
            header_timeout: Duration::from_millis(args.http_header_timeout_ms.max(1)),
            body_timeout: Duration::from_millis(args.http_body_timeout_ms.max(1)),
            max_connections: args.http_max_connections.max(1),
            max_body_bytes,
        }
    }
}

/// Reads the whole request body within the body deadline (408 otherwise) and within the body
/// limit (413 otherwise), before anything else looks at the request. Requests without a body
/// pass straight through, so streams and reads pay nothing.
pub async fn read_body_in_time(
    State(limits): State<Limits>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let read = Limited::new(body, limits.max_body_bytes).collect();
    match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(collected)) => {
            let body = Body::from(collected.to_bytes());
            next.run(Request::from_parts(parts, body)).await
        }
        Ok(Err(error)) if error.is::<LengthLimitError>() => {
            ApiError::PayloadTooLarge.into_response()
        }
        // The client went away or sent a broken body; it will hardly read this.
        Ok(Err(_)) => {
            ApiError::MalformedJson("The request body could not be read.".into()).into_response()
        }
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// Serves the services that `service_for` makes, one per connection (it is given the peer's
/// address), on `listener` until `shutdown` completes, then lets in-flight requests finish (for
/// at most `SHUTDOWN_GRACE`).
pub async fn serve<S>(
    listener: TcpListener,
    mut service_for: impl FnMut(SocketAddr) -> S,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // HTTP/2 has no header deadline of its own; pings find dead peers instead.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    tokio::pin!(shutdown);
    loop {
        // A permit first: at the cap, new connections wait in the listen queue, not in memory.
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little rather than spin, and keep serving.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service_for(remote)
            .map_request(|request: hyper::Request<hyper::body::Incoming>| request.map(Body::new));
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some requests were still running at shutdown; they were cut off");
    }
}
