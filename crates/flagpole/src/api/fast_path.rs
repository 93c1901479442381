//! The SDK polling fast path.
//!
//! Every process of every service polls `GET /api/client/features` every few seconds, and most
//! polls end in 304. Through the generic stack (nested routers, boxed middleware, extractors) a
//! poll costs several times what writing the answer does, so this service sits in front of the
//! router and answers the two common cases itself: a live client token asking for its flags
//! (200 from the prepared bytes, or 304). It uses the handler's own code for the answer and
//! keeps what the middleware gives every request: the `x-request-id` and the request metrics.
//!
//! Anything else — another route, no or a wrong token, a bad query, or debug logging switched
//! on (which wants the per-request trace) — goes through the router untouched, so errors and
//! logs are exactly those of the full stack.

use std::convert::Infallible;
use std::future::{ready, Ready};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::Query;
use axum::http::{Method, Request, StatusCode};
use axum::response::Response;
use futures_util::future::Either;
use tower::Service;

use crate::api::client::features_response;
use crate::app::AppState;
use crate::auth::ClientAuth;
use crate::observability::{request_id_for, REQUEST_ID_HEADER};

/// The route the fast path answers, as it appears in the request metrics.
const CLIENT_FEATURES: &str = "/api/client/features";

/// Wraps the router; see the module documentation.
#[derive(Clone)]
pub struct SdkFastPath<S> {
    inner: S,
    state: AppState,
}

impl<S> SdkFastPath<S> {
    pub fn new(inner: S, state: AppState) -> Self {
        SdkFastPath { inner, state }
    }
}

impl<S> Service<Request<Body>> for SdkFastPath<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        match answer(&self.state, &request) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.inner.call(request)),
        }
    }
}

/// The fast answer to this request, or `None` when the full stack must answer it.
fn answer(state: &AppState, request: &Request<Body>) -> Option<Response> {
    if request.method() != Method::GET
        || request.uri().path() != CLIENT_FEATURES
        || tracing::enabled!(tracing::Level::DEBUG)
    {
        return None;
    }
    let started = Instant::now();
    let headers = request.headers();
    let auth = ClientAuth::from_headers(state, headers).ok()?;
    let Query(parameters) = Query::<Vec<(String, String)>>::try_from_uri(request.uri()).ok()?;
    let mut response = features_response(state, &auth, headers, parameters).ok()?;
    if !matches!(response.status(), StatusCode::OK | StatusCode::NOT_MODIFIED) {
        return None;
    }
    response
        .headers_mut()
        .insert(REQUEST_ID_HEADER, request_id_for(headers));
    state.telemetry.observe(
        &Method::GET,
        CLIENT_FEATURES,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    Some(response)
}
