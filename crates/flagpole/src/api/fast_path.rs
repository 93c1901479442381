//! The SDK fast path.
//!
//! Every process of every service polls `GET /api/client/features` every few seconds, and most
//! polls end in 304; browsers and mobile apps call `GET /api/frontend` on every page load or
//! app start. Through the generic stack (nested routers, boxed middleware, extractors) a poll
//! costs several times what writing the answer does, so this service sits in front of the
//! router and answers the common cases itself:
//!
//! - a live client token asking for its flags (200 from the prepared bytes, or 304). Each
//!   connection also remembers its last answer, so that the next poll, while nothing has
//!   changed, is a comparison of its headers with the last one's and a 304;
//! - a live frontend token asking for the flags that are on for the context in its query
//!   string, with the Frontend API's CORS policy applied by the same layer the router uses.
//!
//! It uses the handlers' own code for the answers and keeps what the middleware gives every
//! request: the `x-request-id` and the request metrics. Anything else — another route or
//! method, no or a wrong token, a bad query, or debug logging switched on (which wants the
//! per-request trace) — goes through the router untouched, so errors and logs are exactly those
//! of the full stack.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Query;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::future::Either;
use futures_util::FutureExt;
use subtle::ConstantTimeEq;
use tower::util::Oneshot;
use tower::{service_fn, Layer, Service, ServiceExt};
use tower_http::cors::CorsLayer;

use crate::api::client::{etag_matches, features_response, wants_inlined_segments};
use crate::api::frontend::features_for_query;
use crate::app::AppState;
use crate::auth::{ClientAuth, FrontendAuth};
use crate::observability::{request_id_for, RouteMetrics, REQUEST_ID_HEADER};

/// The routes the fast path answers, as they appear in the request metrics.
const CLIENT_FEATURES: &str = "/api/client/features";
const FRONTEND_FEATURES: &str = "/api/frontend";

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

/// What the fast paths of all connections share, made once per server: a new connection then
/// costs one reference count, not a CORS policy and two metric lookups.
pub struct FastPathShared {
    state: AppState,
    /// The Frontend API's CORS policy, as `app::frontend_cors` makes it for the router.
    frontend_cors: CorsLayer,
    client_metrics: RouteMetrics,
    frontend_metrics: RouteMetrics,
}

impl FastPathShared {
    pub fn new(state: AppState, frontend_cors: CorsLayer) -> Arc<FastPathShared> {
        let telemetry = &state.telemetry;
        let client_metrics = telemetry.route_metrics(&Method::GET, CLIENT_FEATURES, true);
        let frontend_metrics = telemetry.route_metrics(&Method::GET, FRONTEND_FEATURES, false);
        Arc::new(FastPathShared {
            state,
            frontend_cors,
            client_metrics,
            frontend_metrics,
        })
    }
}

struct Connection<S> {
    inner: S,
    shared: Arc<FastPathShared>,
    /// The peer, which the Frontend API takes as the context's `remoteAddress` when the query
    /// gives none.
    remote: SocketAddr,
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
    /// The fast path for one new connection from `remote`, in front of `inner` (the router).
    pub fn for_connection(inner: S, shared: Arc<FastPathShared>, remote: SocketAddr) -> Self {
        SdkFastPath {
            connection: Arc::new(Connection {
                inner,
                shared,
                remote,
                remembered: Mutex::default(),
            }),
        }
    }
}

/// What the fast path makes of a request.
enum Answer {
    /// Answered here.
    Answered(Response),
    /// Handed back for the router to answer.
    ForTheRouter(Request<Body>),
}

impl<S> Connection<S> {
    /// The fast answer to this request, or the request back when the full stack must answer it.
    fn answer(&self, request: Request<Body>) -> Answer {
        let path = request.uri().path();
        if request.method() != Method::GET
            || (path != CLIENT_FEATURES && path != FRONTEND_FEATURES)
            || tracing::enabled!(tracing::Level::DEBUG)
        {
            return Answer::ForTheRouter(request);
        }
        let started = Instant::now();
        let request_id = request_id_for(request.headers());
        let (mut response, metrics) = if path == CLIENT_FEATURES {
            let answer = self
                .answer_remembered(&request)
                .or_else(|| self.answer_afresh(&request));
            match answer {
                Some(response) => (response, &self.shared.client_metrics),
                None => return Answer::ForTheRouter(request),
            }
        } else {
            match self.answer_frontend(request) {
                Answer::Answered(response) => (response, &self.shared.frontend_metrics),
                passed => return passed,
            }
        };
        response.headers_mut().insert(REQUEST_ID_HEADER, request_id);
        metrics.observe(
            response.status() == StatusCode::NOT_MODIFIED,
            started.elapsed().as_secs_f64(),
        );
        Answer::Answered(response)
    }

    /// The flags on for the query's context, with the CORS headers the router's layer adds.
    fn answer_frontend(&self, request: Request<Body>) -> Answer {
        let answer = FrontendAuth::from_headers(&self.shared.state, request.headers())
            .ok()
            .and_then(|auth| {
                let Query(pairs) = Query::try_from_uri(request.uri()).ok()?;
                features_for_query(&self.shared.state, &auth, pairs, self.remote).ok()
            });
        let Some(answer) = answer else {
            return Answer::ForTheRouter(request);
        };
        // The layer's answer to a GET is the inner answer with headers added, ready on its
        // first poll (only preflight OPTIONS requests are answered by the layer alone). The
        // inner service is called once (`oneshot`), so it always has the answer to give.
        let mut answer = Some(answer);
        let with_cors = self
            .shared
            .frontend_cors
            .layer(service_fn(move |_: Request<Body>| {
                ready(Ok::<_, Infallible>(answer.take().unwrap_or_default()))
            }))
            .oneshot(request)
            .now_or_never();
        Answer::Answered(match with_cors {
            Some(Ok(response)) => response,
            Some(Err(never)) => match never {},
            None => crate::error::ApiError::Internal(anyhow::anyhow!(
                "the CORS layer did not answer at once"
            ))
            .into_response(),
        })
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
            && self.shared.state.core.snapshot.current_revision() == last.revision
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
        let revision = self.shared.state.core.snapshot.current_revision();
        let auth = ClientAuth::from_headers(&self.shared.state, headers).ok()?;
        let Query(parameters) = Query::<Vec<(String, String)>>::try_from_uri(request.uri()).ok()?;
        let response = features_response(&self.shared.state, &auth, headers, parameters).ok()?;
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
        match self.connection.answer(request) {
            Answer::Answered(response) => Either::Left(ready(Ok(response))),
            Answer::ForTheRouter(request) => {
                Either::Right(self.connection.inner.clone().oneshot(request))
            }
        }
    }
}
