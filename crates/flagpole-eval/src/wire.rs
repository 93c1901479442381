//! The flag model as it travels over the Client API: the JSON every Unleash SDK parses.
//!
//! These types are shared by the server (which stores and serves them) and the evaluation
//! engine (which compiles them). Field names and ordering follow Unleash's wire format; maps are
//! ordered so that serialisation is deterministic and ETags are stable. Unknown operators are kept
//! as `Operator::Unknown` instead of failing the whole payload.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The string type of the flag model: inline up to 24 bytes, so the short strings a flag is made
/// of (names, parameters, context fields, values) take no allocation of their own.
pub use compact_str::CompactString;

/// `GET /api/client/features` response body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientFeatures {
    pub version: u32,
    pub features: Vec<ClientFeature>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<Segment>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

/// One flag as an SDK sees it in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ClientFeature {
    pub name: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub feature_type: Option<String>,
    #[serde(default)]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default)]
    pub stale: bool,
    #[serde(default)]
    pub strategies: Vec<Strategy>,
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// Unleash sends it on every flag, `null` when there is none.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub impression_data: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
}

/// An activation strategy. The admin-only fields (`id`, `title`, `disabled`, `sortOrder`) are
/// optional so that the same type reads both the Admin API and the Client API shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Strategy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub id: Option<CompactString>,
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub name: CompactString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    #[serde(default, deserialize_with = "parameters_from_any")]
    #[cfg_attr(feature = "utoipa", schema(value_type = BTreeMap<String, String>))]
    pub parameters: Parameters,
    #[serde(default)]
    pub variants: Vec<Variant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<i64>,
}

/// A condition on one context field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub context_name: CompactString,
    pub operator: Operator,
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Vec<String>))]
    pub values: Vec<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    // Left out when false, as Unleash stores and serves a constraint as it was given.
    #[serde(default, skip_serializing_if = "is_false")]
    pub case_insensitive: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub inverted: bool,
}

fn is_false(value: &bool) -> bool {
    !value
}

/// Constraint operators. An operator this version does not know is kept by name, and a
/// constraint using it never matches (fail closed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operator {
    In,
    NotIn,
    StrContains,
    StrStartsWith,
    StrEndsWith,
    NumEq,
    NumGt,
    NumGte,
    NumLt,
    NumLte,
    DateAfter,
    DateBefore,
    SemverEq,
    SemverGt,
    SemverLt,
    SemverGte,
    SemverLte,
    Regex,
    InCidr,
    Unknown(String),
}

impl Operator {
    /// Every operator this version understands, in the order Unleash documents them.
    pub const KNOWN: [Operator; 19] = [
        Operator::In,
        Operator::NotIn,
        Operator::StrContains,
        Operator::StrStartsWith,
        Operator::StrEndsWith,
        Operator::NumEq,
        Operator::NumGt,
        Operator::NumGte,
        Operator::NumLt,
        Operator::NumLte,
        Operator::DateAfter,
        Operator::DateBefore,
        Operator::SemverEq,
        Operator::SemverGt,
        Operator::SemverLt,
        Operator::SemverGte,
        Operator::SemverLte,
        Operator::Regex,
        Operator::InCidr,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            Operator::In => "IN",
            Operator::NotIn => "NOT_IN",
            Operator::StrContains => "STR_CONTAINS",
            Operator::StrStartsWith => "STR_STARTS_WITH",
            Operator::StrEndsWith => "STR_ENDS_WITH",
            Operator::NumEq => "NUM_EQ",
            Operator::NumGt => "NUM_GT",
            Operator::NumGte => "NUM_GTE",
            Operator::NumLt => "NUM_LT",
            Operator::NumLte => "NUM_LTE",
            Operator::DateAfter => "DATE_AFTER",
            Operator::DateBefore => "DATE_BEFORE",
            Operator::SemverEq => "SEMVER_EQ",
            Operator::SemverGt => "SEMVER_GT",
            Operator::SemverLt => "SEMVER_LT",
            Operator::SemverGte => "SEMVER_GTE",
            Operator::SemverLte => "SEMVER_LTE",
            Operator::Regex => "REGEX",
            Operator::InCidr => "IN_CIDR",
            Operator::Unknown(name) => name,
        }
    }

    pub fn parse(name: &str) -> Operator {
        Operator::KNOWN
            .iter()
            .find(|known| known.as_str() == name)
            .cloned()
            .unwrap_or_else(|| Operator::Unknown(name.to_owned()))
    }

    /// Operators that compare against the single `value` field rather than the `values` list.
    pub fn uses_single_value(&self) -> bool {
        matches!(
            self,
            Operator::NumEq
                | Operator::NumGt
                | Operator::NumGte
                | Operator::NumLt
                | Operator::NumLte
                | Operator::DateAfter
                | Operator::DateBefore
                | Operator::SemverEq
                | Operator::SemverGt
                | Operator::SemverLt
                | Operator::SemverGte
                | Operator::SemverLte
                | Operator::Regex
        )
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Operators document themselves as the list of names this version knows.
#[cfg(feature = "utoipa")]
impl utoipa::PartialSchema for Operator {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Operator::KNOWN.iter().map(Operator::as_str)))
            .description(Some("A constraint operator."))
            .into()
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::ToSchema for Operator {}

