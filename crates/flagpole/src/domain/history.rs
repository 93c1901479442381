//! One account of what changed in a flag: the audit events Unleash writes for the difference
//! between a flag's old and new state. Every writer that replaces whole flags (batch import,
//! the migration from Unleash, the declarative apply) describes its change with it.

use std::collections::BTreeSet;

use flagpole_eval::wire::CompactString;

use super::model::Feature;
use super::{strategies, Event, EventType};

/// The events for turning `before` (none: a new flag) into `after`, each naming the flag. A new
/// flag's tags are part of its creation; its strategies, switches and dependencies are events
/// of their own, as when they are added one by one.
pub fn flag_events(before: Option<&Feature>, after: &Feature) -> Vec<Event> {
    let mut events = Vec::new();
    let empty = Feature {
        tags: after.tags.clone(),
        dependencies: vec![],
        environments: Default::default(),
        ..after.clone()
    };
    let before = match before {
        Some(before) => {
            metadata_events(before, after, &mut events);
            before
        }
        None => {
            events.push(Event::new(EventType::FeatureCreated).data(after.metadata()));
            &empty
        }
    };
    let environments: BTreeSet<&CompactString> = before
        .environments
        .keys()
        .chain(after.environments.keys())
        .collect();
    for environment in environments {
        environment_events(before, after, environment, &mut events);
    }
    for tag in before.tags.iter().filter(|t| !after.tags.contains(t)) {
        events.push(Event::new(EventType::FeatureUntagged).pre_data(tag));
    }
    for tag in after.tags.iter().filter(|t| !before.tags.contains(t)) {
        events.push(Event::new(EventType::FeatureTagged).data(tag));
    }
    for dependency in before
        .dependencies
        .iter()
        .filter(|d| !after.dependencies.contains(d))
    {
        events.push(
            Event::new(EventType::FeatureDependencyRemoved)
                .data(serde_json::json!({ "feature": dependency.feature })),
        );
    }
    for dependency in after
        .dependencies
        .iter()
        .filter(|d| !before.dependencies.contains(d))
    {
        events.push(Event::new(EventType::FeatureDependencyAdded).data(dependency));
    }
    events
        .into_iter()
        .map(|event| event.feature(after))
        .collect()
}

/// Archived or revived, then the flag's own fields (and, as in Unleash, being marked stale or
/// not as an event of its own).
fn metadata_events(before: &Feature, after: &Feature, events: &mut Vec<Event>) {
    match (before.archived, after.archived) {
        (true, false) => events.push(Event::new(EventType::FeatureRevived)),
        (false, true) => events.push(Event::new(EventType::FeatureArchived)),
        _ => {}
    }
    if before.metadata() != after.metadata() {
        events.push(
            Event::new(EventType::FeatureMetadataUpdated)
                .data(after.metadata())
                .pre_data(before.metadata()),
        );
    }
    if before.stale != after.stale {
        let event_type = if after.stale {
            EventType::FeatureStaleOn
        } else {
            EventType::FeatureStaleOff
        };
        events.push(Event::new(event_type));
    }
}

/// Strategies removed, added and changed, variants, and the switch, in one environment.
fn environment_events(
    before: &Feature,
    after: &Feature,
    environment: &str,
    events: &mut Vec<Event>,
) {
    let old = before.environment(environment);
    let new = after.environment(environment);
    for removed in old
        .strategies
        .iter()
        .filter(|s| !new.strategies.iter().any(|n| n.id == s.id))
    {
        events.push(
            Event::new(EventType::FeatureStrategyRemove)
                .environment(environment)
                .pre_data(strategies::admin_json(removed)),
        );
    }
    for strategy in &new.strategies {
        match old.strategies.iter().find(|o| o.id == strategy.id) {
            None => events.push(
                Event::new(EventType::FeatureStrategyAdd)
                    .environment(environment)
                    .data(strategies::admin_json(strategy)),
            ),
            Some(old_strategy) if old_strategy != strategy => events.push(
                Event::new(EventType::FeatureStrategyUpdate)
                    .environment(environment)
                    .data(strategies::admin_json(strategy))
                    .pre_data(strategies::admin_json(old_strategy)),
            ),
            Some(_) => {}
        }
    }
    if old.variants != new.variants {
        events.push(
            Event::new(EventType::FeatureEnvironmentVariantsUpdated)
                .environment(environment)
                .data(serde_json::json!({ "variants": new.variants }))
                .pre_data(serde_json::json!({ "variants": old.variants })),
        );
    }
    if old.enabled != new.enabled {
        let event_type = if new.enabled {
            EventType::FeatureEnvironmentEnabled
        } else {
            EventType::FeatureEnvironmentDisabled
        };
        events.push(Event::new(event_type).environment(environment));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(state: serde_json::Value) -> Feature {
        let mut flag = serde_json::json!({
            "name": "checkout", "project": "default", "type": "release",
            "createdAt": "2026-12-01T00:00:00Z", "createdBy": "admin",
        });
        flag.as_object_mut()
            .unwrap()
            .extend(state.as_object().unwrap().clone());
        serde_json::from_value(flag).unwrap()
    }

    fn kinds(events: &[Event]) -> Vec<&'static str> {
        events.iter().map(|e| e.event_type().as_str()).collect()
    }

    #[test]
    fn a_new_flag_is_created_with_its_tags_then_gets_its_strategies_and_switches() {
        let after = flag(serde_json::json!({
            "tags": [{"type": "simple", "value": "web"}],
            "environments": {"development": {"enabled": true, "strategies": [
                {"id": "s1", "name": "default", "parameters": {}}]}},
        }));
        assert_eq!(
            kinds(&flag_events(None, &after)),
            [
                "feature-created",
                "feature-strategy-add",
                "feature-environment-enabled"
            ]
        );
    }

    #[test]
    fn every_kind_of_change_is_one_event() {
        let before = flag(serde_json::json!({
            "archived": true,
            "tags": [{"type": "simple", "value": "old"}],
            "environments": {"development": {"enabled": false, "strategies": [
                {"id": "s1", "name": "default", "parameters": {}},
                {"id": "s2", "name": "default", "parameters": {}}]}},
        }));
        let after = flag(serde_json::json!({
            "stale": true,
            "tags": [{"type": "simple", "value": "new"}],
            "dependencies": [{"feature": "parent", "enabled": true}],
            "environments": {"development": {"enabled": true, "strategies": [
                {"id": "s1", "name": "default", "parameters": {}, "title": "edited"},
                {"id": "s3", "name": "default", "parameters": {}}]}},
        }));
        assert_eq!(
            kinds(&flag_events(Some(&before), &after)),
            [
                "feature-revived",
                "feature-metadata-updated",
                "feature-stale-on",
                "feature-strategy-remove",
                "feature-strategy-update",
                "feature-strategy-add",
                "feature-environment-enabled",
                "feature-untagged",
                "feature-tagged",
                "feature-dependency-added",
            ]
        );
        assert!(
            flag_events(Some(&after), &after).is_empty(),
            "no change, no event"
        );
    }
}
