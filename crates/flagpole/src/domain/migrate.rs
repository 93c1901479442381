//! Copying a whole Unleash instance into Flagpole (`flagpole import --from-unleash`): the rules.
//! The source is read elsewhere (`crate::import`); here it is merged into the current state in
//! one change, so that a copy is complete or not made at all, with every write's audit event.
//!
//! Matching: projects, environments, tag types, context fields and flags by name; segments by
//! name too (their ids differ between the two servers and are mapped). What exists is updated to
//! match Unleash; what already matches is left alone, so running the copy again changes nothing.
//! Flags of another Flagpole project, flags archived in Flagpole and flags archived in Unleash
//! are skipped, each with the reason in the report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::Utc;
use flagpole_eval::wire::{Constraint, Strategy};
use serde::Deserialize;

use super::batch::{write_flag, ExportResult, BUILT_IN_STRATEGIES};
use super::context_fields::BUILT_IN;
use super::features::prepare_variants;
use super::model::{
    kind, ContextField, Environment, Feature, LegalValue, Project, Segment, Tag, TagType,
};
use super::{strategies, validate, ChangeSet, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::ApiResult;
use crate::snapshot::Snapshot;

/// A project as Unleash's `GET /api/admin/projects` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceProject {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// An environment as `GET /api/admin/environments` lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceEnvironment {
    pub name: String,
    #[serde(rename = "type")]
    pub environment_type: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub sort_order: Option<i64>,
}

fn yes() -> bool {
    true
}

/// A context field as `GET /api/admin/context` lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceContextField {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub stickiness: bool,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub legal_values: Vec<LegalValue>,
}

/// A segment as `GET /api/admin/segments` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceSegment {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

/// Everything read from the source Unleash.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub projects: Vec<SourceProject>,
    pub environments: Vec<SourceEnvironment>,
    pub tag_types: Vec<TagType>,
    pub context_fields: Vec<SourceContextField>,
    pub segments: Vec<SourceSegment>,
    /// One export per project and environment: `(project, environment, export)`.
    pub exports: Vec<(String, String, ExportResult)>,
    /// Archived flags of the source, `(project, name)`; they are not copied.
    pub archived: Vec<(String, String)>,
}

/// What one kind of object came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// What a copy did: counts per kind, what it skipped and why, and warnings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub counts: BTreeMap<&'static str, Counts>,
    pub skipped: Vec<String>,
    pub warnings: Vec<String>,
}

impl Report {
    fn count(&mut self, kind: &'static str, outcome: Outcome) {
        let counts = self.counts.entry(kind).or_default();
        match outcome {
            Outcome::Created => counts.created += 1,
            Outcome::Updated => counts.updated += 1,
            Outcome::Unchanged => counts.unchanged += 1,
        }
    }

    fn skip(&mut self, kind: &str, name: &str, reason: impl fmt::Display) {
        self.skipped.push(format!("{kind} {name}: {reason}"));
    }

    /// Number of writes made (created plus updated), over every kind.
    pub fn changed(&self) -> usize {
        self.counts.values().map(|c| c.created + c.updated).sum()
    }
}

