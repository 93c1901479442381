//! The environment-less flag API of Unleash 3 and 4 (`/api/admin/features`), which Unleash's
//! API-access docs still show although Unleash 8 removed it.
//!
//! A legacy flag has one `enabled` switch and one strategy list. Flagpole maps them onto the
//! "legacy environments": `LEGACY_API_ENVIRONMENTS`, or every environment when that is unset.
//! Reading: `enabled` is true when the flag is on in every legacy environment, and `strategies`
//! are those of the first legacy environment (by sort order). Writing: toggles and strategy
//! lists apply to every legacy environment, each change with its own audit event.

use flagpole_eval::wire::Strategy;
use serde::Deserialize;
use serde_json::{json, Value};

use super::features::{self, CreateFeature, FeatureMetadata};
use super::model::kind;
use super::model::Feature;
use super::projects::DEFAULT_PROJECT;
use super::{strategies, Core, Event};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::Snapshot;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LegacyFeature {
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type", default)]
    pub feature_type: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub stale: Option<bool>,
    #[serde(default)]
    pub impression_data: Option<bool>,
    #[serde(default)]
    pub strategies: Option<Vec<Strategy>>,
}

/// The environments the legacy API acts on, in sort order.
pub fn environments(core: &Core, snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .sorted_environments()
        .into_iter()
        .map(|e| e.name.clone())
        .filter(|name| {
            core.legacy_environments.is_empty() || core.legacy_environments.contains(name)
        })
        .collect()
}

pub fn to_json(core: &Core, snapshot: &Snapshot, feature: &Feature) -> Value {
    let legacy = environments(core, snapshot);
    let enabled = !legacy.is_empty() && legacy.iter().all(|env| feature.environment(env).enabled);
    let strategies: Vec<Value> = legacy
        .first()
        .map(|env| feature.environment(env).strategies)
        .unwrap_or_default()
        .iter()
        .map(
            |s| json!({ "name": s.name, "parameters": s.parameters, "constraints": s.constraints }),
        )
        .collect();
    json!({
        "name": feature.name,
        "description": feature.description,
        "type": feature.feature_type,
        "project": feature.project,
        "enabled": enabled,
        "stale": feature.stale,
        "impressionData": feature.impression_data,
        "strategies": strategies,
        "variants": [],
        "createdAt": feature.created_at,
        "archived": feature.archived,
    })
}

/// Sets the on/off state in every legacy environment; `None` flips the current state.
pub async fn toggle(
    core: &Core,
    actor: &Actor,
    name: &str,
    enabled: Option<bool>,
) -> ApiResult<Feature> {
    features::modify(core, actor, None, name, |snapshot, feature, events| {
        let legacy = environments(core, snapshot);
        let currently =
            !legacy.is_empty() && legacy.iter().all(|env| feature.environment(env).enabled);
        let target = enabled.unwrap_or(!currently);
        for environment in &legacy {
            features::toggle_in(snapshot, feature, events, environment, target)?;
        }
        Ok(feature.clone())
    })
    .await
}

/// Creates a flag with its legacy state in one change: a rejected strategy leaves no flag behind.
pub async fn create(core: &Core, actor: &Actor, input: LegacyFeature) -> ApiResult<Feature> {
    let project = input
        .project
        .clone()
        .unwrap_or_else(|| DEFAULT_PROJECT.into());
    let create = CreateFeature {
        name: input.name.clone(),
        feature_type: input.feature_type.clone(),
        description: input.description.clone(),
        impression_data: input.impression_data,
        stale: input.stale,
        tags: vec![],
    };
    core.change(actor, |snapshot, changes| {
        let mut feature = features::new_feature(snapshot, changes.actor(), &project, &create)?;
        let mut events = Vec::new();
        apply_state(core, snapshot, &mut feature, &input, &mut events)?;
        changes.create(kind::FEATURE, feature.name.as_str(), &feature)?;
        changes.record(features::created_event(&feature));
        for event in events {
            changes.record(event.feature(&feature));
        }
        Ok(feature)
    })
    .await
}

/// Updates metadata and legacy state in one change.
pub async fn update(
    core: &Core,
    actor: &Actor,
    name: &str,
    input: LegacyFeature,
) -> ApiResult<Feature> {
    let metadata = FeatureMetadata {
        name: input.name.clone(),
        feature_type: input.feature_type.clone(),
        description: input.description.clone().map(Some),
        stale: input.stale,
        impression_data: input.impression_data,
        archived: None,
        project: None,
    };
    features::modify(core, actor, None, name, |snapshot, feature, events| {
        features::apply_metadata(feature, &metadata, events)?;
        apply_state(core, snapshot, feature, &input, events)?;
        Ok(feature.clone())
    })
    .await
}

/// Applies the strategies and the on/off state of a legacy body to every legacy environment.
fn apply_state(
    core: &Core,
    snapshot: &Snapshot,
    feature: &mut Feature,
    input: &LegacyFeature,
    events: &mut Vec<Event>,
) -> ApiResult<()> {
    let legacy = environments(core, snapshot);
    if legacy.is_empty() {
        return Err(ApiError::bad_data(
            "no environment is configured for the legacy API",
        ));
    }
    for environment in &legacy {
        if let Some(list) = &input.strategies {
            strategies::replace_all(snapshot, feature, environment, list, events)?;
        }
        if let Some(enabled) = input.enabled {
            features::toggle_in(snapshot, feature, events, environment, enabled)?;
        }
    }
    Ok(())
}
