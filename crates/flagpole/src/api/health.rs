//! Liveness and readiness for load balancers and orchestrators.

use axum::extract::State;
use axum::http::StatusCode;
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
