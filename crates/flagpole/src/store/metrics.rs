//! SDK telemetry: registrations and evaluation counts, written in batches.

use std::collections::{BTreeMap, HashMap};

use sqlx::{AnyPool, Row};

use super::StoreResult;

/// One (flag, application, environment, hour) bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricKey {
    pub feature_name: String,
    pub app_name: String,
    pub environment: String,
    pub hour_start: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub yes: i64,
    pub no: i64,
    pub variants: BTreeMap<String, i64>,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.yes += other.yes;
        self.no += other.no;
        for (variant, count) in &other.variants {
            *self.variants.entry(variant.clone()).or_default() += count;
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub app_name: String,
    pub instance_id: String,
    pub environment: String,
    pub sdk_version: Option<String>,
    pub strategies: Vec<String>,
    pub interval_ms: Option<i64>,
    pub started_at: Option<String>,
    pub seen_at: i64,
}

/// Identifies one metrics post of one SDK instance: a re-sent bucket has the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PostKey {
    pub app_name: String,
    pub instance_id: String,
    pub environment: String,
    pub bucket_start: String,
    pub bucket_stop: String,
}

/// Everything gathered since the last flush.
#[derive(Debug, Default)]
pub struct MetricsBatch {
    /// Counts from posts that cannot be told apart (no instance id or bucket times).
    pub counts: HashMap<MetricKey, Counts>,
    /// Counts per identifiable post; each is added only if no replica has counted it before.
    pub posts: HashMap<PostKey, Vec<(MetricKey, Counts)>>,
    pub registrations: HashMap<(String, String, String), Registration>,
    pub last_seen: HashMap<(String, String), i64>,
}

impl MetricsBatch {
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
            && self.posts.is_empty()
            && self.registrations.is_empty()
            && self.last_seen.is_empty()
    }
}

/// Usage of one flag in one bucket, as read back.
#[derive(Debug, Clone)]
pub struct UsageRow {
    pub app_name: String,
    pub environment: String,
    pub hour_start: i64,
    pub yes: i64,
    pub no: i64,
    pub variants: BTreeMap<String, i64>,
}

