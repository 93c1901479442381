//! Unleash's own response schemas, for the operations the scenarios call: copied from the
//! recording Unleash's OpenAPI document, and checked against on replay.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::schema_file;

/// Unleash's response schemas for the operations the scenarios call, as recorded.
pub(super) struct UnleashSchemas {
    document: Value,
    validators: std::sync::Mutex<BTreeMap<String, Option<Arc<jsonschema::Validator>>>>,
}

impl UnleashSchemas {
    /// The schemas the last recording wrote.
    pub(super) fn load() -> UnleashSchemas {
        let text = std::fs::read_to_string(schema_file()).expect("unleash-schemas.json");
        UnleashSchemas::new(serde_json::from_str(&text).expect("schemas are JSON"))
    }

    pub(super) fn new(document: Value) -> UnleashSchemas {
        UnleashSchemas {
            document,
            validators: Default::default(),
        }
    }

    pub(super) fn document(&self) -> &Value {
        &self.document
    }

    /// `Err` when the operation is Unleash's and the answer does not fit its document.
    pub(super) fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), String> {
        let method = method.to_ascii_lowercase();
        let path = path.split('?').next().unwrap_or_default();
        let Some(template) = crate::contract::template_in(&self.document, path, &method) else {
            return Ok(()); // not an operation of Unleash's
        };
        let responses = &self.document["paths"][&template][&method]["responses"];
        let Some(response) = responses.get(status.to_string()) else {
            return Err(format!(
                "{method} {template}: Unleash's document lists no {status}"
            ));
        };
        let key = format!("{method} {template} {status}");
        let validator = {
            let mut cache = self.validators.lock().unwrap();
            cache
                .entry(key)
                .or_insert_with(|| {
                    response["content"]["application/json"]["schema"]
                        .as_object()
                        .map(|schema| {
                            let root = json!({
                                "$schema": "https://json-schema.org/draft/2020-12/schema",
                                "components": self.document["components"],
                                "allOf": [Value::Object(schema.clone())],
                            });
                            Arc::new(jsonschema::validator_for(&root).expect("schema compiles"))
                        })
                })
                .clone()
        };
        let Some(validator) = validator else {
            return Ok(());
        };
        if body.is_null() || body.is_string() {
            return Ok(());
        }
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e.kind().keyword(), e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{method} {template} {status} does not fit Unleash's schema: {}",
                errors.join("; ")
            ))
        }
    }
}

/// The operations and statuses a recording used, to copy their response schemas.
#[derive(Default)]
pub(super) struct UsedOperations {
    responses: BTreeMap<(String, String), Vec<u16>>,
}

impl UsedOperations {
    pub(super) fn add(&mut self, document: &Value, method: &str, path: &str, status: u16) {
        let method = method.to_ascii_lowercase();
        let path = path.split('?').next().unwrap_or_default();
        if let Some(template) = crate::contract::template_in(document, path, &method) {
            let statuses = self.responses.entry((template, method)).or_default();
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
    }

    /// A small OpenAPI-shaped document: the used operations' responses (every status Unleash
    /// lists for them) and the schemas they refer to, with prose left out and OpenAPI 3.0's
    /// `nullable` turned into JSON Schema.
    pub(super) fn extract(&self, document: &Value) -> Value {
        let mut paths = Map::new();
        let mut wanted: Vec<String> = Vec::new();
        for (template, method) in self.responses.keys() {
            let responses = &document["paths"][template][method]["responses"];
            let mut kept = Map::new();
            for (status, response) in responses.as_object().into_iter().flatten() {
                let schema = &response["content"]["application/json"]["schema"];
                let mut entry = json!({});
                if !schema.is_null() {
                    let schema = to_json_schema(schema);
                    collect_refs(&schema, &mut wanted);
                    entry = json!({"content": {"application/json": {"schema": schema}}});
                }
                kept.insert(status.clone(), entry);
            }
            let item = paths
                .entry(template.clone())
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("object");
            item.insert(method.clone(), json!({ "responses": kept }));
        }
        let mut schemas = BTreeMap::new();
        while let Some(name) = wanted.pop() {
            if schemas.contains_key(&name) {
                continue;
            }
            let schema = to_json_schema(&document["components"]["schemas"][&name]);
            collect_refs(&schema, &mut wanted);
            schemas.insert(name, schema);
        }
        json!({
            "about": "Response schemas of Unleash 8.2's API document for the operations the side-by-side suite calls; prose removed, nullable as JSON Schema. Written by scripts/record-parity.sh.",
            "paths": paths,
            "components": {"schemas": schemas},
        })
    }
}

pub(super) fn collect_refs(schema: &Value, out: &mut Vec<String>) {
    match schema {
        Value::Object(fields) => {
            if let Some(Value::String(reference)) = fields.get("$ref") {
                if let Some(name) = reference.strip_prefix("#/components/schemas/") {
                    out.push(name.to_owned());
                }
            }
            fields.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// OpenAPI 3.0 schema → JSON Schema: `nullable` becomes a `null` alternative; descriptions
/// and examples are dropped.
pub(super) fn to_json_schema(schema: &Value) -> Value {
    let Value::Object(fields) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in fields {
        match key.as_str() {
            "description" | "example" | "examples" | "nullable" => {}
            "properties" | "patternProperties" => {
                let converted = value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, s)| (name.clone(), to_json_schema(s)))
                    .collect();
                out.insert(key.clone(), Value::Object(converted));
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(key.clone(), to_json_schema(value));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let converted = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(to_json_schema)
                    .collect();
                out.insert(key.clone(), Value::Array(converted));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    if fields.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::Array(values)) = out.get_mut("enum") {
            values.push(Value::Null);
        }
        return json!({"anyOf": [Value::Object(out), {"type": "null"}]});
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_a_null_alternative() {
        let schema = json!({"type": "string", "nullable": true, "description": "x"});
        assert_eq!(
            to_json_schema(&schema),
            json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
        );
    }
}
