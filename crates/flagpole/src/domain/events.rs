//! Reading the audit log: Unleash's event JSON and its search filter syntax.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::store::{EventQuery, EventRecord};

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 1_000;

pub fn event_json(event: &EventRecord) -> Value {
    let created_at = Utc
        .timestamp_millis_opt(event.created_at_millis)
        .single()
        .unwrap_or_default();
    json!({
        "id": event.id,
        "type": event.event_type,
        "createdBy": event.created_by,
        "createdAt": created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "createdByUserId": event.created_by_user_id,
        "data": event.data,
        "preData": event.pre_data,
        "tags": event.tags,
        "featureName": event.feature_name,
        "project": event.project,
        "environment": event.environment,
        // The events of one change share its revision, as Unleash's share a transaction.
        "groupType": "transaction",
        "groupId": event.revision.to_string(),
        "label": super::event_text::label(&event.event_type),
        "summary": super::event_text::summary(event),
        "hash": event.hash,
    })
}

/// Parses one filter value in Unleash's operator syntax: `IS:x`, `IS_ANY_OF:x,y`, or plain `x`.
pub fn filter_values(raw: &str) -> ApiResult<Vec<String>> {
    let (operator, values) = match raw.split_once(':') {
        Some((operator, rest))
            if operator.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                && !operator.is_empty() =>
        {
            (operator, rest)
        }
        _ => return Ok(vec![raw.to_owned()]),
    };
    match operator {
        "IS" => Ok(vec![values.to_owned()]),
        "IS_ANY_OF" => Ok(values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()),
        other => Err(ApiError::bad_data(format!(
            "filter operator {other} is not supported here; use IS or IS_ANY_OF"
        ))),
    }
}

/// Parses a date filter (`IS:2026-01-31`, or an RFC 3339 timestamp) into epoch milliseconds.
/// A bare date means the start of that day for `from`, and the end of it for `to`.
pub fn date_filter(raw: &str, end_of_day: bool) -> ApiResult<i64> {
    let value = raw.strip_prefix("IS:").unwrap_or(raw);
    if let Ok(timestamp) = DateTime::parse_from_rfc3339(value) {
        return Ok(timestamp.timestamp_millis());
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_data(format!(
            "\"{value}\" is not a date (YYYY-MM-DD) or an RFC 3339 timestamp"
        ))
    })?;
    let day = if end_of_day {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    let start = day
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| ApiError::bad_data(format!("\"{value}\" is not a valid date")))?;
    Ok(Utc.from_utc_datetime(&start).timestamp_millis())
}

/// Builds a query from search parameters (`feature`, `project`, `type`, `createdBy`,
/// `environment`, `from`, `to`, `offset`, `limit`).
pub fn search_query(parameters: &[(String, String)]) -> ApiResult<EventQuery> {
    let mut query = EventQuery {
        limit: DEFAULT_PAGE_SIZE,
        ..EventQuery::default()
    };
    for (key, value) in parameters {
        match key.as_str() {
            "feature" | "featureName" => query.feature_names.extend(filter_values(value)?),
            "project" => query.projects.extend(filter_values(value)?),
            "type" => query.event_types.extend(filter_values(value)?),
            "createdBy" | "createdByName" => query.created_by.extend(filter_values(value)?),
            "environment" => query.environments.extend(filter_values(value)?),
            "from" => query.from_millis = Some(date_filter(value, false)?),
            "to" => query.to_millis = Some(date_filter(value, true)?),
            "offset" => {
                query.offset = value
                    .parse::<i64>()
                    .ok()
                    .filter(|offset| *offset >= 0)
                    .ok_or_else(|| ApiError::bad_data("\"offset\" must be a number ≥ 0"))?
            }
            "limit" => {
                query.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|limit| (1..=MAX_PAGE_SIZE).contains(limit))
                    .ok_or_else(|| {
                        ApiError::bad_data(format!(
                            "\"limit\" must be a number from 1 to {MAX_PAGE_SIZE}"
                        ))
                    })?
            }
            // Unleash's UI sends these; they do not change what is returned.
            "sortBy" | "sortOrder" | "query" => {}
            other => {
                return Err(ApiError::bad_data(format!(
                    "unknown event search parameter \"{other}\""
                )))
            }
        }
    }
    Ok(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_accept_unleash_operators_and_plain_values() {
        assert_eq!(filter_values("IS:Demo").unwrap(), vec!["Demo"]);
        assert_eq!(filter_values("Demo").unwrap(), vec!["Demo"]);
        assert_eq!(filter_values("IS_ANY_OF:a, b").unwrap(), vec!["a", "b"]);
        assert!(filter_values("IS_NOT:a").is_err());
        // A value that merely contains a colon is taken as it is.
        assert_eq!(filter_values("my:flag").unwrap(), vec!["my:flag"]);
    }

    #[test]
    fn dates_cover_whole_days() {
        let from = date_filter("IS:2026-01-31", false).unwrap();
        let to = date_filter("2026-01-31", true).unwrap();
        assert_eq!(to - from, 24 * 3600 * 1000);
        assert!(date_filter("yesterday", false).is_err());
    }
}
