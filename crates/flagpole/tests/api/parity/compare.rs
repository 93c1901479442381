//! What the side-by-side suite compares: answers normalised for what two servers legitimately
//! answer differently, JSON pointers with `*`, and the places where two answers differ.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Replaces what legitimately differs between two servers that behave the same: times,
/// generated ids, token secrets, and prose (error messages, event labels and summaries: each
/// server words its own; the error's `name`, status and number of details are compared). The
/// Frontend API's toggles are compared as a set.
pub(super) fn normalise(status: u16, body: &Value, ignore: &[String]) -> Value {
    let mut body = normalise_value(body);
    if status >= 400 {
        if let Value::Object(fields) = &mut body {
            fields.remove("id");
            if fields.contains_key("message") {
                fields.insert("message".into(), json!("<message>"));
            }
            if let Some(Value::Array(details)) = fields.get_mut("details") {
                for detail in details {
                    if let Value::Object(detail) = detail {
                        if detail.contains_key("message") {
                            detail.insert("message".into(), json!("<message>"));
                        }
                        // A password's broken rules: each server words its own.
                        if let Some(Value::Array(rules)) = detail.get_mut("validationErrors") {
                            rules.fill(json!("<message>"));
                        }
                        detail.remove("description");
                    }
                }
            }
        }
    }
    // An event's label and summary are prose, worded by each server; its group is an id.
    for (pointer, placeholder) in [
        ("/events/*/label", "<prose>"),
        ("/events/*/summary", "<prose>"),
        ("/events/*/groupId", "<uid>"),
    ] {
        for_each_at(&mut body, pointer, &mut |value| *value = json!(placeholder));
    }
    // The Frontend API's toggles are a set: SDKs look them up by name.
    if let Some(Value::Array(toggles)) = body.get_mut("toggles") {
        toggles.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    }
    // The Client API's revision and ETag count each server's own changes.
    for pointer in ["/meta/revisionId", "/meta/etag", "/meta/queryHash"]
        .into_iter()
        .chain(ignore.iter().map(String::as_str))
    {
        for_each_at(&mut body, pointer, &mut |value| *value = json!("<ignored>"));
    }
    body
}

pub(super) fn normalise_value(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(normalise_string(text)),
        Value::Array(items) => Value::Array(items.iter().map(normalise_value).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), normalise_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

pub(super) fn normalise_string(text: &str) -> String {
    if is_timestamp(text) {
        return "<time>".into();
    }
    if is_ulid(text) || is_uuid(text) {
        return "<uid>".into();
    }
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return "<hash>".into(); // the audit chain's links, which cover each event's time
    }
    if let Some(scope) = token_scope(text) {
        return format!("{scope}.<secret>");
    }
    text.to_owned()
}

/// `2026-12-06T11:44:21.135Z` and the like.
pub(super) fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

pub(super) fn is_ulid(text: &str) -> bool {
    text.len() == 26
        && text.starts_with('0')
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
}

pub(super) fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The `project:environment` part of an API token secret (`default:development.<64 hex>`), or
/// of one shown masked (`default:development.661d…`).
pub(super) fn token_scope(text: &str) -> Option<&str> {
    let (scope, secret) = text.rsplit_once('.')?;
    let long_random = secret.len() >= 16 && secret.chars().all(|c| c.is_ascii_alphanumeric());
    let masked = secret.ends_with('…');
    (scope.contains(':') && (long_random || masked) && !scope.contains(' ')).then_some(scope)
}

/// Calls `apply` on every value at `pointer`, where a `*` segment stands for every element of
/// an array or every field of an object.
pub(super) fn for_each_at(value: &mut Value, pointer: &str, apply: &mut dyn FnMut(&mut Value)) {
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    walk(value, &segments, apply);
}

pub(super) fn walk(value: &mut Value, segments: &[String], apply: &mut dyn FnMut(&mut Value)) {
    let Some((first, rest)) = segments.split_first() else {
        apply(value);
        return;
    };
    match value {
        Value::Array(items) if first == "*" => {
            for item in items {
                walk(item, rest, apply);
            }
        }
        Value::Object(fields) if first == "*" => {
            for item in fields.values_mut() {
                walk(item, rest, apply);
            }
        }
        Value::Array(items) => {
            if let Some(item) = first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                walk(item, rest, apply);
            }
        }
        Value::Object(fields) => {
            if let Some(item) = fields.get_mut(first) {
                walk(item, rest, apply);
            }
        }
        _ => {}
    }
}

