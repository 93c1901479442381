//! Activation strategies of a flag in one environment: add, replace, patch, remove, reorder.

use flagpole_eval::wire::Strategy;
use serde_json::Value;

use super::features::{self, prepare_variants, Edit};
use super::{environments, validate, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::Snapshot;

/// A 100% flexible rollout: what "on" means for a flag without strategies.
pub fn default_rollout(feature_name: &str) -> Strategy {
    Strategy {
        id: Some(ulid::Ulid::new().to_string().into()),
        name: "flexibleRollout".into(),
        title: None,
        constraints: vec![],
        parameters: [
            ("groupId".into(), feature_name.into()),
            ("rollout".into(), "100".into()),
            ("stickiness".into(), "default".into()),
        ]
        .into_iter()
        .collect(),
        variants: vec![],
        segments: vec![],
        disabled: Some(false),
        sort_order: Some(0),
    }
}

/// Whether any strategy is active: SDKs ignore disabled ones.
pub fn any_active(strategies: &[Strategy]) -> bool {
    strategies
        .iter()
        .any(|strategy| strategy.disabled != Some(true))
}

/// The sort order that puts a new strategy after the existing ones.
pub fn next_sort_order(strategies: &[Strategy]) -> i64 {
    strategies
        .iter()
        .filter_map(|s| s.sort_order)
        .max()
        .map_or(0, |max| max + 1)
}

/// The admin JSON of a strategy: every field present, as the Admin API shows it.
pub fn admin_json(strategy: &Strategy) -> Value {
    serde_json::json!({
        "id": strategy.id,
        "name": strategy.name,
        "title": strategy.title,
        "disabled": strategy.disabled.unwrap_or(false),
        "sortOrder": strategy.sort_order.unwrap_or(0),
        "constraints": strategy.constraints,
        "variants": strategy.variants,
        "parameters": strategy.parameters,
        "segments": strategy.segments,
    })
}

/// Validates a strategy from a request and fills in what Unleash fills in.
fn prepare(snapshot: &Snapshot, feature_name: &str, strategy: &mut Strategy) -> ApiResult<()> {
    prepare_with(feature_name, strategy, |id| {
        snapshot.segments.contains_key(&id)
    })
}

/// `prepare`, with the segments that exist given by `segment_exists` (an import creates
/// segments in the same change, so they are not in the snapshot yet).
pub fn prepare_with(
    feature_name: &str,
    strategy: &mut Strategy,
    segment_exists: impl Fn(i64) -> bool,
) -> ApiResult<()> {
    for segment in &strategy.segments {
        if !segment_exists(*segment) {
            return Err(ApiError::bad_data(format!(
                "segment {segment} does not exist"
            )));
        }
    }
    normalize(feature_name, strategy)
}

/// Validates a strategy and fills in what Unleash fills in, leaving its segments unchecked (the
/// caller knows which segments exist).
pub(crate) fn normalize(feature_name: &str, strategy: &mut Strategy) -> ApiResult<()> {
    validate::strategy(strategy)?;
    if strategy.name == "flexibleRollout" {
        strategy
            .parameters
            .entry("groupId".into())
            .or_insert_with(|| feature_name.into());
        strategy
            .parameters
            .entry("stickiness".into())
            .or_insert_with(|| "default".into());
        strategy
            .parameters
            .entry("rollout".into())
            .or_insert_with(|| "100".into());
    }
    for constraint in &mut strategy.constraints {
        if constraint.operator.uses_single_value() {
            constraint.values.clear();
        }
    }
    prepare_variants(&mut strategy.variants, feature_name)?;
    if strategy.disabled.is_none() {
        strategy.disabled = Some(false);
    }
    Ok(())
}

pub async fn add(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    environment: &str,
    mut strategy: Strategy,
) -> ApiResult<Strategy> {
    features::modify(
        core,
        actor,
        Some(project),
        name,
        |snapshot, feature, events| {
            // Unleash refuses a new strategy for an unknown environment as bad input.
            if environments::find(snapshot, environment).is_err() {
                return Err(ApiError::bad_data(format!(
                    "There's no environment named {environment}"
                )));
            }
            let state = environment_state(snapshot, feature, environment)?;
            prepare(snapshot, name, &mut strategy)?;
            if state.strategies.len() >= validate::MAX_STRATEGIES {
                return Err(ApiError::bad_data(format!(
                    "a flag may have at most {} strategies per environment",
                    validate::MAX_STRATEGIES
                )));
            }
            let mut added = strategy.clone();
            added.id = Some(ulid::Ulid::new().to_string().into());
            if added.sort_order.is_none() {
                added.sort_order = Some(next_sort_order(&state.strategies));
            }
            state.strategies.push(added.clone());
            events.push(
                Event::new(EventType::FeatureStrategyAdd)
                    .environment(environment)
                    .data(admin_json(&added)),
            );
            Ok(added)
        },
    )
    .await
}

/// A flag's state in an environment that must exist (404 in Unleash's words otherwise).
fn environment_state<'a>(
    snapshot: &Snapshot,
    feature: &'a mut super::model::Feature,
    environment: &str,
) -> ApiResult<&'a mut super::model::FeatureEnvironment> {
    environments::find(snapshot, environment)
        .map_err(|_| unknown_environment(environment, &feature.name))?;
    Ok(feature.environment_mut(environment))
}

fn unknown_environment(environment: &str, feature: &str) -> ApiError {
    ApiError::not_found(format!(
        "Could not find environment {environment} for feature: {feature}"
    ))
}

