//! Liveness and readiness for load balancers and orchestrators; metrics for Prometheus.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::app::AppState;

/// The process is up. Same shape as Unleash's `/health`.
#[utoipa::path(
    get,
    path = "/health",
    tag = "Operations",
    summary = "Liveness: the process serves",
    responses(
        (status = 200, description = "Serving", body = crate::api::schema::Health),
    )
)]
pub async fn health() -> Json<Value> {
    Json(json!({ "health": "GOOD" }))
}

/// Ready for traffic: the database answers and a snapshot is loaded.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "Operations",
    summary = "Readiness: the database answers",
    responses(
        (status = 200, description = "Ready", body = crate::api::schema::Readiness),
        (status = 503, description = "The database cannot be reached", body = crate::api::schema::Readiness),
    )
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = state.core.store.ping().await;
    let revision = state.core.snapshot.current().revision;
    let ready = database && revision > 0;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "health": if ready { "GOOD" } else { "BAD" },
            "database": if database { "reachable" } else { "unreachable" },
            "revision": revision,
        })),
    )
}

#[utoipa::path(
    get,
    path = "/internal-backstage/prometheus",
    tag = "Operations",
    summary = "Metrics for Prometheus (OpenMetrics text format)",
    responses(
        (status = 200, description = "Request counts and latencies per route, snapshot, pool, stream and flag gauges", body = String, content_type = "application/openmetrics-text"),
        (status = 500, description = "The metrics could not be rendered"),
    )
)]
/// `GET /internal-backstage/prometheus`: metrics in the OpenMetrics text format. Unauthenticated,
/// as in Unleash: it shows counts and timings, never names of flags or secrets.
pub async fn prometheus(State(state): State<AppState>) -> Response {
    match state.telemetry.render(&state.core) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(crate::observability::OPENMETRICS_CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