/// Removes every value at `pointer` (with `*` segments), for the deliberate differences.
pub(super) fn remove_at(value: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    for_each_at(
        value,
        if parent.is_empty() { "" } else { parent },
        &mut |parent| match parent {
            Value::Object(fields) => {
                fields.remove(&last);
            }
            Value::Array(items) => {
                if let Some(index) = last.parse::<usize>().ok().filter(|i| *i < items.len()) {
                    items.remove(index);
                }
            }
            _ => {}
        },
    );
}

/// Flagpole's normalised values at a deliberate difference's pointer, or `None` where the field
/// is absent.
pub(super) fn values_at(value: &Value, pointer: &str) -> Vec<Option<Value>> {
    let mut copy = value.clone();
    let mut found = Vec::new();
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return found;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    for_each_at(&mut copy, parent, &mut |parent| {
        found.push(child(parent, &last).cloned());
    });
    found
}

/// The field, or the array element, named `key`.
fn child<'a>(parent: &'a Value, key: &str) -> Option<&'a Value> {
    match parent {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        other => other.get(key),
    }
}

/// Puts `replacement` at a pointer without `*` (creating the field if its parent exists), or
/// removes what is there when `replacement` is `None`.
pub(super) fn put_at(value: &mut Value, pointer: &str, replacement: Option<&Value>) {
    let Some(replacement) = replacement else {
        remove_at(value, pointer);
        return;
    };
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match value.pointer_mut(parent) {
        Some(Value::Object(fields)) => {
            fields.insert(last, replacement.clone());
        }
        Some(Value::Array(items)) => {
            if let Some(item) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *item = replacement.clone();
            }
        }
        _ => {}
    }
}

/// One place where Flagpole's answer is not Unleash's: the JSON pointer (`status` for the
/// status, `schema/…` for a misfit with Unleash's schema) and Flagpole's normalised value there
/// (`None` where Flagpole has nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Difference {
    pub(super) at: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub(super) flagpole: Option<Value>,
}

/// Reads a field that is there, `null` included, as `Some` (absent stays `None`).
pub(super) fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Where two JSON values differ.
pub(super) fn differences(
    pointer: &str,
    unleash: &Value,
    flagpole: &Value,
    out: &mut Vec<Difference>,
) {
    let mut push = |at: String, flagpole: Option<&Value>| {
        out.push(Difference {
            at,
            flagpole: flagpole.cloned(),
        })
    };
    match (unleash, flagpole) {
        (Value::Object(a), Value::Object(b)) => {
            let mut nested = Vec::new();
            for (key, a_value) in a {
                let at = format!("{pointer}/{key}");
                match b.get(key) {
                    Some(b_value) => differences(&at, a_value, b_value, &mut nested),
                    None => push(at, None),
                }
            }
            for (key, b_value) in b {
                if !a.contains_key(key) {
                    push(format!("{pointer}/{key}"), Some(b_value));
                }
            }
            out.extend(nested);
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (a_item, b_item)) in a.iter().zip(b).enumerate() {
                differences(&format!("{pointer}/{index}"), a_item, b_item, out);
            }
        }
        _ if unleash == flagpole => {}
        _ => push(pointer.to_owned(), Some(flagpole)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_keeps_what_a_client_sees_and_blanks_what_servers_generate() {
        let body = json!({
            "id": "01M95JPQTA5T8VA2BBX21J1F4X",
            "createdAt": "2026-12-06T11:44:21.135Z",
            "secret": "default:development.6b2cbbb5c0a0d5e6a3f0b3c0e7f2a1d4",
            "name": "2026-12-06",
            "weight": 333,
        });
        assert_eq!(
            normalise(200, &body, &[]),
            json!({
                "id": "<uid>",
                "createdAt": "<time>",
                "secret": "default:development.<secret>",
                "name": "2026-12-06",
                "weight": 333,
            })
        );
        let error = json!({"id": "x", "name": "BadDataError", "message": "m", "details": [{"message": "d"}]});
        assert_eq!(
            normalise(400, &error, &[]),
            json!({"name": "BadDataError", "message": "<message>", "details": [{"message": "<message>"}]})
        );
        let events = json!({"events": [{"id": 4}, {"id": 5}]});
        assert_eq!(
            normalise(200, &events, &["/events/*/id".into()]),
            json!({"events": [{"id": "<ignored>"}, {"id": "<ignored>"}]})
        );
    }

    #[test]
    fn differences_name_the_place() {
        let mut found = Vec::new();
        differences(
            "",
            &json!({"a": [1, 2], "b": 1}),
            &json!({"a": [1, 3], "c": 1}),
            &mut found,
        );
        let places: Vec<&str> = found.iter().map(|d| d.at.as_str()).collect();
        assert_eq!(places, ["/b", "/c", "/a/1"]);
        assert_eq!(found[0].flagpole, None);
        assert_eq!(found[2].flagpole, Some(json!(3)));
    }
}
