//! The SDK polling fast path.
//!
//! Every process of every service polls `GET /api/client/features` every few seconds, and most
//! polls end in 304. Through the generic stack (nested routers, boxed middleware, extractors) a
//! poll costs several times what writing the answer does, so this service sits in front of the
//! router and answers the two common cases itself: a live client token asking for its flags
//! (200 from the prepared bytes, or 304). It uses the handler's own code for the answer and
//! keeps what the middleware gives every request: the `x-request-id` and the request metrics.
//! Each connection also remembers its last answer, so that the next poll, while nothing has
//! changed, is a comparison of its headers with the last one's and a 304.
//!
//! Anything else — another route, no or a wrong token, a bad query, or debug logging switched
//! on (which wants the per-request trace) — goes through the router untouched, so errors and
//! logs are exactly those of the full stack.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Query;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::future::Either;
use subtle::ConstantTimeEq;
use tower::util::Oneshot;
use tower::{Service, ServiceExt};

use crate::api::client::{etag_matches, features_response, wants_inlined_segments};
use crate::app::AppState;
use crate::auth::ClientAuth;
use crate::observability::{request_id_for, RouteMetrics, REQUEST_ID_HEADER};

/// The route the fast path answers, as it appears in the request metrics.
const CLIENT_FEATURES: &str = "/api/client/features";

/// Wraps the router for one connection; see the module documentation.
///
/// hyper clones the service for every request, so everything sits behind one `Arc`: a clone is
/// one reference count, not one per field.
pub struct SdkFastPath<S> {
    connection: Arc<Connection<S>>,
}

impl<S> Clone for SdkFastPath<S> {
    fn clone(&self) -> Self {
        SdkFastPath {
            connection: Arc::clone(&self.connection),
        }
    }
}

struct Connection<S> {
    inner: S,
    state: AppState,
    metrics: RouteMetrics,
    /// The last answer on this connection. An SDK polls with the same token and query each
    /// time, so while the snapshot is the same, its next 304 needs no token digest, scope or
    /// payload lookup.
    remembered: Mutex<Option<Remembered>>,
}

/// What a poll on this connection was answered with, and under which conditions that answer
/// still holds.
struct Remembered {
    authorization: HeaderValue,
    query: Option<String>,
    inline_segments: bool,
    /// Any change (a revoked token included) publishes a snapshot with a new revision.
    revision: i64,
    token_expires_at: Option<DateTime<Utc>>,
    etag: HeaderValue,
}

impl<S> SdkFastPath<S> {
    /// The fast path for one new connection.
    pub fn for_connection(inner: S, state: AppState) -> Self {
        let metrics = state.telemetry.route_metrics(&Method::GET, CLIENT_FEATURES);
        SdkFastPath {
            connection: Arc::new(Connection {
                inner,
                state,
                metrics,
                remembered: Mutex::default(),
            }),
        }
    }
}

impl<S> Connection<S> {
    /// The fast answer to this request, or `None` when the full stack must answer it.
    fn answer(&self, request: &Request<Body>) -> Option<Response> {
        if request.method() != Method::GET
            || request.uri().path() != CLIENT_FEATURES
            || tracing::enabled!(tracing::Level::DEBUG)
        {
            return None;
        }
        let started = Instant::now();
        let mut response = self
            .answer_remembered(request)
            .or_else(|| self.answer_afresh(request))?;
        let headers = request.headers();
        response
            .headers_mut()
            .insert(REQUEST_ID_HEADER, request_id_for(headers));
        self.metrics.observe(
            response.status() == StatusCode::NOT_MODIFIED,
            started.elapsed().as_secs_f64(),
        );
        Some(response)
    }

    /// 304 when this connection's last answer still holds and the client already has it.
    fn answer_remembered(&self, request: &Request<Body>) -> Option<Response> {
        let headers = request.headers();
        let remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
        let last = remembered.as_ref()?;
        let authorization = headers.get(header::AUTHORIZATION)?;
        // The same secret as before, compared in constant time like every secret.
        let same_secret: bool = authorization
            .as_bytes()
            .ct_eq(last.authorization.as_bytes())
            .into();
        let holds = same_secret
            && request.uri().query() == last.query.as_deref()
            && wants_inlined_segments(headers) == last.inline_segments
            && self.state.core.snapshot.current_revision() == last.revision
            && last.token_expires_at.is_none_or(|at| Utc::now() < at)
            && etag_matches(headers, last.etag.to_str().ok()?);
        holds.then(|| {
            (
                StatusCode::NOT_MODIFIED,
                [(header::ETAG, last.etag.clone())],
            )
                .into_response()
        })
    }

    /// The handler's own answer, remembered for the next poll.
    fn answer_afresh(&self, request: &Request<Body>) -> Option<Response> {
        let headers = request.headers();
        let revision = self.state.core.snapshot.current_revision();
        let auth = ClientAuth::from_headers(&self.state, headers).ok()?;
        let Query(parameters) = Query::<Vec<(String, String)>>::try_from_uri(request.uri()).ok()?;
        let response = features_response(&self.state, &auth, headers, parameters).ok()?;
        if !matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED) {
            return None;
        }
        if let (Some(authorization), Some(etag)) = (
            headers.get(header::AUTHORIZATION),
            response.headers().get(header::ETAG),
        ) {
            // Read before the answer was made: if the snapshot moved on meanwhile, this only
            // makes the next poll take this path again.
            *self.remembered.lock().unwrap_or_else(|e| e.into_inner()) = Some(Remembered {
                authorization: authorization.clone(),
                query: request.uri().query().map(str::to_owned),
                inline_segments: wants_inlined_segments(headers),
                revision,
                token_expires_at: auth.token.expires_at,
                etag: etag.clone(),
            });
        }
        Some(response)
    }
}

impl<S> Service<Request<Body>> for SdkFastPath<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, Oneshot<S, Request<Body>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is asked when a request goes to it (`oneshot`).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        match self.connection.answer(&request) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.connection.inner.clone().oneshot(request)),
        }
    }
}