/// Where the strategy with this id is, or 404.
fn position_of(strategies: &[Strategy], id: &str) -> ApiResult<usize> {
    strategies
        .iter()
        .position(|s| s.id.as_deref() == Some(id))
        .ok_or_else(|| unknown_strategy(id))
}

fn unknown_strategy(id: &str) -> ApiError {
    ApiError::not_found(format!("Could not find strategy with id {id}"))
}

/// Replaces a strategy, keeping its id.
pub async fn update(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    environment: &str,
    id: &str,
    edit: Edit<Strategy>,
) -> ApiResult<Strategy> {
    features::modify(
        core,
        actor,
        Some(project),
        name,
        |snapshot, feature, events| {
            let state = environment_state(snapshot, feature, environment)?;
            let position = position_of(&state.strategies, id)?;
            let slot = &mut state.strategies[position];
            let mut replacement = edit.apply(&admin_json(slot))?;
            prepare(snapshot, name, &mut replacement)?;
            replacement.id = Some(id.into());
            if replacement.sort_order.is_none() {
                replacement.sort_order = slot.sort_order;
            }
            let before = std::mem::replace(slot, replacement.clone());
            let none_active = !any_active(&state.strategies);
            if before != replacement {
                events.push(
                    Event::new(EventType::FeatureStrategyUpdate)
                        .environment(environment)
                        .data(admin_json(&replacement))
                        .pre_data(admin_json(&before)),
                );
            }
            // As in Unleash: disabling the last active strategy switches the environment off.
            if none_active {
                features::toggle_in(snapshot, feature, events, environment, false)?;
            }
            Ok(replacement)
        },
    )
    .await
}

pub async fn get(
    core: &Core,
    project: &str,
    name: &str,
    environment: &str,
    id: &str,
) -> ApiResult<Strategy> {
    let snapshot = core.fresh().await?;
    let feature = features::find(&snapshot, project, name)?;
    environments::find(&snapshot, environment)
        .map_err(|_| unknown_environment(environment, name))?;
    let mut strategies = feature.value.environment(environment).strategies;
    let position = position_of(&strategies, id)?;
    Ok(strategies.swap_remove(position))
}

pub async fn delete(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    environment: &str,
    id: &str,
) -> ApiResult<()> {
    features::modify(
        core,
        actor,
        Some(project),
        name,
        |snapshot, feature, events| {
            let state = environment_state(snapshot, feature, environment)?;
            let position = position_of(&state.strategies, id)?;
            let removed = state.strategies.remove(position);
            // As in Unleash: an environment left without active strategies is switched off
            // (SDKs would otherwise serve an enabled flag with no strategies as on for
            // everyone), and the switch is recorded before the removal that caused it.
            if !any_active(&state.strategies) {
                features::toggle_in(snapshot, feature, events, environment, false)?;
            }
            events.push(
                Event::new(EventType::FeatureStrategyRemove)
                    .environment(environment)
                    .pre_data(admin_json(&removed)),
            );
            Ok(())
        },
    )
    .await
}

/// Sets `sortOrder` for the listed strategy ids.
pub async fn set_sort_order(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    environment: &str,
    orders: Vec<(String, i64)>,
) -> ApiResult<()> {
    features::modify(
        core,
        actor,
        Some(project),
        name,
        |snapshot, feature, events| {
            let state = environment_state(snapshot, feature, environment)?;
            let ids = |strategies: &[Strategy]| -> Vec<String> {
                strategies
                    .iter()
                    .filter_map(|s| s.id.as_deref().map(str::to_owned))
                    .collect()
            };
            let before = ids(&state.strategies);
            let mut changed = false;
            for (id, order) in &orders {
                let position = position_of(&state.strategies, id)?;
                let strategy = &mut state.strategies[position];
                if strategy.sort_order != Some(*order) {
                    strategy.sort_order = Some(*order);
                    changed = true;
                }
            }
            state.strategies.sort_by_key(|s| s.sort_order.unwrap_or(0));
            // One event for the new order, as in Unleash.
            if changed {
                events.push(
                    Event::new(EventType::StrategyOrderChanged)
                        .environment(environment)
                        .data(serde_json::json!({ "strategyIds": ids(&state.strategies) }))
                        .pre_data(serde_json::json!({ "strategyIds": before })),
                );
            }
            Ok(())
        },
    )
    .await
}

/// Replaces every strategy of a flag in one environment (used by the legacy API).
pub fn replace_all(
    snapshot: &Snapshot,
    feature: &mut super::model::Feature,
    environment: &str,
    replacements: &[Strategy],
    events: &mut Vec<Event>,
) -> ApiResult<()> {
    let name = feature.name.clone();
    let mut prepared = Vec::with_capacity(replacements.len());
    for (index, strategy) in replacements.iter().enumerate() {
        let mut strategy = strategy.clone();
        prepare(snapshot, &name, &mut strategy)?;
        strategy.id = Some(ulid::Ulid::new().to_string().into());
        strategy.sort_order = Some(index as i64);
        prepared.push(strategy);
    }
    let state = feature.environment_mut(environment);
    for removed in state.strategies.drain(..) {
        events.push(
            Event::new(EventType::FeatureStrategyRemove)
                .environment(environment)
                .pre_data(admin_json(&removed)),
        );
    }
    for added in &prepared {
        events.push(
            Event::new(EventType::FeatureStrategyAdd)
                .environment(environment)
                .data(admin_json(added)),
        );
    }
    state.strategies = prepared;
    Ok(())
}