#[derive(Debug, Clone)]
pub struct ApplicationRow {
    pub app_name: String,
    pub instance_id: String,
    pub environment: String,
    pub sdk_version: Option<String>,
    pub strategies: Vec<String>,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

/// Adds a batch to the stored totals in one transaction. A registration without some detail (a
/// metrics post only says an instance was seen) keeps what was stored before.
pub(super) async fn write(pool: &AnyPool, batch: &MetricsBatch) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut counts = batch.counts.clone();
    for (post, post_counts) in &batch.posts {
        let first_time = sqlx::query(
            "insert into client_metric_post (app_name, instance_id, environment, bucket_start, \
             bucket_stop, received_at) values ($1, $2, $3, $4, $5, $6) \
             on conflict (app_name, instance_id, environment, bucket_start, bucket_stop) do nothing",
        )
        .bind(&post.app_name)
        .bind(&post.instance_id)
        .bind(&post.environment)
        .bind(&post.bucket_start)
        .bind(&post.bucket_stop)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if first_time {
            for (key, post_count) in post_counts {
                counts.entry(key.clone()).or_default().add(post_count);
            }
        }
    }
    sqlx::query("delete from client_metric_post where received_at < $1")
        .bind(now - 2 * 24 * 3_600_000)
        .execute(&mut *tx)
        .await?;
    for (key, counts) in &counts {
        sqlx::query(
            "insert into client_metric (feature_name, app_name, environment, hour_start, yes, no) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (feature_name, app_name, environment, hour_start) do update set \
             yes = client_metric.yes + excluded.yes, no = client_metric.no + excluded.no",
        )
        .bind(&key.feature_name)
        .bind(&key.app_name)
        .bind(&key.environment)
        .bind(key.hour_start)
        .bind(counts.yes)
        .bind(counts.no)
        .execute(&mut *tx)
        .await?;
        for (variant, count) in &counts.variants {
            sqlx::query(
                "insert into client_metric_variant \
                 (feature_name, app_name, environment, hour_start, variant, count) \
                 values ($1, $2, $3, $4, $5, $6) \
                 on conflict (feature_name, app_name, environment, hour_start, variant) \
                 do update set count = client_metric_variant.count + excluded.count",
            )
            .bind(&key.feature_name)
            .bind(&key.app_name)
            .bind(&key.environment)
            .bind(key.hour_start)
            .bind(variant)
            .bind(*count)
            .execute(&mut *tx)
            .await?;
        }
    }
    for registration in batch.registrations.values() {
        sqlx::query(
            "insert into client_application (app_name, instance_id, environment, sdk_version, \
             strategies, interval_ms, started_at, first_seen_at, last_seen_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             on conflict (app_name, instance_id, environment) do update set \
             sdk_version = coalesce(excluded.sdk_version, client_application.sdk_version), \
             strategies = case when excluded.strategies = '[]' then client_application.strategies \
             else excluded.strategies end, \
             interval_ms = coalesce(excluded.interval_ms, client_application.interval_ms), \
             started_at = coalesce(excluded.started_at, client_application.started_at), \
             last_seen_at = excluded.last_seen_at",
        )
        .bind(&registration.app_name)
        .bind(&registration.instance_id)
        .bind(&registration.environment)
        .bind(registration.sdk_version.as_deref())
        .bind(serde_json::to_string(&registration.strategies).unwrap_or_else(|_| "[]".into()))
        .bind(registration.interval_ms)
        .bind(registration.started_at.as_deref())
        .bind(registration.seen_at)
        .execute(&mut *tx)
        .await?;
    }
    for ((feature_name, environment), seen_at) in &batch.last_seen {
        sqlx::query(
            "insert into feature_last_seen (feature_name, environment, last_seen_at) \
             values ($1, $2, $3) on conflict (feature_name, environment) do update set \
             last_seen_at = case when excluded.last_seen_at > feature_last_seen.last_seen_at \
             then excluded.last_seen_at else feature_last_seen.last_seen_at end",
        )
        .bind(feature_name)
        .bind(environment)
        .bind(*seen_at)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Buckets of one flag from `since` (epoch ms) on, oldest first.
pub(super) async fn usage(
    pool: &AnyPool,
    feature_name: &str,
    since: i64,
) -> StoreResult<Vec<UsageRow>> {
    let rows = sqlx::query(
        "select app_name, environment, hour_start, yes, no from client_metric \
         where feature_name = $1 and hour_start >= $2 order by hour_start, environment, app_name",
    )
    .bind(feature_name)
    .bind(since)
    .fetch_all(pool)
    .await?;
    let variant_rows = sqlx::query(
        "select app_name, environment, hour_start, variant, count from client_metric_variant \
         where feature_name = $1 and hour_start >= $2",
    )
    .bind(feature_name)
    .bind(since)
    .fetch_all(pool)
    .await?;
    let mut variants: HashMap<(String, String, i64), BTreeMap<String, i64>> = HashMap::new();
    for row in variant_rows {
        let key = (
            row.try_get::<String, _>("app_name")?,
            row.try_get::<String, _>("environment")?,
            row.try_get::<i64, _>("hour_start")?,
        );
        variants
            .entry(key)
            .or_default()
            .insert(row.try_get("variant")?, row.try_get("count")?);
    }
    rows.into_iter()
        .map(|row| {
            let app_name: String = row.try_get("app_name")?;
            let environment: String = row.try_get("environment")?;
            let hour_start: i64 = row.try_get("hour_start")?;
            let key = (app_name.clone(), environment.clone(), hour_start);
            Ok(UsageRow {
                variants: variants.remove(&key).unwrap_or_default(),
                app_name,
                environment,
                hour_start,
                yes: row.try_get("yes")?,
                no: row.try_get("no")?,
            })
        })
        .collect()
}

pub(super) async fn applications(pool: &AnyPool) -> StoreResult<Vec<ApplicationRow>> {
    let rows = sqlx::query(
        "select app_name, instance_id, environment, sdk_version, strategies, first_seen_at, \
         last_seen_at from client_application order by app_name, instance_id",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| {
            let strategies: String = row.try_get("strategies")?;
            Ok(ApplicationRow {
                app_name: row.try_get("app_name")?,
                instance_id: row.try_get("instance_id")?,
                environment: row.try_get("environment")?,
                sdk_version: row.try_get("sdk_version")?,
                strategies: serde_json::from_str(&strategies).unwrap_or_default(),
                first_seen_at: row.try_get("first_seen_at")?,
                last_seen_at: row.try_get("last_seen_at")?,
            })
        })
        .collect()
}

/// When each environment last reported the flag, epoch ms.
pub(super) async fn last_seen_by_feature(pool: &AnyPool) -> StoreResult<HashMap<String, i64>> {
    let rows = sqlx::query(
        "select feature_name, max(last_seen_at) as last_seen_at from feature_last_seen \
         group by feature_name",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("feature_name")?, row.try_get("last_seen_at")?)))
        .collect()
}

pub(super) async fn last_seen(
    pool: &AnyPool,
    feature_name: &str,
) -> StoreResult<HashMap<String, i64>> {
    let rows = sqlx::query(
        "select environment, last_seen_at from feature_last_seen where feature_name = $1",
    )
    .bind(feature_name)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("environment")?, row.try_get("last_seen_at")?)))
        .collect()
}
