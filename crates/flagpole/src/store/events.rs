//! The audit log table: appending inside a commit, and filtered, paged reads.

use serde_json::Value;
use sqlx::any::AnyArguments;
use sqlx::{AnyPool, Arguments, Row};

use super::{StoreError, StoreResult};

/// An audit event about to be written. `data`/`pre_data` hold the state after and before.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub event_type: String,
    pub created_by: String,
    pub created_by_user_id: i64,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub feature_name: Option<String>,
    pub data: Option<Value>,
    pub pre_data: Option<Value>,
    pub tags: Value,
}

/// An audit event as stored.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: i64,
    pub revision: i64,
    pub event_type: String,
    pub created_at_millis: i64,
    pub created_by: String,
    pub created_by_user_id: i64,
    pub project: Option<String>,
    pub environment: Option<String>,
    pub feature_name: Option<String>,
    pub data: Option<Value>,
    pub pre_data: Option<Value>,
    pub tags: Value,
    /// The event's link in the audit hash chain (`None` for an event outside the chain).
    pub hash: Option<String>,
}

/// Filters for reading the log; empty lists match everything. Newest events come first.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub feature_names: Vec<String>,
    pub projects: Vec<String>,
    pub event_types: Vec<String>,
    pub created_by: Vec<String>,
    pub environments: Vec<String>,
    /// Inclusive lower bound, epoch milliseconds.
    pub from_millis: Option<i64>,
    /// Exclusive upper bound, epoch milliseconds.
    pub to_millis: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// The `where` clause for a query, its arguments, and the next free placeholder number.
fn filter(query: &EventQuery) -> (String, AnyArguments<'static>, usize) {
    let mut conditions: Vec<String> = Vec::new();
    let mut arguments = AnyArguments::default();
    let mut next = 1;
    let mut any_of = |column: &str, values: &[String], arguments: &mut AnyArguments<'static>| {
        if values.is_empty() {
            return;
        }
        let placeholders: Vec<String> = values
            .iter()
            .map(|value| {
                // Adding a String to AnyArguments cannot fail.
                let _ = arguments.add(value.clone());
                let placeholder = format!("${next}");
                next += 1;
                placeholder
            })
            .collect();
        conditions.push(format!("{column} in ({})", placeholders.join(", ")));
    };
    any_of("feature_name", &query.feature_names, &mut arguments);
    any_of("project", &query.projects, &mut arguments);
    any_of("event_type", &query.event_types, &mut arguments);
    any_of("created_by", &query.created_by, &mut arguments);
    any_of("environment", &query.environments, &mut arguments);
    if let Some(from) = query.from_millis {
        let _ = arguments.add(from);
        conditions.push(format!("created_at >= ${next}"));
        next += 1;
    }
    if let Some(to) = query.to_millis {
        let _ = arguments.add(to);
        conditions.push(format!("created_at < ${next}"));
        next += 1;
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("where {}", conditions.join(" and "))
    };
    (clause, arguments, next)
}

pub(super) async fn search(
    pool: &AnyPool,
    query: &EventQuery,
) -> StoreResult<(Vec<EventRecord>, i64)> {
    let (clause, arguments, _) = filter(query);
    let count_sql = format!("select count(*) as total from event {clause}");
    let total: i64 = sqlx::query_with(&count_sql, arguments)
        .fetch_one(pool)
        .await?
        .try_get("total")?;

    let (clause, mut arguments, next) = filter(query);
    let _ = arguments.add(query.limit);
    let _ = arguments.add(query.offset);
    let page_sql = format!(
        "select event_id, revision, event_type, created_at, created_by, created_by_user_id, \
         project, environment, feature_name, data, pre_data, tags, hash from event {clause} \
         order by event_id desc limit ${} offset ${}",
        next,
        next + 1
    );
    let rows = sqlx::query_with(&page_sql, arguments)
        .fetch_all(pool)
        .await?;
    let events = rows
        .into_iter()
        .map(|row| {
            let json = |column: &str| -> StoreResult<Option<Value>> {
                let text: Option<String> = row.try_get(column)?;
                text.map(|text| serde_json::from_str(&text))
                    .transpose()
                    .map_err(|error| StoreError::Other(error.into()))
            };
            Ok(EventRecord {
                id: row.try_get("event_id")?,
                revision: row.try_get("revision")?,
                event_type: row.try_get("event_type")?,
                created_at_millis: row.try_get("created_at")?,
                created_by: row.try_get("created_by")?,
                created_by_user_id: row.try_get("created_by_user_id")?,
                project: row.try_get("project")?,
                environment: row.try_get("environment")?,
                feature_name: row.try_get("feature_name")?,
                data: json("data")?,
                pre_data: json("pre_data")?,
                tags: json("tags")?.unwrap_or(Value::Array(vec![])),
                hash: row.try_get("hash")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok((events, total))
}
