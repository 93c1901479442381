//! Feature flags: creation, metadata, archive, per-environment switches, variants, tags and
//! dependencies. Strategies live in `strategies`.

use std::collections::BTreeMap;

use chrono::Utc;
use flagpole_eval::wire::{Dependency, Strategy, Variant};
use serde::Deserialize;

use super::model::{kind, Feature, Tag};
use super::{environments, projects, strategies, validate, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateFeature {
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub feature_type: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub impression_data: Option<bool>,
    #[serde(default)]
    pub stale: Option<bool>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The metadata a PUT replaces (and a JSON Patch may touch).
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeatureMetadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type", default)]
    pub feature_type: Option<String>,
    /// Absent leaves the description as it is; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    #[serde(default)]
    pub stale: Option<bool>,
    #[serde(default)]
    pub impression_data: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
    #[serde(default)]
    pub project: Option<String>,
}

impl FeatureMetadata {
    /// The metadata a PUT leaves behind: as in Unleash, a PUT replaces the flag's description
    /// and impression-data setting, so leaving them out clears them.
    pub fn as_replacement(mut self) -> FeatureMetadata {
        self.description.get_or_insert(None);
        self.impression_data.get_or_insert(false);
        self
    }
}

/// Tells a field that was sent as `null` (`Some(None)`) from one that was left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// A live (not archived) flag in the given project, or 404 in Unleash's words.
pub fn find<'a>(
    snapshot: &'a Snapshot,
    project: &str,
    name: &str,
) -> ApiResult<&'a Versioned<Feature>> {
    let feature = find_including_archived(snapshot, project, name)?;
    if feature.value.archived {
        return Err(not_in_project(project, name));
    }
    Ok(feature)
}

fn not_in_project(project: &str, name: &str) -> ApiError {
    ApiError::not_found(format!(
        "There's no feature named \"{name}\" in project \"{project}\"."
    ))
}

/// A flag of the project, live or archived: what writes address.
pub fn find_including_archived<'a>(
    snapshot: &'a Snapshot,
    project: &str,
    name: &str,
) -> ApiResult<&'a Versioned<Feature>> {
    projects::find(snapshot, project)?;
    snapshot
        .features
        .get(name)
        .filter(|feature| feature.value.project == project)
        .ok_or_else(|| not_in_project(project, name))
}

/// A flag in any project, live or archived.
pub fn find_any_including_archived<'a>(
    snapshot: &'a Snapshot,
    name: &str,
) -> ApiResult<&'a Versioned<Feature>> {
    snapshot
        .features
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("Could not find feature flag with name {name}")))
}

/// A live flag in any project.
pub fn find_any<'a>(snapshot: &'a Snapshot, name: &str) -> ApiResult<&'a Versioned<Feature>> {
    snapshot
        .features
        .get(name)
        .filter(|feature| !feature.value.archived)
        .ok_or_else(|| ApiError::not_found(format!("Could not find feature flag with name {name}")))
}

/// Checks that a name could be used for a new flag: valid, and not taken (archived flags
/// keep their name, as in Unleash).
pub fn check_name_available(snapshot: &Snapshot, name: &str) -> ApiResult<()> {
    validate::url_friendly_name("name", name)?;
    if snapshot.features.contains_key(name) {
        return Err(ApiError::conflict("A flag with that name already exists"));
    }
    Ok(())
}

pub async fn create(
    core: &Core,
    actor: &Actor,
    project: &str,
    input: CreateFeature,
) -> ApiResult<Feature> {
    core.change(actor, |snapshot, changes| {
        let feature = new_feature(snapshot, changes.actor(), project, &input)?;
        changes.create(kind::FEATURE, feature.name.as_str(), &feature)?;
        changes.record(created_event(&feature));
        Ok(feature)
    })
    .await
}