/// The kinds, in the order they are copied and reported.
pub const KINDS: [&str; 7] = [
    "projects",
    "environments",
    "tag types",
    "context fields",
    "segments",
    "flags",
    "strategies",
];

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:>8} {:>8} {:>10}",
            "KIND", "CREATED", "UPDATED", "UNCHANGED"
        )?;
        for kind in KINDS {
            let counts = self.counts.get(kind).cloned().unwrap_or_default();
            writeln!(
                f,
                "{:<16} {:>8} {:>8} {:>10}",
                kind, counts.created, counts.updated, counts.unchanged
            )?;
        }
        writeln!(f, "skipped: {}", self.skipped.len())?;
        for line in &self.skipped {
            writeln!(f, "  - {line}")?;
        }
        if !self.warnings.is_empty() {
            writeln!(f, "warnings: {}", self.warnings.len())?;
            for line in &self.warnings {
                writeln!(f, "  - {line}")?;
            }
        }
        write!(
            f,
            "not copied: API tokens, users, strategy type definitions, metrics and the event log"
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// Copies the source into Flagpole in one change and reports what it did.
pub async fn copy(core: &Core, actor: &Actor, source: &Source) -> ApiResult<Report> {
    core.change(actor, |snapshot, changes| apply(snapshot, changes, source))
        .await
}

fn apply(snapshot: &Snapshot, changes: &mut ChangeSet, source: &Source) -> ApiResult<Report> {
    let mut report = Report::default();
    let now = Utc::now();

    for project in &source.projects {
        let outcome = match snapshot.projects.get(&project.id) {
            None => {
                if let Err(problem) = validate::url_friendly_name("id", &project.id) {
                    report.skip("project", &project.id, problem.describe());
                    continue;
                }
                let created = Project {
                    id: project.id.clone(),
                    name: project.name.clone(),
                    description: project.description.clone(),
                    created_at: now,
                };
                changes.create(kind::PROJECT, &project.id, &created)?;
                changes.record(
                    Event::new(EventType::ProjectCreated)
                        .project(&project.id)
                        .data(&created),
                );
                Outcome::Created
            }
            Some(current) => {
                let mut updated = (*current.value).clone();
                updated.name = project.name.clone();
                updated.description = project.description.clone();
                if updated == *current.value {
                    Outcome::Unchanged
                } else {
                    changes.update(kind::PROJECT, &project.id, current, &updated)?;
                    changes.record(
                        Event::new(EventType::ProjectUpdated)
                            .project(&project.id)
                            .data(&updated)
                            .pre_data(&*current.value),
                    );
                    Outcome::Updated
                }
            }
        };
        report.count("projects", outcome);
    }
    let projects: BTreeSet<&str> = snapshot
        .projects
        .keys()
        .map(String::as_str)
        .chain(source.projects.iter().map(|p| p.id.as_str()))
        .collect();

    let mut environments: BTreeSet<String> = snapshot.environments.keys().cloned().collect();
    for environment in &source.environments {
        let name = &environment.name;
        let outcome = match snapshot.environments.get(name) {
            None => {
                let valid = validate::url_friendly_name("name", name).and_then(|_| {
                    validate::url_friendly_name("type", &environment.environment_type)
                });
                if let Err(problem) = valid {
                    report.skip("environment", name, problem.describe());
                    continue;
                }
                let created = Environment {
                    name: name.clone(),
                    environment_type: environment.environment_type.clone(),
                    enabled: environment.enabled,
                    sort_order: environment.sort_order.unwrap_or(9999),
                    protected: false,
                    created_at: now,
                };
                changes.create(kind::ENVIRONMENT, name, &created)?;
                changes.record(
                    Event::new(EventType::EnvironmentCreated)
                        .environment(name)
                        .data(&created),
                );
                environments.insert(name.clone());
                Outcome::Created
            }
            Some(current) => {
                let mut updated = (*current.value).clone();
                updated.environment_type = environment.environment_type.clone();
                updated.enabled = environment.enabled;
                if let Some(sort_order) = environment.sort_order {
                    updated.sort_order = sort_order;
                }
                if updated == *current.value
                    || validate::url_friendly_name("type", &updated.environment_type).is_err()
                {
                    Outcome::Unchanged
                } else {
                    changes.update(kind::ENVIRONMENT, name, current, &updated)?;
                    changes.record(
                        Event::new(EventType::EnvironmentUpdated)
                            .environment(name)
                            .data(&updated)
                            .pre_data(&*current.value),
                    );
                    Outcome::Updated
                }
            }
        };
        report.count("environments", outcome);
    }

    let mut tag_types: BTreeSet<String> = snapshot.tag_types.keys().cloned().collect();
    for tag_type in &source.tag_types {
        let name = &tag_type.name;
        let valid = validate::url_friendly_name("name", name)
            .and_then(|_| validate::description(tag_type.description.as_deref()));
        if let Err(problem) = valid {
            report.skip("tag type", name, problem.describe());
            continue;
        }
        let outcome = match snapshot.tag_types.get(name) {
            None => {
                changes.create(kind::TAG_TYPE, name, tag_type)?;
                changes.record(Event::new(EventType::TagTypeCreated).data(tag_type));
                tag_types.insert(name.clone());
                Outcome::Created
            }
            Some(current) if *current.value == *tag_type => Outcome::Unchanged,
            Some(current) => {
                changes.update(kind::TAG_TYPE, name, current, tag_type)?;
                changes.record(
                    Event::new(EventType::TagTypeUpdated)
                        .data(tag_type)
                        .pre_data(&*current.value),
                );
                Outcome::Updated
            }
        };
        report.count("tag types", outcome);
    }

    let built_in: Vec<&str> = source
        .context_fields
        .iter()
        .map(|f| f.name.as_str())
        .filter(|name| BUILT_IN.contains(name))
        .collect();
    if !built_in.is_empty() {
        report.skipped.push(format!(
            "context fields {}: built in to Flagpole",
            built_in.join(", ")
        ));
    }
    for field in &source.context_fields {
        let name = &field.name;
        if BUILT_IN.contains(&name.as_str()) {
            continue;
        }
        let valid = validate::url_friendly_name("name", name)
            .and_then(|_| validate::description(field.description.as_deref()));
        if let Err(problem) = valid {
            report.skip("context field", name, problem.describe());
            continue;
        }
        let outcome = match snapshot.context_fields.get(name) {
            None => {
                let created = ContextField {
                    name: name.clone(),
                    description: field.description.clone(),
                    stickiness: field.stickiness,
                    sort_order: field.sort_order.unwrap_or(10),
                    legal_values: field.legal_values.clone(),
                    created_at: now,
                };
                changes.create(kind::CONTEXT_FIELD, name, &created)?;
                changes.record(Event::new(EventType::ContextFieldCreated).data(&created));
                Outcome::Created
            }
            Some(current) => {
                let mut updated = (*current.value).clone();
                updated.description = field.description.clone();
                updated.stickiness = field.stickiness;
                updated.sort_order = field.sort_order.unwrap_or(updated.sort_order);
                updated.legal_values = field.legal_values.clone();
                if updated == *current.value {
                    Outcome::Unchanged
                } else {
                    changes.update(kind::CONTEXT_FIELD, name, current, &updated)?;
                    changes.record(
                        Event::new(EventType::ContextFieldUpdated)
                            .data(&updated)
                            .pre_data(&*current.value),
                    );
                    Outcome::Updated
                }
            }
        };
        report.count("context fields", outcome);
    }

    // Segments: matched by name, given a Flagpole id when new; Unleash ids map to Flagpole's.
    let mut segment_ids: BTreeMap<i64, i64> = BTreeMap::new();
    let mut next_id = snapshot
        .segments
        .keys()
        .next_back()
        .map_or(1, |max| max + 1)
        .max(snapshot.max_segment_id + 1);
    for segment in &source.segments {
        let valid = validate::constraints(&segment.constraints)
            .and_then(|_| validate::description(segment.description.as_deref()))
            .and_then(|_| {
                if segment.name.trim().is_empty()
                    || segment.name.chars().count() > validate::MAX_NAME_LENGTH
                {
                    Err(crate::error::ApiError::bad_data(
                        "\"name\" must be 1 to 100 characters long",
                    ))
                } else {
                    Ok(())
                }
            });
        if let Err(problem) = valid {
            report.skip("segment", &segment.name, problem.describe());
            continue;
        }
        let project = segment
            .project
            .clone()
            .filter(|p| projects.contains(p.as_str()));
        let existing = snapshot
            .segments
            .values()
            .find(|s| s.value.name == segment.name);
        let outcome = match existing {
            None => {
                let id = next_id;
                next_id += 1;
                let created = Segment {
                    id,
                    name: segment.name.clone(),
                    description: segment.description.clone(),
                    project: project.clone(),
                    constraints: segment.constraints.clone(),
                    created_at: now,
                    created_by: changes.actor().name.clone(),
                };
                changes.create(kind::SEGMENT, id.to_string(), &created)?;
                let mut event = Event::new(EventType::SegmentCreated).data(&created);
                if let Some(project) = &project {
                    event = event.project(project);
                }
                changes.record(event);
                segment_ids.insert(segment.id, id);
                Outcome::Created
            }
            Some(current) => {
                let id = current.value.id;
                segment_ids.insert(segment.id, id);
                let mut updated = (*current.value).clone();
                updated.description = segment.description.clone();
                updated.project = project;
                updated.constraints = segment.constraints.clone();
                if updated == *current.value {
                    Outcome::Unchanged
                } else {
                    changes.update(kind::SEGMENT, id.to_string(), current, &updated)?;
                    changes.record(
                        Event::new(EventType::SegmentUpdated)
                            .data(&updated)
                            .pre_data(&*current.value),
                    );
                    Outcome::Updated
                }
            }
        };
        report.count("segments", outcome);
    }

    for (project, name) in &source.archived {
        report.skip(
            "flag",
            name,
            format!("archived in Unleash (project {project})"),
        );
    }
    let desired = desired_flags(source, &environments, &segment_ids, &mut report);
    copy_flags(
        snapshot,
        changes,
        desired,
        &projects,
        &tag_types,
        &mut report,
    )?;

    let custom: BTreeSet<&str> = source
        .exports
        .iter()
        .flat_map(|(_, _, export)| export.feature_strategies.iter())
        .map(|s| s.name.as_str())
        .filter(|name| !BUILT_IN_STRATEGIES.contains(name))
        .collect();
    if !custom.is_empty() {
        report.warnings.push(format!(
            "custom strategy types were copied as they are, without their definitions; only SDKs \
             that implement them evaluate them: {}",
            custom.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(report)
}

/// A flag as Unleash has it, merged from the exports of every environment.
struct SourceFlag {
    project: String,
    metadata: super::batch::ExportedFeature,
    environments: BTreeMap<String, super::model::FeatureEnvironment>,
    tags: BTreeSet<Tag>,
    dependencies: Vec<flagpole_eval::wire::Dependency>,
    problems: Vec<String>,
}

fn desired_flags(
    source: &Source,
    environments: &BTreeSet<String>,
    segment_ids: &BTreeMap<i64, i64>,
    report: &mut Report,
) -> BTreeMap<String, SourceFlag> {
    let mut flags: BTreeMap<String, SourceFlag> = BTreeMap::new();
    for (project, environment, export) in &source.exports {
        for feature in &export.features {
            let flag = flags
                .entry(feature.name.clone())
                .or_insert_with(|| SourceFlag {
                    project: feature.project.clone().unwrap_or_else(|| project.clone()),
                    metadata: feature.clone(),
                    environments: BTreeMap::new(),
                    tags: BTreeSet::new(),
                    dependencies: vec![],
                    problems: vec![],
                });
            if !environments.contains(environment) {
                continue;
            }
            let state = flag.environments.entry(environment.clone()).or_default();
            if let Some(exported) = export
                .feature_environments
                .iter()
                .find(|e| e.feature_name == feature.name)
            {
                state.enabled = exported.enabled;
                state.variants = exported.variants.clone();
            }
            for (index, exported) in export
                .feature_strategies
                .iter()
                .filter(|s| s.feature_name == feature.name)
                .enumerate()
            {
                let mut segments = Vec::new();
                for id in &exported.segments {
                    match segment_ids.get(id) {
                        Some(mapped) => segments.push(*mapped),
                        None => flag.problems.push(format!(
                            "a strategy in {environment} uses segment {id}, which was not copied"
                        )),
                    }
                }
                state.strategies.push(Strategy {
                    id: exported.id.as_deref().map(Into::into),
                    name: exported.name.as_str().into(),
                    title: exported.title.clone().filter(|t| !t.is_empty()),
                    constraints: exported.constraints.clone(),
                    parameters: exported.parameters.clone(),
                    variants: exported.variants.clone(),
                    segments,
                    disabled: exported.disabled,
                    sort_order: Some(exported.sort_order.unwrap_or(index as i64)),
                });
            }
        }
        for tag in &export.feature_tags {
            if let Some(flag) = flags.get_mut(&tag.feature_name) {
                flag.tags.insert(Tag {
                    tag_type: tag.tag_type.clone(),
                    value: tag.tag_value.clone(),
                });
            }
        }
        for child in &export.dependencies {
            if let Some(flag) = flags.get_mut(&child.feature) {
                for dependency in &child.dependencies {
                    let dependency = flagpole_eval::wire::Dependency {
                        feature: dependency.feature.clone(),
                        enabled: Some(dependency.enabled.unwrap_or(true)),
                        variants: dependency.variants.clone().filter(|v| !v.is_empty()),
                    };
                    if !flag.dependencies.contains(&dependency) {
                        flag.dependencies.push(dependency);
                    }
                }
            }
        }
    }
    for (project, name) in &source.archived {
        if flags.remove(name).is_some() {
            report.warnings.push(format!(
                "flag {name} is both live and archived in Unleash project {project}; not copied"
            ));
        }
    }
    flags
}

fn copy_flags(
    snapshot: &Snapshot,
    changes: &mut ChangeSet,
    desired: BTreeMap<String, SourceFlag>,
    projects: &BTreeSet<&str>,
    tag_types: &BTreeSet<String>,
    report: &mut Report,
) -> ApiResult<()> {
    // Decide which flags can be copied first: a child needs its parent copied or present.
    let mut accepted: BTreeMap<String, Feature> = BTreeMap::new();
    let mut order: Vec<&SourceFlag> = desired.values().collect();
    order.sort_by_key(|f| !f.dependencies.is_empty());
    for flag in order {
        let name = flag.metadata.name.clone();
        let current = snapshot.features.get(name.as_str());
        let reason = if let Some(current) = current.filter(|c| c.value.project != flag.project) {
            Some(format!(
                "exists in Flagpole project {}",
                current.value.project
            ))
        } else if current.is_some_and(|c| c.value.archived) {
            Some("archived in Flagpole; revive or delete it there first".to_owned())
        } else if !projects.contains(flag.project.as_str()) {
            Some(format!("its project {} was not copied", flag.project))
        } else if !flag.problems.is_empty() {
            Some(flag.problems.join("; "))
        } else {
            None
        };
        if let Some(reason) = reason {
            report.skip("flag", &name, reason);
            continue;
        }
        let missing_parent = flag.dependencies.iter().find(|d| {
            let here = snapshot
                .features
                .get(d.feature.as_str())
                .is_some_and(|f| !f.value.archived && f.value.project == flag.project);
            !here && !accepted.contains_key(&d.feature)
        });
        if let Some(parent) = missing_parent {
            report.skip(
                "flag",
                &name,
                format!("depends on {}, which is not in Flagpole", parent.feature),
            );
            continue;
        }
        match build_flag(
            flag,
            current.map(|c| c.value.as_ref()),
            snapshot,
            tag_types,
            changes,
        ) {
            Ok(feature) => {
                accepted.insert(name, feature);
            }
            Err(problem) => report.skip("flag", &name, problem),
        }
    }
    for (name, flag) in accepted {
        let previous = snapshot.features.get(name.as_str());
        let outcome = match previous {
            None => Outcome::Created,
            Some(previous) if *previous.value == flag => Outcome::Unchanged,
            Some(_) => Outcome::Updated,
        };
        count_strategies(previous.map(|p| p.value.as_ref()), &flag, report);
        write_flag(changes, previous, &flag)?;
        report.count("flags", outcome);
    }
    Ok(())
}

/// Counts strategies by id: new, changed, or as they were.
fn count_strategies(before: Option<&Feature>, after: &Feature, report: &mut Report) {
    for (environment, state) in &after.environments {
        let old = before
            .map(|b| b.environment(environment).strategies)
            .unwrap_or_default();
        for strategy in &state.strategies {
            let outcome = match old.iter().find(|o| o.id == strategy.id) {
                None => Outcome::Created,
                Some(o) if o == strategy => Outcome::Unchanged,
                Some(_) => Outcome::Updated,
            };
            report.count("strategies", outcome);
        }
    }
}

/// The Flagpole flag for an Unleash one: the current flag (if any) with Unleash's metadata,
/// tags, dependencies and state in every environment Unleash has.
fn build_flag(
    flag: &SourceFlag,
    current: Option<&Feature>,
    snapshot: &Snapshot,
    tag_types: &BTreeSet<String>,
    changes: &ChangeSet,
) -> Result<Feature, String> {
    let metadata = &flag.metadata;
    let feature_type = metadata
        .feature_type
        .clone()
        .unwrap_or_else(|| "release".into());
    validate::url_friendly_name("name", &metadata.name)
        .and_then(|_| validate::feature_type(&feature_type))
        .and_then(|_| validate::description(metadata.description.as_deref()))
        .map_err(|e| e.describe())?;
    let mut feature = match current {
        Some(current) => current.clone(),
        None => Feature {
            name: metadata.name.as_str().into(),
            project: flag.project.as_str().into(),
            description: None,
            feature_type: feature_type.as_str().into(),
            stale: false,
            impression_data: false,
            archived: false,
            archived_at: None,
            created_at: Utc::now(),
            created_by: changes.actor().name.as_str().into(),
            created_by_user_id: Some(changes.actor().user_id),
            environments: snapshot
                .environments
                .keys()
                .map(|e| (e.as_str().into(), Default::default()))
                .collect(),
            tags: vec![],
            dependencies: vec![],
        },
    };
    feature.description = metadata.description.as_deref().map(Into::into);
    feature.feature_type = feature_type.into();
    feature.stale = metadata.stale.unwrap_or(false);
    feature.impression_data = metadata.impression_data.unwrap_or(false);
    for (environment, state) in &flag.environments {
        let mut state = state.clone();
        if state.strategies.len() > validate::MAX_STRATEGIES {
            return Err(format!(
                "more than {} strategies in {environment}",
                validate::MAX_STRATEGIES
            ));
        }
        for strategy in &mut state.strategies {
            strategies::prepare_with(&metadata.name, strategy, |_| true)
                .map_err(|e| format!("a strategy in {environment}: {}", e.describe()))?;
            if strategy.id.as_deref().is_none_or(str::is_empty) {
                strategy.id = Some(ulid::Ulid::new().to_string().into());
            }
        }
        state.strategies.sort_by_key(|s| s.sort_order.unwrap_or(0));
        prepare_variants(&mut state.variants, &metadata.name)
            .map_err(|e| format!("variants in {environment}: {}", e.describe()))?;
        feature
            .environments
            .insert(environment.as_str().into(), state);
    }
    if let Some(tag) = flag.tags.iter().find(|t| !tag_types.contains(&t.tag_type)) {
        return Err(format!("its tag type {} was not copied", tag.tag_type));
    }
    if flag.tags.len() > validate::MAX_TAGS {
        return Err(format!("more than {} tags", validate::MAX_TAGS));
    }
    feature.tags = flag.tags.iter().cloned().collect();
    feature.dependencies = flag.dependencies.clone();
    Ok(feature)
}
