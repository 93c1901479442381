//! The evaluation context (who is asking, as SDKs describe it) and the resolution of a context
//! field by name. Field names are resolved to a [`Field`] once, at compile time, so evaluation
//! does no string matching on names.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// The Unleash context, deserialisable from the SDKs' JSON shape (camelCase).
///
/// Values that arrive as numbers or booleans are kept as their text. `currentTime` is RFC 3339;
/// one that cannot be parsed is treated as absent (date constraints then use the `now` given to
/// the engine). The engine does no I/O, so the `applicationHostname` strategy reads the host
/// name from the `hostname` property, which the caller fills in.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    #[serde(default, deserialize_with = "text")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub remote_address: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub environment: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub app_name: Option<String>,
    #[serde(default, deserialize_with = "time")]
    pub current_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "text_map")]
    pub properties: BTreeMap<String, String>,
}

impl Context {
    /// A field by name: the standard fields first, then custom properties, as the Node SDK
    /// resolves it. `currentTime` is not a text field; it is read from the properties only.
    pub fn field(&self, name: &str) -> Option<&str> {
        Field::parse(name).get(self)
    }
}

/// A context field, resolved from its name once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field {
    UserId,
    SessionId,
    RemoteAddress,
    Environment,
    AppName,
    /// `currentTime`: date operators read `Context::current_time`; as text it is a property.
    CurrentTime,
    Property(String),
}

impl Field {
    pub fn parse(name: &str) -> Field {
        match name {
            "userId" => Field::UserId,
            "sessionId" => Field::SessionId,
            "remoteAddress" => Field::RemoteAddress,
            "environment" => Field::Environment,
            "appName" => Field::AppName,
            "currentTime" => Field::CurrentTime,
            other => Field::Property(other.to_owned()),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Field::UserId => "userId",
            Field::SessionId => "sessionId",
            Field::RemoteAddress => "remoteAddress",
            Field::Environment => "environment",
            Field::AppName => "appName",
            Field::CurrentTime => "currentTime",
            Field::Property(name) => name,
        }
    }

    pub fn get<'c>(&self, context: &'c Context) -> Option<&'c str> {
        let standard = match self {
            Field::UserId => context.user_id.as_deref(),
            Field::SessionId => context.session_id.as_deref(),
            Field::RemoteAddress => context.remote_address.as_deref(),
            Field::Environment => context.environment.as_deref(),
            Field::AppName => context.app_name.as_deref(),
            Field::CurrentTime => None,
            Field::Property(name) => return context.properties.get(name).map(String::as_str),
        };
        // A standard field that is unset may still have been sent as a property.
        standard.or_else(|| context.properties.get(self.name()).map(String::as_str))
    }
}

/// Context values arrive as strings, but numbers and booleans are accepted as their text.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(value_text))
}

fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = text(deserializer)?;
    Ok(value.as_deref().and_then(parse_time))
}

/// RFC 3339, as every SDK sends `currentTime`.
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

fn text_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let map = Option::<BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, value)| value_text(value).map(|text| (key, text)))
        .collect())
}

fn value_text(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(text) => Some(text),
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sdk_shape() {
        let context: Context = serde_json::from_str(
            r#"{"userId":123,"currentTime":"2022-01-22T11:30:00.000Z",
                "properties":{"beta":true,"tier":"gold","none":null}}"#,
        )
        .unwrap();
        assert_eq!(context.user_id.as_deref(), Some("123"));
        assert_eq!(
            context.current_time,
            Some("2022-01-22T11:30:00Z".parse().unwrap())
        );
        assert_eq!(context.field("beta"), Some("true"));
        assert_eq!(context.field("tier"), Some("gold"));
        assert_eq!(context.field("none"), None);
    }

    #[test]
    fn an_unreadable_time_is_absent() {
        let context: Context = serde_json::from_str(r#"{"currentTime":"yesterday"}"#).unwrap();
        assert_eq!(context.current_time, None);
    }

    #[test]
    fn standard_fields_fall_back_to_properties() {
        let context: Context =
            serde_json::from_str(r#"{"properties":{"userId":"7","currentTime":"x"}}"#).unwrap();
        assert_eq!(context.field("userId"), Some("7"));
        assert_eq!(context.field("currentTime"), Some("x"));
    }
}
