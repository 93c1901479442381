//! The plan's description of a change: the lines a reader sees for each difference between
//! the stored and the wanted form of a thing.

use serde_json::Value;

/// A detail line of a nested thing, under its path (`+`/`-` signs stay in front).
pub(super) fn prefixed(path: &str, line: &str) -> String {
    for sign in ["+ ", "- "] {
        if let Some(rest) = line.strip_prefix(sign) {
            return format!("{sign}{path}.{rest}");
        }
    }
    format!("{path}.{line}")
}

/// Two export forms of a flag, prepared for showing their differences: without strategies
/// (described strategy by strategy), and with every environment either of them lists, so that
/// switching one off shows as `enabled: true → false` rather than as the environment vanishing.
pub(super) fn comparable_forms(before: &Value, after: &Value) -> (Value, Value) {
    let environments = |spec: &Value| -> Vec<String> {
        spec.get("environments")
            .and_then(Value::as_object)
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut names = environments(before);
    names.extend(environments(after));
    let prepare = |spec: &Value| {
        let mut spec = spec.clone();
        if let Some(object) = spec.as_object_mut() {
            let environments = object
                .entry("environments")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(environments) = environments.as_object_mut() {
                for name in &names {
                    let environment = environments
                        .entry(name.clone())
                        .or_insert_with(|| serde_json::json!({ "enabled": false }));
                    if let Some(environment) = environment.as_object_mut() {
                        environment.remove("strategies");
                    }
                }
            }
        }
        spec
    };
    (prepare(before), prepare(after))
}

/// Field-level differences between two JSON values, one `path: before → after` line each.
pub fn diff_values(before: &Value, after: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    diff_at("", before, after, &mut lines);
    lines
}

pub(super) fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".into(),
        Some(value) => value.to_string(),
    }
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

pub(super) fn diff_at(path: &str, before: &Value, after: &Value, lines: &mut Vec<String>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let mut keys: Vec<&String> = old.keys().collect();
            keys.extend(new.keys().filter(|k| !old.contains_key(*k)));
            for key in keys {
                let child = join(path, key);
                match (old.get(key), new.get(key)) {
                    (Some(a), Some(b)) => diff_at(&child, a, b, lines),
                    (a, b) => lines.push(format!("{child}: {} → {}", show(a), show(b))),
                }
            }
        }
        (Value::Array(old), Value::Array(new))
            if old.iter().chain(new.iter()).all(Value::is_object) =>
        {
            for index in 0..old.len().max(new.len()) {
                let child = format!("{path}[{index}]");
                match (old.get(index), new.get(index)) {
                    (Some(a), Some(b)) => diff_at(&child, a, b, lines),
                    (Some(a), None) => lines.push(format!("- {child}: {a}")),
                    (None, Some(b)) => lines.push(format!("+ {child}: {b}")),
                    (None, None) => {}
                }
            }
        }
        _ => lines.push(format!(
            "{}: {} → {}",
            if path.is_empty() { "(value)" } else { path },
            show(Some(before)),
            show(Some(after))
        )),
    }
}