/// A new flag built from a request, checked against the snapshot; nothing is written.
pub fn new_feature(
    snapshot: &Snapshot,
    created_by: &Actor,
    project: &str,
    input: &CreateFeature,
) -> ApiResult<Feature> {
    let name = input.name.clone().ok_or_else(|| {
        ApiError::bad_field(
            "/body/name",
            "The `/body/name` property is required. It was not present on the data you sent.",
        )
    })?;
    let feature_type = input
        .feature_type
        .clone()
        .unwrap_or_else(|| "release".into());
    // Unleash names the field without the `/body/` prefix here.
    validate::feature_type(&feature_type).map_err(|error| error.at("type"))?;
    validate::description(input.description.as_deref())?;
    tags(&input.tags)?;
    projects::find(snapshot, project)?;
    check_name_available(snapshot, &name)?;
    for tag in &input.tags {
        tag_type_exists(snapshot, &tag.tag_type)?;
    }
    let mut tags = input.tags.clone();
    tags.sort();
    tags.dedup();
    Ok(Feature {
        name: name.into(),
        project: project.into(),
        description: input.description.as_deref().map(Into::into),
        feature_type: feature_type.into(),
        stale: input.stale.unwrap_or(false),
        impression_data: input.impression_data.unwrap_or(false),
        archived: false,
        archived_at: None,
        created_at: Utc::now(),
        created_by: created_by.name.as_str().into(),
        created_by_user_id: Some(created_by.user_id),
        environments: snapshot
            .environments
            .keys()
            .map(|environment| (environment.as_str().into(), Default::default()))
            .collect(),
        tags,
        dependencies: vec![],
    })
}

pub fn created_event(feature: &Feature) -> Event {
    Event::new(EventType::FeatureCreated)
        .feature(feature)
        .data(feature.metadata())
}

/// Loads a flag, lets `edit` change a copy and describe the events, and writes it back if
/// anything changed. Every single-purpose flag edit goes through here. The flag is one of the
/// project's, archived or not (Unleash lets every write reach an archived flag; reviving
/// switches its environments off, so nothing reaches SDKs unseen), or, when `project` is
/// `None`, a flag of any project.
pub async fn modify<R>(
    core: &Core,
    actor: &Actor,
    project: Option<&str>,
    name: &str,
    mut edit: impl FnMut(&Snapshot, &mut Feature, &mut Vec<Event>) -> ApiResult<R>,
) -> ApiResult<R> {
    core.change(actor, |snapshot, changes| {
        let previous = match project {
            Some(project) => find_including_archived(snapshot, project, name)?,
            None => find_any_including_archived(snapshot, name)?,
        };
        let mut feature = (*previous.value).clone();
        let mut events = Vec::new();
        let result = edit(snapshot, &mut feature, &mut events)?;
        if feature != *previous.value {
            changes.update(kind::FEATURE, name, previous, &feature)?;
        }
        for event in events {
            changes.record(event.feature(&feature));
        }
        Ok(result)
    })
    .await
}

pub async fn update_metadata(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    input: FeatureMetadata,
) -> ApiResult<Feature> {
    modify(core, actor, Some(project), name, |_, feature, events| {
        apply_metadata(feature, &input, events)?;
        Ok(feature.clone())
    })
    .await
}

/// Applies an RFC 6902 JSON Patch to the flag's metadata.
pub async fn patch_metadata(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    patch: json_patch::Patch,
) -> ApiResult<Feature> {
    modify(core, actor, Some(project), name, |_, feature, events| {
        let input: FeatureMetadata = apply_json_patch(&feature.metadata(), &patch)?;
        apply_metadata(feature, &input, events)?;
        Ok(feature.clone())
    })
    .await
}

/// A new value, or a JSON Patch to apply to the current one. Patches are applied inside the
/// change, to the state being committed, so that a concurrent edit is never overwritten.
#[derive(Debug, Clone)]
pub enum Edit<T> {
    Replace(T),
    Patch(json_patch::Patch),
}

