//! Holds the server to its OpenAPI document: every response a test receives through
//! `TestApp::call` must have a status the document lists for that route, and a JSON body that
//! matches the documented schema. The behaviour tests thereby check the document too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value};

fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        serde_json::to_value(flagpole::api::openapi::document()).expect("document serialises")
    })
}

/// The documented path template that `path` (without query) matches, preferring literal
/// segments over parameters (`/features/validate` over `/features/{feature}`).
pub fn template_for(path: &str, method: &str) -> Option<String> {
    template_in(document(), path, method)
}

/// `template_for` in any OpenAPI document (the side-by-side suite uses Unleash's).
pub fn template_in(document: &Value, path: &str, method: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, String)> = None;
    let paths = document["paths"].as_object().expect("paths");
    for (template, item) in paths {
        if item.get(method).is_none() {
            continue;
        }
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let matches = parts.iter().zip(&segments).all(|(part, segment)| {
            if part.starts_with('{') {
                !segment.is_empty()
            } else {
                literal += 1;
                part == segment
            }
        });
        if matches && best.as_ref().is_none_or(|(score, _)| literal > *score) {
            best = Some((literal, template.clone()));
        }
    }
    best.map(|(_, template)| template)
}

type ValidatorCache = Mutex<HashMap<(String, String, u16), Option<Arc<jsonschema::Validator>>>>;

fn validator(template: &str, method: &str, status: u16) -> Option<Arc<jsonschema::Validator>> {
    static CACHE: OnceLock<ValidatorCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (template.to_owned(), method.to_owned(), status);
    if let Some(found) = cache.lock().unwrap().get(&key) {
        return found.clone();
    }
    let response = &document()["paths"][template][method]["responses"][status.to_string()];
    let built = response["content"]["application/json"]["schema"]
        .as_object()
        .map(|schema| {
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": document()["components"],
                "allOf": [Value::Object(schema.clone())],
            });
            Arc::new(jsonschema::validator_for(&root).expect("documented schema compiles"))
        });
    cache.lock().unwrap().insert(key, built.clone());
    built
}

/// Panics when a response is not what the document promises. Paths the document does not know
/// (tests of the 404 fallback) are not checked here.
pub fn check(method: &str, path_and_query: &str, status: u16, body: &Value) {
    let method = method.to_ascii_lowercase();
    let path = path_and_query.split('?').next().unwrap_or_default();
    let Some(template) = template_for(path, &method) else {
        return;
    };
    let responses = &document()["paths"][&template][&method]["responses"];
    assert!(
        responses.get(status.to_string()).is_some(),
        "{method} {template} answered {status}, which the OpenAPI document does not list: {body}"
    );
    if body.is_null() || body.is_string() {
        return; // empty or not JSON: nothing to validate against a JSON schema
    }
    if let Some(validator) = validator(&template, &method, status) {
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {template} {status}: the body does not match the OpenAPI document:\n{}\nbody: {body}",
            errors.join("\n")
        );
    }
}
