//! Deltas between snapshots for one token scope: the events of the delta API and of streaming
//! (`hydration`, `feature-updated`, `feature-removed`, `segment-updated`, `segment-removed`).
//! Event ids are snapshot revisions, so a client that reports the last id it saw gets exactly
//! what changed since, or a hydration when that is too far back.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::client_view::{client_features, Scope};
use crate::snapshot::Snapshot;

/// The full state of a scope as one `hydration` event.
pub fn hydration(snapshot: &Snapshot, scope: &Scope) -> Value {
    let body = client_features(snapshot, scope);
    json!({
        "type": "hydration",
        "eventId": snapshot.revision,
        "features": body.features,
        "segments": body.segments.unwrap_or_default(),
    })
}

/// What changed in a scope between two snapshots, as events (empty when nothing did).
pub fn changes(old: &Snapshot, new: &Snapshot, scope: &Scope) -> Vec<Value> {
    let before = client_features(old, scope);
    let after = client_features(new, scope);
    let event_id = new.revision;
    let mut events = Vec::new();
    // Segments first, so that a flag never arrives before a segment it uses.
    let old_segments: BTreeMap<i64, _> = before
        .segments
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let new_segments: BTreeMap<i64, _> = after
        .segments
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    for (id, segment) in &new_segments {
        if old_segments.get(id) != Some(segment) {
            events
                .push(json!({"type": "segment-updated", "eventId": event_id, "segment": segment}));
        }
    }
    let old_features: BTreeMap<&str, _> = before
        .features
        .iter()
        .map(|f| (f.name.as_str(), f))
        .collect();
    let new_features: BTreeMap<&str, _> = after
        .features
        .iter()
        .map(|f| (f.name.as_str(), f))
        .collect();
    for (name, feature) in &new_features {
        if old_features.get(name) != Some(feature) {
            events
                .push(json!({"type": "feature-updated", "eventId": event_id, "feature": feature}));
        }
    }
    for (name, feature) in &old_features {
        if !new_features.contains_key(name) {
            events.push(json!({
                "type": "feature-removed",
                "eventId": event_id,
                "featureName": name,
                "project": feature.project,
            }));
        }
    }
    for id in old_segments.keys() {
        if !new_segments.contains_key(id) {
            events.push(json!({"type": "segment-removed", "eventId": event_id, "segmentId": id}));
        }
    }
    events
}