impl Serialize for Operator {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Operator {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Operator::parse(&name))
    }
}

/// A variant of a flag or of a strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    pub name: String,
    #[serde(default)]
    pub weight: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stickiness: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Payload {
    #[serde(rename = "type")]
    pub payload_type: String,
    pub value: String,
}

/// Pins a variant for the listed values of one context field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub context_name: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// A reusable, named list of constraints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

/// A flag's dependency on a parent flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub feature: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants: Option<Vec<String>>,
}

/// A strategy's parameters, by name. A strategy has a handful, so they are kept in a sorted
/// vector: a B-tree node takes half a kilobyte even for three entries, and a server holds every
/// strategy of every flag in memory.
pub type Parameters = SmallMap<CompactString, CompactString>;

/// A map with few entries, kept as a sorted vector (`litemap`), that reads and writes JSON as an
/// object like a `BTreeMap`. `LiteMap`'s own serialisation writes an empty map as `[]`, which
/// no Unleash client expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmallMap<K, V>(litemap::LiteMap<K, V>);

impl<K, V> SmallMap<K, V> {
    pub fn new() -> Self {
        SmallMap(litemap::LiteMap::new())
    }

    pub fn with_capacity(capacity: usize) -> Self {
        SmallMap(litemap::LiteMap::with_capacity(capacity))
    }

    /// Gives back the room that growing left (a growing vector keeps room for four).
    pub fn shrink_to_fit(&mut self) {
        let mut entries = std::mem::take(&mut self.0).into_tuple_vec();
        entries.shrink_to_fit();
        // Still sorted: the entries come from a map.
        self.0 = litemap::LiteMap::from_sorted_store_unchecked(entries);
    }
}

impl<K, V> Default for SmallMap<K, V> {
    fn default() -> Self {
        SmallMap::new()
    }
}

impl<K, V> std::ops::Deref for SmallMap<K, V> {
    type Target = litemap::LiteMap<K, V>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<K, V> std::ops::DerefMut for SmallMap<K, V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for SmallMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        SmallMap(entries.into_iter().collect())
    }
}

impl<K, V> IntoIterator for SmallMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::vec::IntoIter<(K, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_tuple_vec().into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SmallMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Box<dyn Iterator<Item = (&'a K, &'a V)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.0.iter())
    }
}

impl<K: Serialize, V: Serialize> Serialize for SmallMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for SmallMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        litemap::LiteMap::deserialize(deserializer).map(SmallMap)
    }
}

/// Strategy parameters are strings on the wire, but scripts often send numbers or booleans
/// (`"rollout": 50`); those are accepted and kept as their text form.
pub fn parameters_from_any<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Parameters, D::Error> {
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(deserializer)?;
    let raw = raw.unwrap_or_default();
    let mut parameters = Parameters::with_capacity(raw.len());
    for (key, value) in raw {
        let text = match value {
            serde_json::Value::String(text) => CompactString::from(text),
            serde_json::Value::Null => continue,
            serde_json::Value::Number(number) => CompactString::from(number.to_string()),
            serde_json::Value::Bool(flag) => CompactString::from(flag.to_string()),
            other => {
                return Err(serde::de::Error::custom(format!(
                    "parameter \"{key}\" must be a string, number or boolean, not {other}"
                )))
            }
        };
        parameters.insert(CompactString::from(key), text);
    }
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_round_trip_and_unknown_is_kept() {
        for known in Operator::KNOWN {
            assert_eq!(Operator::parse(known.as_str()), known);
        }
        let unknown: Operator = serde_json::from_str("\"SOUNDS_LIKE\"").unwrap();
        assert_eq!(unknown, Operator::Unknown("SOUNDS_LIKE".into()));
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"SOUNDS_LIKE\"");
    }

    #[test]
    fn small_maps_are_json_objects_even_when_empty() {
        let empty: Parameters = Parameters::new();
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
        assert_eq!(serde_json::to_value(&empty).unwrap(), serde_json::json!({}));
        let mut two: Parameters = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        two.shrink_to_fit();
        assert_eq!(serde_json::to_string(&two).unwrap(), r#"{"a":"1","b":"2"}"#);
        let back: Parameters = serde_json::from_str(r#"{"b":"2","a":"1"}"#).unwrap();
        assert_eq!(back, two);
    }

    #[test]
    fn numeric_parameters_become_strings() {
        let strategy: Strategy = serde_json::from_str(
            r#"{"name":"flexibleRollout","parameters":{"rollout":50,"groupId":"g","x":true}}"#,
        )
        .unwrap();
        assert_eq!(strategy.parameters.get("rollout").unwrap(), "50");
        assert_eq!(strategy.parameters.get("x").unwrap(), "true");
    }
}
