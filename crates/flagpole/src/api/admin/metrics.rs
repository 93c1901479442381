//! SDK applications and per-flag usage, for people and the UI.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use axum::Json;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use crate::api::QueryPairs;
use crate::app::AppState;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};

fn timestamp(millis: i64) -> Value {
    Utc.timestamp_millis_opt(millis)
        .single()
        .map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(Value::Null)
}

/// Writes this process's buffered metrics first, so that what was just posted is counted.
async fn flush(state: &AppState) -> ApiResult<()> {
    Ok(state.core.metrics.flush(&state.core.store).await?)
}

/// What all instances of one application reported.
#[derive(Default)]
struct AppSummary {
    strategies: BTreeSet<String>,
    environments: BTreeSet<String>,
    sdk_versions: BTreeSet<String>,
    instances: Vec<Value>,
}

#[utoipa::path(
    get,
    path = "/metrics/applications",
    tag = "Metrics",
    summary = "SDK applications that registered",
    responses(
        (status = 200, description = "Applications", body = crate::api::schema::ApplicationList),
    )
)]
pub async fn applications(_: AdminAuth, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    flush(&state).await?;
    let rows = state.core.store.applications().await?;
    let mut by_app: BTreeMap<String, AppSummary> = BTreeMap::new();
    for row in rows {
        let entry = by_app.entry(row.app_name.clone()).or_default();
        entry.strategies.extend(row.strategies.iter().cloned());
        entry.environments.insert(row.environment.clone());
        if let Some(sdk) = &row.sdk_version {
            entry.sdk_versions.insert(sdk.clone());
        }
        entry.instances.push(json!({
            "instanceId": row.instance_id,
            "environment": row.environment,
            "sdkVersion": row.sdk_version,
            "firstSeenAt": timestamp(row.first_seen_at),
            "lastSeenAt": timestamp(row.last_seen_at),
        }));
    }
    let applications: Vec<Value> = by_app
        .into_iter()
        .map(|(app_name, app)| {
            json!({
                "appName": app_name,
                "strategies": app.strategies,
                "environments": app.environments,
                "sdkVersion": app.sdk_versions.into_iter().next(),
                "instances": app.instances,
            })
        })
        .collect();
    Ok(Json(
        json!({ "total": applications.len(), "applications": applications }),
    ))
}

/// Last hour of usage per environment and the applications that reported the flag.
#[utoipa::path(
    get,
    path = "/client-metrics/features/{feature}",
    tag = "Metrics",
    summary = "A flag's evaluations in the current hour",
    params(
        ("feature" = String, Path, description = "Flag name"),
    ),
    responses(
        (status = 200, description = "Usage", body = crate::api::schema::FeatureUsage),
    )
)]
pub async fn feature_usage(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    flush(&state).await?;
    let now = Utc::now().timestamp_millis();
    let hour_start = now - now.rem_euclid(3_600_000);
    let rows = state
        .core
        .store
        .feature_usage(&name, hour_start - 3_600_000)
        .await?;
    let mut last_hour: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut applications = BTreeSet::new();
    for row in &rows {
        applications.insert(row.app_name.clone());
        if row.hour_start == hour_start {
            let entry = last_hour.entry(row.environment.clone()).or_default();
            entry.0 += row.yes;
            entry.1 += row.no;
        }
    }
    let usage: Vec<Value> = last_hour
        .into_iter()
        .map(|(environment, (yes, no))| {
            json!({ "environment": environment, "timestamp": timestamp(hour_start), "yes": yes, "no": no })
        })
        .collect();
    Ok(Json(json!({
        "version": 1,
        "maturity": "stable",
        "featureName": name,
        "lastHourUsage": usage,
        "seenApplications": applications,
    })))
}

/// Hourly buckets for charts: `?hoursBack=` (1 to 720, default 1).
#[utoipa::path(
    get,
    path = "/client-metrics/features/{feature}/raw",
    tag = "Metrics",
    summary = "A flag's evaluations per hour, for charts",
    params(
        ("feature" = String, Path, description = "Flag name"),
        ("hoursBack" = Option<u32>, Query, description = "How many hours back, 1 to 720 (default 1)"),
    ),
    responses(
        (status = 200, description = "Hourly buckets", body = crate::api::schema::FeatureUsageRaw),
    )
)]
pub async fn feature_usage_raw(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(name): Path<String>,
    QueryPairs(parameters): QueryPairs,
) -> ApiResult<Json<Value>> {
    let mut hours_back = 1;
    for (key, value) in parameters {
        if key == "hoursBack" {
            hours_back = value
                .parse::<i64>()
                .ok()
                .filter(|h| (1..=720).contains(h))
                .ok_or_else(|| {
                    ApiError::bad_data("\"hoursBack\" must be a number from 1 to 720")
                })?;
        }
    }
    flush(&state).await?;
    let now = Utc::now().timestamp_millis();
    let since = now - now.rem_euclid(3_600_000) - (hours_back - 1) * 3_600_000;
    let rows = state.core.store.feature_usage(&name, since).await?;
    let data: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            json!({
                "featureName": name,
                "appName": row.app_name,
                "environment": row.environment,
                "timestamp": timestamp(row.hour_start),
                "yes": row.yes,
                "no": row.no,
                "variants": row.variants,
            })
        })
        .collect();
    Ok(Json(
        json!({ "version": 1, "maturity": "stable", "data": data }),
    ))
}