impl<T: serde::de::DeserializeOwned + Clone> Edit<T> {
    /// The new value, given the JSON form of the current one.
    pub fn apply(&self, current: &impl serde::Serialize) -> ApiResult<T> {
        match self {
            Edit::Replace(value) => Ok(value.clone()),
            Edit::Patch(patch) => apply_json_patch(current, patch),
        }
    }
}

/// Applies an RFC 6902 JSON Patch to the JSON form of `value` and reads the result back.
pub fn apply_json_patch<T: serde::Serialize, R: serde::de::DeserializeOwned>(
    value: &T,
    patch: &json_patch::Patch,
) -> ApiResult<R> {
    let mut document =
        serde_json::to_value(value).map_err(|error| ApiError::Internal(error.into()))?;
    json_patch::patch(&mut document, patch).map_err(|error| {
        ApiError::bad_data(format!("the JSON Patch cannot be applied: {error}"))
    })?;
    serde_json::from_value(document)
        .map_err(|error| ApiError::bad_data(format!("the patched document is invalid: {error}")))
}

/// Applies new metadata and records one `feature-metadata-updated` event if anything changed.
pub(super) fn apply_metadata(
    feature: &mut Feature,
    input: &FeatureMetadata,
    events: &mut Vec<Event>,
) -> ApiResult<()> {
    let before = feature.metadata();
    let was_stale = feature.stale;
    if let Some(name) = &input.name {
        if *name != feature.name {
            return Err(ApiError::bad_data("A flag cannot be renamed"));
        }
    }
    if let Some(project) = &input.project {
        if *project != feature.project {
            return Err(ApiError::bad_data(
                "Moving a flag to another project is not supported by this endpoint",
            ));
        }
    }
    if let Some(feature_type) = &input.feature_type {
        validate::feature_type(feature_type)?;
        feature.feature_type = feature_type.as_str().into();
    }
    if let Some(description) = &input.description {
        validate::description(description.as_deref())?;
        feature.description = description.as_deref().map(Into::into);
    }
    if let Some(stale) = input.stale {
        feature.stale = stale;
    }
    if let Some(impression_data) = input.impression_data {
        feature.impression_data = impression_data;
    }
    if feature.metadata() != before {
        let stale_changed = feature.stale != was_stale;
        events.push(
            Event::new(EventType::FeatureMetadataUpdated)
                .data(feature.metadata())
                .pre_data(before),
        );
        // As in Unleash, marking a flag stale (or not) is an event of its own as well.
        if stale_changed {
            let event_type = if feature.stale {
                EventType::FeatureStaleOn
            } else {
                EventType::FeatureStaleOff
            };
            events.push(Event::new(event_type));
        }
    }
    Ok(())
}

pub async fn archive(
    core: &Core,
    actor: &Actor,
    project: Option<&str>,
    name: &str,
) -> ApiResult<()> {
    modify(core, actor, project, name, |snapshot, feature, events| {
        let children: Vec<&str> = snapshot
            .features
            .values()
            .filter(|other| {
                !other.value.archived && other.value.dependencies.iter().any(|d| d.feature == name)
            })
            .map(|other| other.value.name.as_str())
            .collect();
        if feature.archived {
            return Err(ApiError::not_found(format!(
                "There's no feature named \"{name}\" that is not archived already."
            )));
        }
        if !children.is_empty() {
            return Err(ApiError::bad_data(format!(
                "{name} is a parent of {}; remove those dependencies first",
                children.join(", ")
            )));
        }
        feature.archived = true;
        feature.archived_at = Some(Utc::now());
        events.push(Event::new(EventType::FeatureArchived));
        Ok(())
    })
    .await
}

fn find_archived<'a>(snapshot: &'a Snapshot, name: &str) -> ApiResult<&'a Versioned<Feature>> {
    snapshot
        .features
        .get(name)
        .filter(|feature| feature.value.archived)
        .ok_or_else(|| ApiError::not_found(format!("There's no archived flag named \"{name}\"")))
}

