//! Unleash's export/import format (`/api/admin/features-batch/*`): the flags of one environment
//! with their strategies, tags, dependencies and the segments, context fields and tag types they
//! use. An import is checked as a whole and committed as one change with its audit events, or
//! refused with every problem listed and nothing changed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use flagpole_eval::wire::{Constraint, Dependency, Strategy, Variant};
use serde::{Deserialize, Serialize};

use super::context_fields::BUILT_IN;
use super::features::prepare_variants;
use super::model::{kind, ContextField, Feature, LegalValue, Tag, TagType};
use super::{environments, history, projects, strategies, validate, ChangeSet, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

/// Strategy types every Unleash SDK implements; other names are custom strategies.
pub const BUILT_IN_STRATEGIES: [&str; 8] = [
    "default",
    "flexibleRollout",
    "userWithId",
    "gradualRolloutRandom",
    "gradualRolloutSessionId",
    "gradualRolloutUserId",
    "remoteAddress",
    "applicationHostname",
];

/// Body of `POST /api/admin/features-batch/export` (Unleash's `exportQuerySchema`). Flags are
/// chosen by `features` (names; empty means all), else by `tag`, else by `project`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportQuery {
    pub environment: String,
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// A tag value, or `type:value`.
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub download_file: Option<bool>,
}

/// Unleash's `exportResultSchema`: what an export returns and an import reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    pub features: Vec<ExportedFeature>,
    pub feature_strategies: Vec<ExportedStrategy>,
    #[serde(default)]
    pub feature_environments: Vec<ExportedFeatureEnvironment>,
    #[serde(default)]
    pub context_fields: Vec<ExportedContextField>,
    #[serde(default)]
    pub feature_tags: Vec<ExportedFeatureTag>,
    #[serde(default)]
    pub segments: Vec<ExportedSegment>,
    pub tag_types: Vec<TagType>,
    #[serde(default)]
    pub dependencies: Vec<ExportedDependencies>,
    /// Links to other systems; Flagpole has none and ignores them on import.
    #[serde(default)]
    pub links: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFeature {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type", default)]
    pub feature_type: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub stale: Option<bool>,
    #[serde(default)]
    pub impression_data: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
}

/// One strategy of a flag in the exported environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedStrategy {
    pub name: String,
    #[serde(default)]
    pub id: Option<String>,
    pub feature_name: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "flagpole_eval::wire::parameters_from_any")]
    #[schema(value_type = BTreeMap<String, String>)]
    pub parameters: flagpole_eval::wire::Parameters,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    #[serde(default)]
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub segments: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<i64>,
}

/// A flag's switch and variants in the exported environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFeatureEnvironment {
    pub enabled: bool,
    pub feature_name: String,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub variants: Vec<Variant>,
    /// The flag's name again (Unleash's `featureEnvironmentSchema` requires `name`).
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedContextField {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub stickiness: Option<bool>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub legal_values: Vec<LegalValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportedFeatureTag {
    pub feature_name: String,
    #[serde(default = "simple_tag_type")]
    pub tag_type: String,
    pub tag_value: String,
}

fn simple_tag_type() -> String {
    "simple".into()
}

/// A segment is exported by id and name only: an import finds it in the target by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportedSegment {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExportedDependencies {
    /// The child flag.
    pub feature: String,
    pub dependencies: Vec<Dependency>,
}

/// Body of `POST /api/admin/features-batch/import` and `…/validate` (`importTogglesSchema`):
/// the export to bring into one project and environment.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportRequest {
    pub project: String,
    pub environment: String,
    pub data: ExportResult,
}

/// One finding of a validation, with the names it concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidationItem {
    pub message: String,
    pub affected_items: Vec<String>,
}

/// Answer of `POST /api/admin/features-batch/validate` (`importTogglesValidateSchema`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidationResult {
    /// Problems that stop the import.
    pub errors: Vec<ValidationItem>,
    /// What the import will do that one may not expect.
    pub warnings: Vec<ValidationItem>,
    /// Permissions needed beyond the caller's; admin tokens need none.
    pub permissions: Vec<ValidationItem>,
}

impl ValidationResult {
    fn error(&mut self, message: &str, items: impl IntoIterator<Item = String>) {
        push_item(&mut self.errors, message, items);
    }

    fn warning(&mut self, message: &str, items: impl IntoIterator<Item = String>) {
        push_item(&mut self.warnings, message, items);
    }
}

