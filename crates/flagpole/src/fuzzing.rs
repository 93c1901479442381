//! The bodies of the fuzz targets in `fuzz/` (run with cargo-fuzz on a nightly toolchain), kept
//! in the library so that a stable test replays the seed corpus (`fuzz/seeds/`) in every CI run.
//! Each takes arbitrary bytes and must return without panicking whatever they hold; errors
//! are expected answers. Nothing here touches a database or the network.
//!
//! Inputs with two parts separate them with a NUL byte; without one, the bytes serve as both.

use chrono::{DateTime, Utc};
use flagpole_eval::wire::{ClientFeatures, Constraint, Strategy, Variant};
use flagpole_eval::Engine;
use serde_json::Value;

use crate::domain::{features, validate};

/// Splits an input at its first NUL byte.
fn two_parts(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, data),
    }
}

/// A fixed clock, so that a failure replays the same way.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
}

/// Evaluation: a Client API state (JSON) and an evaluation context, read both as an OFREP
/// request body and as a Frontend API context; every flag is evaluated for each context.
pub fn evaluation(data: &[u8]) {
    let (state, context) = two_parts(data);
    let Ok(state) = serde_json::from_slice::<ClientFeatures>(state) else {
        return;
    };
    let engine = Engine::compile(&state);
    let mut contexts = Vec::new();
    if let Ok(context) = crate::api::ofrep::parse_request(context) {
        contexts.push(context);
    }
    if let Ok(value) = serde_json::from_slice::<Value>(context) {
        let frontend = value.get("context").cloned().unwrap_or(value);
        if let Ok(context) = crate::api::frontend::context_from_json(frontend) {
            contexts.push(context);
        }
    }
    for context in &contexts {
        for evaluation in engine.evaluate_all(context, now()) {
            let _ = engine.get_variant(evaluation.name, context, now());
        }
    }
}

/// JSON Patch: a document and a patch, applied as the Admin API applies patches to flags,
/// strategies and variant lists, and the patched result validated as the API would.
pub fn json_patch(data: &[u8]) {
    let (document, patch) = two_parts(data);
    let (Ok(document), Ok(patch)) = (
        serde_json::from_slice::<Value>(document),
        serde_json::from_slice::<json_patch::Patch>(patch),
    ) else {
        return;
    };
    let _ = features::apply_json_patch::<Value, Value>(&document, &patch);
    if let Ok(strategy) = features::apply_json_patch::<Value, Strategy>(&document, &patch) {
        let _ = validate::strategy(&strategy);
    }
    if let Ok(mut variants) = features::apply_json_patch::<Value, Vec<Variant>>(&document, &patch) {
        if validate::variants(&variants).is_ok() {
            let _ = validate::balance_variant_weights(&mut variants);
        }
    }
}

/// Admin request bodies that carry flag configuration: read as a strategy, a variant list and
/// a constraint list, and validated; whatever validation accepts must compile in the engine.
pub fn admin_body(data: &[u8]) {
    if let Ok(strategy) = serde_json::from_slice::<Strategy>(data) {
        if validate::strategy(&strategy).is_ok() {
            for constraint in &strategy.constraints {
                assert_eq!(
                    flagpole_eval::constraint_problem(constraint),
                    None,
                    "a constraint passed validation that the engine cannot compile"
                );
            }
        }
    }
    if let Ok(mut variants) = serde_json::from_slice::<Vec<Variant>>(data) {
        if validate::variants(&variants).is_ok()
            && validate::balance_variant_weights(&mut variants).is_ok()
        {
            let variable_total: u32 = variants.iter().map(|v| v.weight).sum();
            assert!(
                variable_total <= 1000 || variants.is_empty(),
                "weights over 1000"
            );
        }
    }
    if let Ok(constraints) = serde_json::from_slice::<Vec<Constraint>>(data) {
        let _ = validate::constraints(&constraints);
    }
}