pub async fn revive(core: &Core, actor: &Actor, name: &str) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let previous = find_archived(snapshot, name)?;
        let mut feature = (*previous.value).clone();
        feature.archived = false;
        feature.archived_at = None;
        // As in Unleash: a revived flag comes back off everywhere, so reviving cannot expose
        // users to a flag whose configuration nobody has looked at since it was archived.
        for (_, state) in feature.environments.iter_mut() {
            state.enabled = false;
        }
        projects::find(snapshot, &feature.project)?;
        changes.update(kind::FEATURE, name, previous, &feature)?;
        changes.record(Event::new(EventType::FeatureRevived).feature(&feature));
        Ok(())
    })
    .await
}

/// Deletes an archived flag for good. Its audit history stays. As in Unleash, a name that is
/// not an archived flag is left alone and still answered with success, so a clean-up that
/// runs twice (Terraform's destroy, say) does not fail.
pub async fn delete_archived(core: &Core, actor: &Actor, name: &str) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let Ok(previous) = find_archived(snapshot, name) else {
            return Ok(());
        };
        changes.delete(kind::FEATURE, name, previous);
        changes.record(
            Event::new(EventType::FeatureDeleted)
                .feature(&previous.value)
                .pre_data(previous.value.metadata()),
        );
        Ok(())
    })
    .await
}

/// Turns a flag on or off in one environment. Turning on an environment without strategies
/// adds a 100% flexible rollout first, as Unleash does, so "on" means on for everyone.
pub async fn set_environment_enabled(
    core: &Core,
    actor: &Actor,
    project: Option<&str>,
    name: &str,
    environment: &str,
    enabled: bool,
) -> ApiResult<()> {
    modify(core, actor, project, name, |snapshot, feature, events| {
        toggle_in(snapshot, feature, events, environment, enabled)
    })
    .await
}

/// Turns several flags of one project on or off in one environment, in one change: either all
/// of them switch or, if one is unknown, none does.
pub async fn set_environment_enabled_bulk(
    core: &Core,
    actor: &Actor,
    project: &str,
    names: &[String],
    environment: &str,
    enabled: bool,
) -> ApiResult<()> {
    if names.len() > validate::MAX_BULK {
        return Err(ApiError::bad_data(format!(
            "at most {} flags can be switched at once",
            validate::MAX_BULK
        )));
    }
    core.change(actor, |snapshot, changes| {
        let mut seen = std::collections::BTreeSet::new();
        // As in Unleash, the strategies added for flags switched on without one are recorded
        // first, then the switches.
        let mut strategies_added = Vec::new();
        let mut switches = Vec::new();
        for name in names.iter().filter(|name| seen.insert(name.as_str())) {
            let previous = find(snapshot, project, name)?;
            let mut feature = (*previous.value).clone();
            let mut events = Vec::new();
            toggle_in(snapshot, &mut feature, &mut events, environment, enabled)?;
            if feature != *previous.value {
                changes.update(kind::FEATURE, name.as_str(), previous, &feature)?;
            }
            for event in events {
                let event = event.feature(&feature);
                if event.event_type() == EventType::FeatureStrategyAdd {
                    strategies_added.push(event);
                } else {
                    switches.push(event);
                }
            }
        }
        for event in strategies_added.into_iter().chain(switches) {
            changes.record(event);
        }
        Ok(())
    })
    .await
}

