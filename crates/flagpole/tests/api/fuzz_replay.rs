//! The fuzz targets (`flagpole::fuzzing`, run long by cargo-fuzz on nightly) on stable: the seed
//! corpus in `fuzz/seeds/` is replayed, then each target gets proptest-generated inputs built
//! from the same strategies as the HTTP bad-input test. Any panic fails the test.

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::bad_input::{any_json, constraint, context, from_schema, json_patch};

const CASES: u32 = 400;

/// A fuzz target's body.
type Target = fn(&[u8]);

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect()
}

fn joined(a: &serde_json::Value, b: &serde_json::Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(a).unwrap();
    bytes.push(0);
    bytes.extend(serde_json::to_vec(b).unwrap());
    bytes
}

#[test]
fn fuzz_targets_replay_their_seeds_and_survive_generated_input() {
    let targets: [(&str, Target); 3] = [
        ("evaluation", flagpole::fuzzing::evaluation),
        ("json_patch", flagpole::fuzzing::json_patch),
        ("admin_body", flagpole::fuzzing::admin_body),
    ];
    let mut replayed = 0;
    for (name, target) in targets {
        let corpus = seeds(name);
        assert!(!corpus.is_empty(), "no seeds for {name}");
        for seed in &corpus {
            target(seed);
            // Truncations of each seed too: the cheap mutation that finds most parser bugs.
            for cut in (0..seed.len()).step_by(seed.len() / 16 + 1) {
                target(&seed[..cut]);
                replayed += 1;
            }
            replayed += 1;
        }
    }

    let mut runner = TestRunner::new(Config::with_cases(CASES));
    let document = serde_json::to_value(flagpole::api::openapi::document()).unwrap();
    // Evaluation: one flag with generated constraints, for a generated context.
    let evaluation = (
        prop::collection::vec(constraint(), 0..4),
        context(),
        any::<u8>(),
    );
    runner
        .run(&evaluation, |(constraints, context, rollout)| {
            let state = json!({"version": 2, "features": [{"name": "f", "enabled": true,
                "strategies": [{"name": "flexibleRollout",
                    "parameters": {"rollout": (rollout % 101).to_string(), "stickiness": "userId"},
                    "constraints": constraints}],
                "variants": [{"name": "a", "weight": 1000, "stickiness": "default"}]}]});
            flagpole::fuzzing::evaluation(&joined(&state, &json!({"context": context})));
            Ok(())
        })
        .unwrap();
    // JSON Patch on generated documents and on a seeded strategy.
    let patch = (
        prop_oneof![
            any_json(),
            from_schema(
                &document,
                &json!({"$ref": "#/components/schemas/Strategy"}),
                0
            )
        ],
        json_patch(),
    );
    runner
        .run(&patch, |(target, patch)| {
            flagpole::fuzzing::json_patch(&joined(&target, &patch));
            Ok(())
        })
        .unwrap();
    // Admin bodies from the Strategy and Variant schemas.
    let bodies = prop_oneof![
        from_schema(
            &document,
            &json!({"$ref": "#/components/schemas/Strategy"}),
            0
        ),
        from_schema(
            &document,
            &json!({"type": "array", "items": {"$ref": "#/components/schemas/Variant"}}),
            0
        ),
        prop::collection::vec(constraint(), 0..4).prop_map(serde_json::Value::Array),
    ];
    runner
        .run(&bodies, |body| {
            flagpole::fuzzing::admin_body(&serde_json::to_vec(&body).unwrap());
            Ok(())
        })
        .unwrap();
    println!(
        "fuzz replay: {replayed} seed inputs and truncations, {} generated inputs, no panic",
        3 * CASES
    );
}
