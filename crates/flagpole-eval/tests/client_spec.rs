//! The Unleash client specification (vendored in `tests/spec/`) as a conformance oracle: every
//! test and variant test of every file must pass. One Rust test per file; a failing file reports
//! all of its failing cases at once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use flagpole_eval::wire::{ClientFeature, ClientFeatures, Segment};
use flagpole_eval::{Context, Engine, SUPPORTED_SPEC_VERSION};
use serde_json::Value;

/// Builds the state a spec file describes: a Client API body, or a list of delta events.
fn state_of(spec: &Value) -> ClientFeatures {
    let state = &spec["state"];
    let Some(events) = state.get("events").and_then(Value::as_array) else {
        return serde_json::from_value(state.clone()).unwrap();
    };
    let mut features: BTreeMap<String, ClientFeature> = BTreeMap::new();
    let mut segments: BTreeMap<i64, Segment> = BTreeMap::new();
    for event in events {
        match event["type"].as_str().unwrap() {
            "hydration" => {
                features = serde_json::from_value::<Vec<ClientFeature>>(event["features"].clone())
                    .unwrap()
                    .into_iter()
                    .map(|f| (f.name.clone(), f))
                    .collect();
                segments = serde_json::from_value::<Vec<Segment>>(event["segments"].clone())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| (s.id, s))
                    .collect();
            }
            "feature-updated" => {
                let feature: ClientFeature =
                    serde_json::from_value(event["feature"].clone()).unwrap();
                features.insert(feature.name.clone(), feature);
            }
            "feature-removed" => {
                features.remove(event["featureName"].as_str().unwrap());
            }
            "segment-updated" => {
                let segment: Segment = serde_json::from_value(event["segment"].clone()).unwrap();
                segments.insert(segment.id, segment);
            }
            "segment-removed" => {
                segments.remove(&event["segmentId"].as_i64().unwrap());
            }
            other => panic!("unknown delta event {other}"),
        }
    }
    ClientFeatures {
        version: 2,
        features: features.into_values().collect(),
        segments: Some(segments.into_values().collect()),
        query: None,
        meta: None,
    }
}

fn run(file: &str) {
    let path = format!("{}/tests/spec/{file}.json", env!("CARGO_MANIFEST_DIR"));
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let engine = Engine::compile(&state_of(&spec));
    let now = chrono::Utc::now();
    let mut failures = Vec::new();
    let mut checked = 0;
    for test in spec["tests"].as_array().into_iter().flatten() {
        let context: Context = serde_json::from_value(test["context"].clone()).unwrap();
        let name = test["toggleName"].as_str().unwrap();
        let actual = engine.is_enabled(name, &context, now);
        checked += 1;
        if actual != test["expectedResult"].as_bool().unwrap() {
            failures.push(format!("{}: got {actual}", test["description"]));
        }
    }
    for test in spec["variantTests"].as_array().into_iter().flatten() {
        let context: Context = serde_json::from_value(test["context"].clone()).unwrap();
        let name = test["toggleName"].as_str().unwrap();
        let actual = serde_json::to_value(engine.get_variant(name, &context, now)).unwrap();
        let expected = &test["expectedResult"];
        checked += 1;
        // Compare the fields the file states; older files do not state `feature_enabled`.
        let differs = ["name", "enabled", "payload", "feature_enabled"]
            .iter()
            .filter(|field| {
                expected.get(**field).is_some()
                    || actual.get(**field).is_some() && **field == "payload"
            })
            .any(|field| expected.get(*field) != actual.get(*field));
        if differs {
            failures.push(format!(
                "{}: expected {expected}, got {actual}",
                test["description"]
            ));
        }
    }
    assert!(checked > 0, "{file} has no tests");
    assert!(
        failures.is_empty(),
        "{file} (spec {SUPPORTED_SPEC_VERSION}):\n{}",
        failures.join("\n")
    );
}

macro_rules! spec_files {
    ($($test:ident => $file:literal),* $(,)?) => {
        $( #[test] fn $test() { run($file); } )*

        #[test]
        fn every_file_of_the_index_is_run() {
            let path = format!("{}/tests/spec/index.json", env!("CARGO_MANIFEST_DIR"));
            let index: Vec<String> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            let covered: Vec<String> = vec![$(format!("{}.json", $file)),*];
            assert_eq!(index, covered);
        }
    };
}

spec_files! {
    simple_examples => "01-simple-examples",
    user_with_id_strategy => "02-user-with-id-strategy",
    gradual_rollout_user_id => "03-gradual-rollout-user-id-strategy",
    gradual_rollout_session_id => "04-gradual-rollout-session-id-strategy",
    gradual_rollout_random => "05-gradual-rollout-random-strategy",
    remote_address_strategy => "06-remote-address-strategy",
    multiple_strategies => "07-multiple-strategies",
    variants => "08-variants",
    strategy_constraints => "09-strategy-constraints",
    flexible_rollout_strategy => "10-flexible-rollout-strategy",
    strategy_constraints_edge_cases => "11-strategy-constraints-edge-cases",
    custom_stickiness => "12-custom-stickiness",
    constraint_operators => "13-constraint-operators",
    constraint_semver_operators => "14-constraint-semver-operators",
    global_constraints => "15-global-constraints",
    strategy_variants => "16-strategy-variants",
    dependent_features => "17-dependent-features",
    utf8_flag_names => "18-utf8-flag-names",
    delta_api_hydration => "19-delta-api-hydration",
    delta_api_events => "20-delta-api-events",
    regex_constraint_operators => "21-regex-constraint-operators",
    cidr_constraint_operators => "22-cidr-constraint-operators",
}