/// The toggle itself, shared with the legacy endpoints that switch several environments at once.
pub fn toggle_in(
    snapshot: &Snapshot,
    feature: &mut Feature,
    events: &mut Vec<Event>,
    environment: &str,
    enabled: bool,
) -> ApiResult<()> {
    if !snapshot.environments.contains_key(environment) {
        return Err(ApiError::not_found(format!(
            "Could not find environment {environment} for feature: {}",
            feature.name
        )));
    }
    let name = feature.name.clone();
    let state = feature.environment_mut(environment);
    // As in Unleash: "on" with no active strategy means on for everyone, so a 100% rollout
    // is added (after any disabled ones, which stay as they are).
    if enabled && !strategies::any_active(&state.strategies) {
        let mut strategy = strategies::default_rollout(&name);
        strategy.sort_order = Some(strategies::next_sort_order(&state.strategies));
        events.push(
            Event::new(EventType::FeatureStrategyAdd)
                .environment(environment)
                .data(strategies::admin_json(&strategy)),
        );
        state.strategies.push(strategy);
    }
    if state.enabled != enabled {
        state.enabled = enabled;
        let event_type = if enabled {
            EventType::FeatureEnvironmentEnabled
        } else {
            EventType::FeatureEnvironmentDisabled
        };
        events.push(Event::new(event_type).environment(environment));
    }
    Ok(())
}

/// Replaces a flag's variants in one environment.
pub async fn set_environment_variants(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    environment: &str,
    edit: Edit<Vec<Variant>>,
) -> ApiResult<Vec<Variant>> {
    modify(
        core,
        actor,
        Some(project),
        name,
        |snapshot, feature, events| {
            environments::find(snapshot, environment)?;
            let mut variants = edit.apply(&feature.environment(environment).variants)?;
            prepare_variants(&mut variants, &feature.name)?;
            let state = feature.environment_mut(environment);
            let before = std::mem::replace(&mut state.variants, variants.clone());
            if before != variants {
                events.push(
                    Event::new(EventType::FeatureEnvironmentVariantsUpdated)
                        .environment(environment)
                        .data(serde_json::json!({ "variants": variants }))
                        .pre_data(serde_json::json!({ "variants": before })),
                );
            }
            Ok(variants)
        },
    )
    .await
}

pub fn prepare_variants(variants: &mut [Variant], feature_name: &str) -> ApiResult<()> {
    validate::variants(variants)?;
    for variant in variants.iter_mut() {
        if variant.stickiness.is_none() {
            variant.stickiness = Some("default".into());
        }
        if variant.weight_type.is_none() {
            variant.weight_type = Some("variable".into());
        }
    }
    validate::balance_variant_weights(variants).map_err(|error| match error {
        ApiError::BadData { details, .. } => ApiError::bad_data(format!(
            "variants of {feature_name}: {}",
            details.join("; ")
        )),
        other => other,
    })
}

pub(crate) fn tags(tags: &[Tag]) -> ApiResult<()> {
    if tags.len() > validate::MAX_TAGS {
        return Err(ApiError::bad_data(format!(
            "a flag may have at most {} tags",
            validate::MAX_TAGS
        )));
    }
    for tag in tags {
        if tag.value.trim().is_empty() || tag.value.chars().count() > 50 {
            return Err(ApiError::bad_data(
                "a tag \"value\" must be 1 to 50 characters long",
            ));
        }
    }
    Ok(())
}

fn tag_type_exists(snapshot: &Snapshot, tag_type: &str) -> ApiResult<()> {
    if snapshot.tag_types.contains_key(tag_type) {
        Ok(())
    } else {
        // Unleash refuses it as bad input, pointing at the tag.
        Err(ApiError::bad_field(
            "/body/value",
            format!("There is no tag type named {tag_type}"),
        ))
    }
}

/// Adds and removes tags in one change.
pub async fn update_tags(
    core: &Core,
    actor: &Actor,
    name: &str,
    added: Vec<Tag>,
    removed: Vec<Tag>,
) -> ApiResult<Vec<Tag>> {
    tags(&added)?;
    // Added first, then removed, as Unleash applies them.
    modify(core, actor, None, name, |snapshot, feature, events| {
        for tag in &added {
            tag_type_exists(snapshot, &tag.tag_type)?;
            if !feature.tags.contains(tag) {
                feature.tags.push(tag.clone());
                events.push(Event::new(EventType::FeatureTagged).data(tag));
            }
        }
        for tag in &removed {
            if let Some(position) = feature.tags.iter().position(|t| t == tag) {
                feature.tags.remove(position);
                events.push(Event::new(EventType::FeatureUntagged).pre_data(tag));
            }
        }
        feature.tags.sort();
        if feature.tags.len() > validate::MAX_TAGS {
            return Err(ApiError::bad_data("a flag may have at most 100 tags"));
        }
        Ok(feature.tags.clone())
    })
    .await
}

