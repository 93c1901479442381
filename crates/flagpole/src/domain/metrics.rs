//! SDK metrics and registrations. Requests add to an in-memory batch that a background task
//! writes every few seconds (and at shutdown), so a burst of SDK posts costs one transaction.
//! A crash loses at most the last unflushed interval of counts; flag changes are never buffered.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::Utc;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::store::{Counts, MetricKey, MetricsBatch, PostKey, Registration, Store, StoreResult};

pub const MAX_TOGGLES_PER_POST: usize = 10_000;
pub const MAX_COUNT: i64 = 1_000_000_000_000;
const MAX_APP_NAME: usize = 255;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientMetrics {
    pub app_name: String,
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub sdk_version: Option<String>,
    /// Unleash accepts a report without a bucket (and counts nothing); so does Flagpole.
    #[serde(default)]
    pub bucket: Bucket,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct Bucket {
    #[serde(default)]
    pub start: Option<serde_json::Value>,
    #[serde(default)]
    pub stop: Option<serde_json::Value>,
    #[serde(default)]
    pub toggles: HashMap<String, ToggleCounts>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ToggleCounts {
    #[serde(default)]
    pub yes: i64,
    #[serde(default)]
    pub no: i64,
    #[serde(default)]
    pub variants: BTreeMap<String, i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRegistration {
    pub app_name: String,
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub sdk_version: Option<String>,
    #[serde(default)]
    pub strategies: Vec<String>,
    #[serde(default)]
    pub started: Option<serde_json::Value>,
    #[serde(default)]
    pub interval: Option<i64>,
}

fn check_app_name(app_name: &str) -> ApiResult<()> {
    if app_name.trim().is_empty() || app_name.len() > MAX_APP_NAME {
        return Err(ApiError::bad_data(format!(
            "\"appName\" must be 1 to {MAX_APP_NAME} characters long"
        )));
    }
    Ok(())
}

/// Refuses the NUL character, which PostgreSQL cannot store in text: a report holding one
/// would fail every write of the batch it joined.
fn check_storable<'a>(texts: impl IntoIterator<Item = &'a str>) -> ApiResult<()> {
    if texts.into_iter().any(|text| text.contains('\0')) {
        return Err(ApiError::bad_data(
            "names and versions in a report must not contain the NUL character",
        ));
    }
    Ok(())
}

fn check_count(what: &str, count: i64) -> ApiResult<()> {
    if (0..=MAX_COUNT).contains(&count) {
        Ok(())
    } else {
        Err(ApiError::bad_data(format!(
            "{what} must be a whole number from 0 to {MAX_COUNT}"
        )))
    }
}

/// Metrics received and not yet written.
#[derive(Default)]
pub struct MetricsBuffer {
    pending: Mutex<MetricsBatch>,
}

impl MetricsBuffer {
    /// Validates a metrics post and adds it to the batch. Nothing is added if any part is invalid.
    pub fn record_metrics(&self, environment: &str, metrics: ClientMetrics) -> ApiResult<()> {
        check_app_name(&metrics.app_name)?;
        let bucket_texts = [&metrics.bucket.start, &metrics.bucket.stop]
            .into_iter()
            .filter_map(|value| value.as_ref().and_then(serde_json::Value::as_str));
        let toggle_texts = metrics.bucket.toggles.iter().flat_map(|(name, counts)| {
            std::iter::once(name.as_str()).chain(counts.variants.keys().map(String::as_str))
        });
        check_storable(
            [metrics.app_name.as_str()]
                .into_iter()
                .chain(metrics.instance_id.as_deref())
                .chain(metrics.sdk_version.as_deref())
                .chain(bucket_texts)
                .chain(toggle_texts),
        )?;
        if metrics.bucket.toggles.len() > MAX_TOGGLES_PER_POST {
            return Err(ApiError::bad_data(format!(
                "a metrics post may cover at most {MAX_TOGGLES_PER_POST} flags"
            )));
        }
        for (name, counts) in &metrics.bucket.toggles {
            check_count(&format!("\"yes\" of {name}"), counts.yes)?;
            check_count(&format!("\"no\" of {name}"), counts.no)?;
            for (variant, count) in &counts.variants {
                check_count(&format!("variant {variant} of {name}"), *count)?;
            }
        }
        let now = Utc::now().timestamp_millis();
        let hour_start = now - now.rem_euclid(3_600_000);
        let text = |value: &Option<serde_json::Value>| match value {
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            Some(serde_json::Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        // A post that names its instance and bucket can be recognised when it is sent again.
        let post_key = match (
            &metrics.instance_id,
            text(&metrics.bucket.start),
            text(&metrics.bucket.stop),
        ) {
            (Some(instance_id), Some(bucket_start), Some(bucket_stop)) => Some(PostKey {
                app_name: metrics.app_name.clone(),
                instance_id: instance_id.clone(),
                environment: environment.to_owned(),
                bucket_start,
                bucket_stop,
            }),
            _ => None,
        };
        let mut batch = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if post_key
            .as_ref()
            .is_some_and(|key| batch.posts.contains_key(key))
        {
            return Ok(());
        }
        let mut post_counts = Vec::new();
        for (name, counts) in metrics.bucket.toggles {
            if counts.yes + counts.no > 0 {
                batch
                    .last_seen
                    .insert((name.clone(), environment.to_owned()), now);
            }
            let key = MetricKey {
                feature_name: name,
                app_name: metrics.app_name.clone(),
                environment: environment.to_owned(),
                hour_start,
            };
            let counts = Counts {
                yes: counts.yes,
                no: counts.no,
                variants: counts.variants,
            };
            if post_key.is_some() {
                post_counts.push((key, counts));
            } else {
                batch.counts.entry(key).or_default().add(&counts);
            }
        }
        if let Some(post_key) = post_key {
            batch.posts.insert(post_key, post_counts);
        }
        if let Some(instance_id) = metrics.instance_id {
            let key = (
                metrics.app_name.clone(),
                instance_id.clone(),
                environment.to_owned(),
            );
            batch
                .registrations
                .entry(key)
                .or_insert_with(|| Registration {
                    app_name: metrics.app_name,
                    instance_id,
                    environment: environment.to_owned(),
                    sdk_version: None,
                    strategies: vec![],
                    interval_ms: None,
                    started_at: None,
                    seen_at: now,
                });
        }
        Ok(())
    }

    pub fn record_registration(
        &self,
        environment: &str,
        registration: ClientRegistration,
    ) -> ApiResult<()> {
        check_app_name(&registration.app_name)?;
        let started = registration
            .started
            .as_ref()
            .and_then(serde_json::Value::as_str);
        check_storable(
            [registration.app_name.as_str()]
                .into_iter()
                .chain(registration.instance_id.as_deref())
                .chain(registration.sdk_version.as_deref())
                .chain(started)
                .chain(registration.strategies.iter().map(String::as_str)),
        )?;
        let instance_id = registration
            .instance_id
            .unwrap_or_else(|| "default".to_string());
        let started_at = registration.started.map(|started| match started {
            serde_json::Value::String(text) => text,
            other => other.to_string(),
        });
        let entry = Registration {
            app_name: registration.app_name.clone(),
            instance_id: instance_id.clone(),
            environment: environment.to_owned(),
            sdk_version: registration.sdk_version,
            strategies: registration.strategies,
            interval_ms: registration.interval,
            started_at,
            seen_at: Utc::now().timestamp_millis(),
        };
        let mut batch = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        batch.registrations.insert(
            (registration.app_name, instance_id, environment.to_owned()),
            entry,
        );
        Ok(())
    }

    /// Writes what has been gathered. On failure the batch is put back, merged with anything
    /// that arrived meanwhile, so a database outage delays metrics instead of losing them.
    pub async fn flush(&self, store: &Store) -> StoreResult<()> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(error) = store.write_metrics(&batch).await {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            merge(&mut pending, batch);
            return Err(error);
        }
        Ok(())
    }
}

fn merge(into: &mut MetricsBatch, from: MetricsBatch) {
    for (key, counts) in from.counts {
        into.counts.entry(key).or_default().add(&counts);
    }
    for (key, counts) in from.posts {
        into.posts.entry(key).or_insert(counts);
    }
    for (key, registration) in from.registrations {
        into.registrations.entry(key).or_insert(registration);
    }
    for (key, seen_at) in from.last_seen {
        let entry = into.last_seen.entry(key).or_insert(seen_at);
        *entry = (*entry).max(seen_at);
    }
}
