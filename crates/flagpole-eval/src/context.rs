//! The evaluation context: who is asking, as SDKs describe it.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

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
    /// RFC 3339; when absent, date constraints use the time passed to the engine.
    #[serde(default, deserialize_with = "text")]
    pub current_time: Option<String>,
    #[serde(default, deserialize_with = "text_map")]
    pub properties: BTreeMap<String, String>,
}

impl Context {
    /// A field by name: the standard fields first, then custom properties, as the SDKs resolve it.
    pub fn field(&self, name: &str) -> Option<&str> {
        let standard = match name {
            "userId" => self.user_id.as_deref(),
            "sessionId" => self.session_id.as_deref(),
            "remoteAddress" => self.remote_address.as_deref(),
            "environment" => self.environment.as_deref(),
            "appName" => self.app_name.as_deref(),
            "currentTime" => self.current_time.as_deref(),
            _ => None,
        };
        standard.or_else(|| self.properties.get(name).map(String::as_str))
    }
}

/// Context values arrive as strings, but numbers and booleans are accepted as their text.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    Ok(value.and_then(value_text))
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
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        other => Some(other.to_string()),
    }
}