/// Adds (or replaces) the dependency on a parent flag.
pub async fn add_dependency(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    dependency: Dependency,
) -> ApiResult<()> {
    modify(core, actor, Some(project), name, |snapshot, feature, events| {
        let parent = find(snapshot, project, &dependency.feature).map_err(|_| {
            ApiError::invalid_operation(format!(
                "the parent flag {} must exist in project {project}",
                dependency.feature
            ))
        })?;
        if parent.value.name == feature.name {
            return Err(ApiError::invalid_operation("a flag cannot depend on itself"));
        }
        if !parent.value.dependencies.is_empty() {
            return Err(ApiError::invalid_operation(
                "the parent flag has a parent of its own; only one level of dependencies is allowed",
            ));
        }
        let has_children = snapshot.features.values().any(|other| {
            !other.value.archived && other.value.dependencies.iter().any(|d| d.feature == feature.name)
        });
        if has_children {
            return Err(ApiError::invalid_operation(
                "this flag is a parent of other flags and cannot have a parent itself",
            ));
        }
        // As Unleash keeps it: variants only matter when the parent must be on. The event
        // records the request as it was made.
        let enabled = dependency.enabled.unwrap_or(true);
        let stored = Dependency {
            feature: dependency.feature.clone(),
            enabled: Some(enabled),
            variants: enabled.then(|| dependency.variants.clone().unwrap_or_default()),
        };
        feature.dependencies.retain(|d| d.feature != stored.feature);
        feature.dependencies.push(stored);
        events.push(Event::new(EventType::FeatureDependencyAdded).data(&dependency));
        Ok(())
    })
    .await
}

/// Removes one dependency, or all of them when `parent` is `None`.
pub async fn remove_dependency(
    core: &Core,
    actor: &Actor,
    project: &str,
    name: &str,
    parent: Option<&str>,
) -> ApiResult<()> {
    modify(core, actor, Some(project), name, |_, feature, events| {
        match parent {
            Some(parent) => {
                let before = feature.dependencies.len();
                feature.dependencies.retain(|d| d.feature != parent);
                if feature.dependencies.len() == before {
                    return Err(ApiError::not_found(format!(
                        "{name} does not depend on {parent}"
                    )));
                }
                events.push(
                    Event::new(EventType::FeatureDependencyRemoved)
                        .data(serde_json::json!({ "feature": parent })),
                );
            }
            None => {
                if !feature.dependencies.is_empty() {
                    feature.dependencies.clear();
                    events.push(Event::new(EventType::FeatureDependenciesRemoved));
                }
            }
        }
        Ok(())
    })
    .await
}

/// Names of live flags that depend on `name`.
pub fn children<'a>(snapshot: &'a Snapshot, name: &str) -> Vec<&'a str> {
    snapshot
        .features
        .values()
        .filter(|f| !f.value.archived && f.value.dependencies.iter().any(|d| d.feature == name))
        .map(|f| f.value.name.as_str())
        .collect()
}

/// Strategies of one environment, for the listing endpoint.
pub fn environment_strategies(feature: &Feature, environment: &str) -> Vec<Strategy> {
    feature.environment(environment).strategies
}

/// Per-environment on/off state, for legacy views.
pub fn enabled_map(feature: &Feature) -> BTreeMap<String, bool> {
    feature
        .environments
        .iter()
        .map(|(name, state)| (name.to_string(), state.enabled))
        .collect()
}