fn push_item(
    list: &mut Vec<ValidationItem>,
    message: &str,
    items: impl IntoIterator<Item = String>,
) {
    let mut affected: Vec<String> = Vec::new();
    for item in items {
        if !affected.contains(&item) {
            affected.push(item);
        }
    }
    if !affected.is_empty() {
        list.push(ValidationItem {
            message: message.to_owned(),
            affected_items: affected,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Export

/// The flags an export query selects, live ones only, by name.
fn selected<'a>(snapshot: &'a Snapshot, query: &ExportQuery) -> Vec<&'a Feature> {
    let live = snapshot
        .features
        .values()
        .map(|f| f.value.as_ref())
        .filter(|f| !f.archived);
    let names = query.features.as_deref().unwrap_or_default();
    if !names.is_empty() {
        return live
            .filter(|f| names.iter().any(|name| *name == f.name))
            .collect();
    }
    if let Some(tag) = query.tag.as_deref().filter(|t| !t.is_empty()) {
        return live
            .filter(|f| {
                f.tags
                    .iter()
                    .any(|t| t.value == tag || format!("{}:{}", t.tag_type, t.value) == tag)
            })
            .collect();
    }
    if let Some(project) = query.project.as_deref().filter(|p| !p.is_empty()) {
        return live.filter(|f| f.project == project).collect();
    }
    live.collect()
}

/// Builds the export of the selected flags in one environment.
/// As in Unleash, an environment that does not exist exports the flags without strategies.
pub fn export(snapshot: &Snapshot, query: &ExportQuery) -> ApiResult<ExportResult> {
    let environment = query.environment.as_str();
    let flags = selected(snapshot, query);
    let mut result = ExportResult::default();
    let mut segment_ids = BTreeSet::new();
    let mut context_names = BTreeSet::new();
    let mut tag_type_names = BTreeSet::new();
    for flag in &flags {
        result.features.push(ExportedFeature {
            name: flag.name.to_string(),
            description: flag.description.as_ref().map(ToString::to_string),
            feature_type: Some(flag.feature_type.to_string()),
            project: Some(flag.project.to_string()),
            stale: Some(flag.stale),
            impression_data: Some(flag.impression_data),
            archived: Some(flag.archived),
        });
        let state = flag.environment(environment);
        let mut strategies = state.strategies.clone();
        strategies.sort_by_key(|s| s.sort_order.unwrap_or(0));
        for strategy in strategies {
            segment_ids.extend(strategy.segments.iter().copied());
            context_names.extend(
                strategy
                    .constraints
                    .iter()
                    .map(|c| c.context_name.to_string()),
            );
            context_names.extend(override_fields(&strategy.variants));
            result.feature_strategies.push(ExportedStrategy {
                name: strategy.name.into(),
                id: strategy.id.map(Into::into),
                feature_name: flag.name.to_string(),
                title: strategy.title,
                parameters: strategy.parameters,
                constraints: strategy.constraints,
                variants: strategy.variants,
                disabled: Some(strategy.disabled.unwrap_or(false)),
                segments: strategy.segments,
                // The list's order is the strategies' order, as in Unleash's export.
                sort_order: None,
            });
        }
        context_names.extend(override_fields(&state.variants));
        if snapshot.environments.contains_key(environment) {
            result
                .feature_environments
                .push(ExportedFeatureEnvironment {
                    enabled: state.enabled,
                    feature_name: flag.name.to_string(),
                    environment: Some(environment.to_owned()),
                    variants: state.variants,
                    name: Some(flag.name.to_string()),
                });
        }
        for tag in &flag.tags {
            tag_type_names.insert(tag.tag_type.clone());
            result.feature_tags.push(ExportedFeatureTag {
                feature_name: flag.name.to_string(),
                tag_type: tag.tag_type.clone(),
                tag_value: tag.value.clone(),
            });
        }
        if !flag.dependencies.is_empty() {
            result.dependencies.push(ExportedDependencies {
                feature: flag.name.to_string(),
                dependencies: flag
                    .dependencies
                    .iter()
                    .map(|d| Dependency {
                        feature: d.feature.clone(),
                        enabled: Some(d.enabled.unwrap_or(true)),
                        variants: Some(d.variants.clone().unwrap_or_default()),
                    })
                    .collect(),
            });
        }
    }
    for id in segment_ids {
        if let Some(segment) = snapshot.segments.get(&id) {
            context_names.extend(
                segment
                    .value
                    .constraints
                    .iter()
                    .map(|c| c.context_name.to_string()),
            );
            result.segments.push(ExportedSegment {
                id,
                name: segment.value.name.clone(),
            });
        }
    }
    result.context_fields = context_names
        .iter()
        .filter_map(|name| snapshot.context_fields.get(name.as_str()))
        .map(|field| ExportedContextField {
            name: field.value.name.clone(),
            description: field.value.description.clone(),
            stickiness: Some(field.value.stickiness),
            sort_order: Some(field.value.sort_order),
            legal_values: field.value.legal_values.clone(),
        })
        .collect();
    result.tag_types = tag_type_names
        .iter()
        .filter_map(|name| snapshot.tag_types.get(name))
        .map(|t| (*t.value).clone())
        .collect();
    Ok(result)
}

fn override_fields(variants: &[Variant]) -> impl Iterator<Item = String> + '_ {
    variants
        .iter()
        .flat_map(|v| v.overrides.iter().map(|o| o.context_name.clone()))
}

/// Exports and records a `features-exported` event, as Unleash does.
pub async fn export_recorded(
    core: &Core,
    actor: &Actor,
    query: &ExportQuery,
) -> ApiResult<ExportResult> {
    core.change(actor, |snapshot, changes| {
        let result = export(snapshot, query)?;
        changes.record(
            Event::new(EventType::FeaturesExported)
                .environment(&query.environment)
                .data(serde_json::json!({ "data": &result })),
        );
        Ok(result)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Import

/// What an import would write: computed by `plan`, committed by `import`.
struct Plan {
    tag_types: Vec<TagType>,
    context_fields: Vec<ContextField>,
    /// The new state of each flag that changes, with its previous version when it exists.
    flags: Vec<(Option<Versioned<Feature>>, Feature)>,
}

/// Checks an import against the current state. Errors stop it; warnings describe it.
pub fn validate_import(snapshot: &Snapshot, request: &ImportRequest) -> ValidationResult {
    plan(snapshot, request, "").0
}

/// The validation and, when there are no errors, the plan.
fn plan(
    snapshot: &Snapshot,
    request: &ImportRequest,
    created_by: &str,
) -> (ValidationResult, Option<Plan>) {
    let mut report = ValidationResult::default();
    let data = &request.data;
    let project = request.project.as_str();
    let environment = request.environment.as_str();
    if projects::find(snapshot, project).is_err() {
        report.error("The target project does not exist:", [project.to_owned()]);
    }
    if environments::find(snapshot, environment).is_err() {
        report.error(
            "The target environment does not exist:",
            [environment.to_owned()],
        );
    }

    // The flags of the file, each once and with a valid name, type and description.
    let mut names = BTreeSet::new();
    let mut duplicates = Vec::new();
    let mut invalid = Vec::new();
    for feature in &data.features {
        if !names.insert(feature.name.as_str()) {
            duplicates.push(feature.name.clone());
        }
        let feature_type = feature.feature_type.as_deref().unwrap_or("release");
        let problem = validate::url_friendly_name("name", &feature.name)
            .and_then(|_| validate::feature_type(feature_type))
            .and_then(|_| validate::description(feature.description.as_deref()))
            .err();
        if let Some(problem) = problem {
            invalid.push(format!("{}: {}", feature.name, problem.describe()));
        }
    }
    report.error("These flags appear more than once in the file:", duplicates);
    report.error("These flags are not valid:", invalid);

    // Everything else must refer to flags of the file.
    let strangers = data
        .feature_strategies
        .iter()
        .map(|s| &s.feature_name)
        .chain(data.feature_environments.iter().map(|e| &e.feature_name))
        .chain(data.feature_tags.iter().map(|t| &t.feature_name))
        .chain(data.dependencies.iter().map(|d| &d.feature))
        .filter(|name| !names.contains(name.as_str()))
        .cloned();
    report.error(
        "The file has strategies, environments, tags or dependencies of flags that are not in its `features` list:",
        strangers,
    );

    // Flags elsewhere, and archived ones, which are left alone.
    let mut other_projects = Vec::new();
    let mut archived = BTreeSet::new();
    let mut existing = Vec::new();
    for name in &names {
        if let Some(current) = snapshot.features.get(*name) {
            if current.value.project != project {
                other_projects.push(format!("{name} (in project {})", current.value.project));
            } else if current.value.archived {
                archived.insert(name.to_string());
            } else {
                existing.push(name.to_string());
            }
        }
    }
    report.error(
        "These flags already exist in another project; a flag cannot be imported into two projects:",
        other_projects,
    );

    // Segments are found by name; they are not created by an import.
    let exported_segments: BTreeMap<i64, &str> = data
        .segments
        .iter()
        .map(|s| (s.id, s.name.as_str()))
        .collect();
    let mut segment_map: BTreeMap<i64, i64> = BTreeMap::new();
    let mut missing_segments = Vec::new();
    let mut unknown_segment_ids = Vec::new();
    for id in data.feature_strategies.iter().flat_map(|s| &s.segments) {
        match exported_segments.get(id) {
            None => unknown_segment_ids.push(id.to_string()),
            Some(name) => match snapshot.segments.values().find(|s| s.value.name == *name) {
                Some(found) => {
                    segment_map.insert(*id, found.value.id);
                }
                None => missing_segments.push(name.to_string()),
            },
        }
    }
    report.error(
        "These segments do not exist here; create them (with the same name) first:",
        missing_segments,
    );
    report.error(
        "Strategies refer to segment ids that the file's `segments` list does not name:",
        unknown_segment_ids,
    );

    // Context fields: new ones are created; existing ones must allow the imported legal values.
    let mut context_fields = Vec::new();
    let mut mismatched = Vec::new();
    for field in &data.context_fields {
        if BUILT_IN.contains(&field.name.as_str()) {
            continue;
        }
        match snapshot.context_fields.get(&field.name) {
            Some(current) => {
                let allowed: BTreeSet<&str> = current
                    .value
                    .legal_values
                    .iter()
                    .map(|l| l.value.as_str())
                    .collect();
                let fits = allowed.is_empty()
                    || field
                        .legal_values
                        .iter()
                        .all(|l| allowed.contains(l.value.as_str()));
                if !fits {
                    mismatched.push(field.name.clone());
                }
            }
            None => {
                let problem = validate::url_friendly_name("name", &field.name)
                    .and_then(|_| validate::description(field.description.as_deref()))
                    .err();
                match problem {
                    Some(problem) => {
                        mismatched.push(format!("{}: {}", field.name, problem.describe()))
                    }
                    None => context_fields.push(ContextField {
                        name: field.name.clone(),
                        description: field.description.clone(),
                        stickiness: field.stickiness.unwrap_or(false),
                        sort_order: field.sort_order.unwrap_or(0),
                        legal_values: field.legal_values.clone(),
                        created_at: Utc::now(),
                    }),
                }
            }
        }
    }
    report.error(
        "These context fields exist here without some of the imported legal values, or are not valid:",
        mismatched,
    );

    // Tag types: new ones are created; tags need a type that exists or is in the file.
    let mut tag_types = Vec::new();
    let mut bad_tag_types = Vec::new();
    for tag_type in &data.tag_types {
        if snapshot.tag_types.contains_key(&tag_type.name)
            || tag_types.iter().any(|t: &TagType| t.name == tag_type.name)
        {
            continue;
        }
        match validate::url_friendly_name("name", &tag_type.name)
            .and_then(|_| validate::description(tag_type.description.as_deref()))
        {
            Ok(()) => tag_types.push(tag_type.clone()),
            Err(problem) => {
                bad_tag_types.push(format!("{}: {}", tag_type.name, problem.describe()))
            }
        }
    }
    let known_tag_type = |name: &str| {
        snapshot.tag_types.contains_key(name) || tag_types.iter().any(|t| t.name == name)
    };
    for tag in &data.feature_tags {
        if !known_tag_type(&tag.tag_type) {
            bad_tag_types.push(tag.tag_type.clone());
        }
        if tag.tag_value.trim().is_empty() || tag.tag_value.chars().count() > 50 {
            bad_tag_types.push(format!(
                "{}: a tag value must be 1 to 50 characters long",
                tag.feature_name
            ));
        }
    }
    report.error(
        "These tag types are neither here nor in the file's `tagTypes`, or tags are not valid:",
        bad_tag_types,
    );

    // Dependencies: the parent must be imported too or live in the target project, one level.
    let mut bad_dependencies = Vec::new();
    let parents: BTreeSet<&str> = data
        .dependencies
        .iter()
        .flat_map(|d| d.dependencies.iter().map(|p| p.feature.as_str()))
        .collect();
    for child in &data.dependencies {
        if parents.contains(child.feature.as_str()) {
            bad_dependencies.push(format!(
                "{}: a parent flag cannot have a parent itself",
                child.feature
            ));
        }
        for parent in &child.dependencies {
            let here = snapshot
                .features
                .get(parent.feature.as_str())
                .is_some_and(|f| f.value.project == project && !f.value.archived);
            if parent.feature == child.feature {
                bad_dependencies.push(format!("{}: a flag cannot depend on itself", child.feature));
            } else if !names.contains(parent.feature.as_str()) && !here {
                bad_dependencies.push(format!(
                    "{} depends on {}, which is neither in the file nor in project {project}",
                    child.feature, parent.feature
                ));
            }
        }
    }
    report.error("These dependencies cannot be imported:", bad_dependencies);

    // Warnings.
    let custom: Vec<String> = data
        .feature_strategies
        .iter()
        .filter(|s| !BUILT_IN_STRATEGIES.contains(&s.name.as_str()))
        .map(|s| s.name.clone())
        .collect();
    report.warning(
        "These custom strategy types are imported as they are; Flagpole has no definition for them, so only SDKs that implement them evaluate them:",
        custom,
    );
    report.warning(
        "These flags are archived here and will not be imported; revive them first to import them:",
        archived.iter().cloned(),
    );
    report.warning(
        "These flags already exist in the project; their metadata, and their strategies, variants, switch, tags and dependencies in the environment, will be replaced:",
        existing.into_iter().filter(|n| !archived.contains(n)),
    );

    if !report.errors.is_empty() {
        return (report, None);
    }

    // The new state of every flag, built only when the file is consistent.
    let mut flags = Vec::new();
    let mut invalid_flags = Vec::new();
    for feature in data.features.iter().filter(|f| !archived.contains(&f.name)) {
        let previous = snapshot.features.get(feature.name.as_str()).cloned();
        match imported_flag(
            snapshot,
            request,
            feature,
            previous.as_ref().map(|p| p.value.as_ref()),
            &segment_map,
            created_by,
        ) {
            Ok(flag) => {
                if previous.as_ref().is_none_or(|p| *p.value != flag) {
                    flags.push((previous, flag));
                }
            }
            Err(problem) => invalid_flags.push(format!("{}: {}", feature.name, problem.describe())),
        }
    }
    report.error(
        "These flags have invalid strategies or variants:",
        invalid_flags,
    );
    if !report.errors.is_empty() {
        return (report, None);
    }
    (
        report,
        Some(Plan {
            tag_types,
            context_fields,
            flags,
        }),
    )
}

/// The state of one flag after the import.
fn imported_flag(
    snapshot: &Snapshot,
    request: &ImportRequest,
    feature: &ExportedFeature,
    previous: Option<&Feature>,
    segment_map: &BTreeMap<i64, i64>,
    created_by: &str,
) -> ApiResult<Feature> {
    let data = &request.data;
    let environment = request.environment.as_str();
    let mut flag = match previous {
        Some(previous) => previous.clone(),
        None => Feature {
            name: feature.name.as_str().into(),
            project: request.project.as_str().into(),
            description: None,
            feature_type: "release".into(),
            stale: false,
            impression_data: false,
            archived: false,
            archived_at: None,
            created_at: Utc::now(),
            created_by: created_by.into(),
            created_by_user_id: None,
            environments: snapshot
                .environments
                .keys()
                .map(|e| (e.as_str().into(), Default::default()))
                .collect(),
            tags: vec![],
            dependencies: vec![],
        },
    };
    flag.description = feature.description.as_deref().map(Into::into);
    flag.feature_type = feature.feature_type.as_deref().unwrap_or("release").into();
    flag.stale = feature.stale.unwrap_or(false);
    flag.impression_data = feature.impression_data.unwrap_or(false);

    let mut imported = Vec::new();
    for (index, exported) in data
        .feature_strategies
        .iter()
        .filter(|s| s.feature_name == feature.name)
        .enumerate()
    {
        let mut strategy = Strategy {
            id: None,
            name: exported.name.as_str().into(),
            title: exported.title.clone().filter(|t| !t.is_empty()),
            constraints: exported.constraints.clone(),
            parameters: exported.parameters.clone(),
            variants: exported.variants.clone(),
            segments: exported
                .segments
                .iter()
                .filter_map(|id| segment_map.get(id).copied())
                .collect(),
            disabled: exported.disabled,
            sort_order: Some(exported.sort_order.unwrap_or(index as i64)),
        };
        strategies::prepare_with(&feature.name, &mut strategy, |_| true)?;
        imported.push(strategy);
    }
    if imported.len() > validate::MAX_STRATEGIES {
        return Err(ApiError::bad_data(format!(
            "a flag may have at most {} strategies per environment",
            validate::MAX_STRATEGIES
        )));
    }
    let state = flag.environment_mut(environment);
    // Strategies equal to the current ones but for their ids are kept, ids and all, so that
    // importing the same file twice changes nothing.
    let without_ids = |list: &[Strategy]| -> Vec<Strategy> {
        list.iter()
            .cloned()
            .map(|mut s| {
                s.id = None;
                s
            })
            .collect()
    };
    if without_ids(&state.strategies) != imported {
        for strategy in &mut imported {
            strategy.id = Some(ulid::Ulid::new().to_string().into());
        }
        state.strategies = imported;
    }
    if let Some(exported) = data
        .feature_environments
        .iter()
        .find(|e| e.feature_name == feature.name)
    {
        let mut variants = exported.variants.clone();
        prepare_variants(&mut variants, &feature.name)?;
        state.enabled = exported.enabled;
        state.variants = variants;
    }

    let mut tags: Vec<Tag> = data
        .feature_tags
        .iter()
        .filter(|t| t.feature_name == feature.name)
        .map(|t| Tag {
            tag_type: t.tag_type.clone(),
            value: t.tag_value.clone(),
        })
        .collect();
    tags.sort();
    tags.dedup();
    if tags.len() > validate::MAX_TAGS {
        return Err(ApiError::bad_data(format!(
            "a flag may have at most {} tags",
            validate::MAX_TAGS
        )));
    }
    flag.tags = tags;
    flag.dependencies = data
        .dependencies
        .iter()
        .filter(|d| d.feature == feature.name)
        .flat_map(|d| d.dependencies.iter())
        .map(|d| Dependency {
            feature: d.feature.clone(),
            enabled: Some(d.enabled.unwrap_or(true)),
            variants: d.variants.clone().filter(|v| !v.is_empty()),
        })
        .collect();
    Ok(flag)
}

/// Imports a file into one project and environment: all of it, in one change with its audit
/// events, or nothing (400 listing every problem; 404 for an unknown project or environment).
pub async fn import(core: &Core, actor: &Actor, request: &ImportRequest) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        projects::find(snapshot, &request.project)?;
        environments::find(snapshot, &request.environment)?;
        let (report, plan) = plan(snapshot, request, &changes.actor().name);
        let Some(plan) = plan else {
            return Err(ApiError::BadData {
                message: "The import was refused and nothing was changed. \
                          Refer to the `details` list for the problems."
                    .into(),
                details: report
                    .errors
                    .iter()
                    .map(|e| format!("{} {}", e.message, e.affected_items.join(", ")))
                    .collect(),
            });
        };
        for tag_type in &plan.tag_types {
            changes.create(kind::TAG_TYPE, &tag_type.name, tag_type)?;
            changes.record(Event::new(EventType::TagTypeCreated).data(tag_type));
        }
        for field in &plan.context_fields {
            changes.create(kind::CONTEXT_FIELD, &field.name, field)?;
            changes.record(Event::new(EventType::ContextFieldCreated).data(field));
        }
        for (previous, flag) in &plan.flags {
            write_flag(changes, previous.as_ref(), flag)?;
        }
        changes.record(
            Event::new(EventType::FeaturesImported)
                .project(&request.project)
                .environment(&request.environment)
                .data(serde_json::json!({
                    "project": request.project,
                    "environment": request.environment,
                    "features": request.data.features.iter().map(|f| &f.name).collect::<Vec<_>>(),
                })),
        );
        Ok(())
    })
    .await
}

/// Writes a flag's new state (creating it when there is no previous version) and records the
/// events that describe the difference, as the single-purpose endpoints would have.
pub(super) fn write_flag(
    changes: &mut ChangeSet,
    previous: Option<&Versioned<Feature>>,
    after: &Feature,
) -> ApiResult<()> {
    match previous {
        Some(previous) if *previous.value == *after => return Ok(()),
        Some(previous) => changes.update(kind::FEATURE, after.name.as_str(), previous, after)?,
        None => changes.create(kind::FEATURE, after.name.as_str(), after)?,
    }
    for event in history::flag_events(previous.map(|p| p.value.as_ref()), after) {
        changes.record(event);
    }
    Ok(())
}
