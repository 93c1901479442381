//! What applying a document changes: the new documents, their audit events (the same ones the
//! Admin API writes for the same edit) and a readable description of each change.
//!
//! A plan is built against one snapshot and is free of side effects, so that `Core::change` can
//! rebuild it after losing a race. Anything the file gets wrong is refused before anything is
//! written, naming where in the file the problem is.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use flagpole_eval::wire::{Dependency, Strategy, Variant};
use serde::Serialize;
use serde_json::Value;

use super::convert::{self, SegmentNames};
use super::format::*;
use crate::domain::model::{
    kind, ContextField, Environment, Feature, FeatureEnvironment, LegalValue, Project, Segment,
    Tag, TagType,
};
use crate::domain::EventType;
use crate::domain::{features, history, strategies, validate, ChangeSet, Event};
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Archive the live flags of the file's projects that the file does not list.
    pub prune: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Archive,
}

/// One changed thing, as the plan shows it.
#[derive(Debug, Clone)]
pub struct Item {
    pub action: Action,
    /// e.g. `flag new-checkout`.
    pub what: String,
    /// Field-level changes, `path: before → after`, or a note.
    pub details: Vec<String>,
}

/// A new or changed document.
struct Put<T> {
    key: String,
    previous: Option<Versioned<T>>,
    value: T,
}

enum Write {
    Project(Put<Project>),
    Environment(Put<Environment>),
    TagType(Put<TagType>),
    ContextField(Put<ContextField>),
    Segment(Put<Segment>),
    Feature(Put<Feature>),
}

pub struct Plan {
    pub items: Vec<Item>,
    writes: Vec<Write>,
    events: Vec<Event>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn count(&self, action: Action) -> usize {
        self.items.iter().filter(|i| i.action == action).count()
    }

    /// "2 to create, 1 to update" style summary, or "no changes".
    pub fn summary(&self, tense: &str) -> String {
        if self.is_empty() {
            return "no changes".to_owned();
        }
        let mut parts = Vec::new();
        for (action, word) in [
            (Action::Create, "create"),
            (Action::Update, "update"),
            (Action::Archive, "archive"),
        ] {
            let count = self.count(action);
            if count > 0 {
                parts.push(match tense {
                    "past" => format!("{count} {}", past(word)),
                    _ => format!("{count} to {word}"),
                });
            }
        }
        parts.join(", ")
    }

    /// The plan as diff-style lines: `+` create, `~` update, `-` archive.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for item in &self.items {
            let (sign, verb) = match item.action {
                Action::Create => ('+', "create"),
                Action::Update => ('~', "update"),
                Action::Archive => ('-', "archive"),
            };
            out.push_str(&format!("{sign} {verb} {}\n", item.what));
            for detail in &item.details {
                out.push_str(&format!("    {detail}\n"));
            }
        }
        out
    }

    /// Adds the plan's writes and events to a change.
    pub fn record(&mut self, changes: &mut ChangeSet) -> ApiResult<()> {
        for write in std::mem::take(&mut self.writes) {
            match write {
                Write::Project(put) => put_document(changes, kind::PROJECT, put)?,
                Write::Environment(put) => put_document(changes, kind::ENVIRONMENT, put)?,
                Write::TagType(put) => put_document(changes, kind::TAG_TYPE, put)?,
                Write::ContextField(put) => put_document(changes, kind::CONTEXT_FIELD, put)?,
                Write::Segment(put) => put_document(changes, kind::SEGMENT, put)?,
                Write::Feature(put) => put_document(changes, kind::FEATURE, put)?,
            }
        }
        for event in std::mem::take(&mut self.events) {
            changes.record(event);
        }
        Ok(())
    }
}

fn past(word: &str) -> String {
    match word {
        "create" => "created".into(),
        "update" => "updated".into(),
        _ => "archived".into(),
    }
}

fn put_document<T: Serialize + 'static>(
    changes: &mut ChangeSet,
    kind: &'static str,
    put: Put<T>,
) -> ApiResult<()> {
    match &put.previous {
        Some(previous) => changes.update(kind, put.key, previous, &put.value),
        None => changes.create(kind, put.key, &put.value),
    }
}

/// Prefixes an error with where in the file it comes from.
fn at(place: &str) -> impl Fn(ApiError) -> ApiError + '_ {
    move |error| ApiError::bad_data(format!("{place}: {}", error.describe()))
}

fn refuse<T>(place: &str, message: impl std::fmt::Display) -> ApiResult<T> {
    Err(ApiError::bad_data(format!("{place}: {message}")))
}

fn unique<'a>(list: &str, names: impl Iterator<Item = &'a str>) -> ApiResult<()> {
    let mut seen = BTreeSet::new();
    for name in names {
        if !seen.insert(name) {
            return refuse(list, format!("\"{name}\" is listed twice"));
        }
    }
    Ok(())
}

fn json(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Builds the plan that makes the database match `document`.
pub fn plan(
    snapshot: &Snapshot,
    document: &Document,
    options: &PlanOptions,
    actor_name: &str,
) -> ApiResult<Plan> {
    let mut builder = Builder {
        snapshot,
        actor_name,
        plan: Plan {
            items: vec![],
            writes: vec![],
            events: vec![],
        },
        projects: snapshot.projects.keys().cloned().collect(),
        environments: snapshot.environments.keys().cloned().collect(),
        tag_types: snapshot.tag_types.keys().cloned().collect(),
        segment_ids: snapshot
            .segments
            .values()
            .map(|s| (s.value.name.clone(), s.value.id))
            .collect(),
        segment_names: convert::segment_names(snapshot),
    };
    unique("projects", document.projects.iter().map(|p| p.id.as_str()))?;
    unique(
        "environments",
        document.environments.iter().map(|e| e.name.as_str()),
    )?;
    unique(
        "tagTypes",
        document.tag_types.iter().map(|t| t.name.as_str()),
    )?;
    unique(
        "contextFields",
        document.context_fields.iter().map(|c| c.name.as_str()),
    )?;
    unique(
        "segments",
        document.segments.iter().map(|s| s.name.as_str()),
    )?;
    unique("flags", document.flags.iter().map(|f| f.name.as_str()))?;

    for spec in &document.projects {
        builder.project(spec)?;
    }
    for spec in &document.environments {
        builder.environment(spec)?;
    }
    for spec in &document.tag_types {
        builder.tag_type(spec)?;
    }
    for spec in &document.context_fields {
        builder.context_field(spec)?;
    }
    let mut segments: Vec<&SegmentSpec> = document.segments.iter().collect();
    segments.sort_by(|a, b| a.name.cmp(&b.name));
    for spec in segments {
        builder.segment(spec)?;
    }

    let mut flags: Vec<&FlagSpec> = document.flags.iter().collect();
    flags.sort_by(|a, b| a.name.cmp(&b.name));
    let mut desired: BTreeMap<String, Feature> = BTreeMap::new();
    for spec in flags {
        let feature = builder.flag(spec)?;
        desired.insert(feature.name.to_string(), feature);
    }

    let mut pruned = Vec::new();
    if options.prune {
        let file_projects: BTreeSet<&str> = document
            .projects
            .iter()
            .map(|p| p.id.as_str())
            .chain(document.flags.iter().map(|f| f.project.as_str()))
            .collect();
        for feature in snapshot.features.values() {
            let value = &feature.value;
            if !value.archived
                && file_projects.contains(value.project.as_str())
                && !desired.contains_key(value.name.as_str())
            {
                pruned.push(feature.clone());
            }
        }
    }
    check_dependencies(snapshot, &desired, &pruned)?;
    for previous in pruned {
        let mut feature = (*previous.value).clone();
        feature.archived = true;
        feature.archived_at = Some(Utc::now());
        builder
            .plan
            .events
            .push(Event::new(EventType::FeatureArchived).feature(&feature));
        builder.plan.items.push(Item {
            action: Action::Archive,
            what: format!("flag {} (project {})", feature.name, feature.project),
            details: vec!["not in the file (--prune)".into()],
        });
        builder.plan.writes.push(Write::Feature(Put {
            key: feature.name.to_string(),
            previous: Some(previous),
            value: feature,
        }));
    }
    Ok(builder.plan)
}

/// Dependencies follow the Admin API's rules in the state after the apply: the parent is a live
/// flag of the same project, has no parent itself, and a flag that others depend on keeps none.
fn check_dependencies(
    snapshot: &Snapshot,
    desired: &BTreeMap<String, Feature>,
    pruned: &[Versioned<Feature>],
) -> ApiResult<()> {
    let pruned_names: BTreeSet<&str> = pruned.iter().map(|f| f.value.name.as_str()).collect();
    let mut live: BTreeMap<&str, &Feature> = snapshot
        .features
        .values()
        .filter(|f| !f.value.archived && !pruned_names.contains(f.value.name.as_str()))
        .map(|f| (f.value.name.as_str(), f.value.as_ref()))
        .collect();
    for feature in desired.values() {
        live.insert(feature.name.as_str(), feature);
    }
    for feature in desired.values() {
        let place = format!("flag {}", feature.name);
        for dependency in &feature.dependencies {
            let parent = &dependency.feature;
            if *parent == feature.name {
                return refuse(&place, "a flag cannot depend on itself");
            }
            match live.get(parent.as_str()) {
                None => {
                    return refuse(
                        &place,
                        format!("the parent flag {parent} is neither in the file nor a live flag"),
                    )
                }
                Some(found) if found.project != feature.project => {
                    return refuse(
                        &place,
                        format!(
                            "the parent flag {parent} must be in the same project ({})",
                            feature.project
                        ),
                    )
                }
                Some(found) if !found.dependencies.is_empty() => {
                    return refuse(
                        &place,
                        format!(
                            "the parent flag {parent} has a parent of its own; only one level of dependencies is allowed"
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        if !feature.dependencies.is_empty() {
            if let Some(child) = live
                .values()
                .find(|other| other.dependencies.iter().any(|d| d.feature == feature.name))
            {
                return refuse(
                    &place,
                    format!(
                        "{} depends on this flag, so it cannot have a parent itself",
                        child.name
                    ),
                );
            }
        }
    }
    for previous in pruned {
        let name = &previous.value.name;
        if let Some(child) = live
            .values()
            .find(|other| other.dependencies.iter().any(|d| d.feature == *name))
        {
            return refuse(
                &format!("--prune would archive {name}"),
                format!("{} depends on it; remove that dependency first", child.name),
            );
        }
    }
    Ok(())
}

struct Builder<'a> {
    snapshot: &'a Snapshot,
    actor_name: &'a str,
    plan: Plan,
    /// What exists once the plan is applied, for checking references.
    projects: BTreeSet<String>,
    environments: BTreeSet<String>,
    tag_types: BTreeSet<String>,
    segment_ids: BTreeMap<String, i64>,
    segment_names: SegmentNames,
}

impl Builder<'_> {
    fn item(&mut self, action: Action, what: String, details: Vec<String>) {
        self.plan.items.push(Item {
            action,
            what,
            details,
        });
    }

    fn project(&mut self, spec: &ProjectSpec) -> ApiResult<()> {
        let place = format!("project {}", spec.id);
        validate::url_friendly_name("id", &spec.id).map_err(at(&place))?;
        let name = spec.name.clone().unwrap_or_else(|| spec.id.clone());
        if name.trim().is_empty() || name.chars().count() > validate::MAX_NAME_LENGTH {
            return refuse(&place, "\"name\" must be 1 to 100 characters long");
        }
        validate::description(spec.description.as_deref()).map_err(at(&place))?;
        let previous = self.snapshot.projects.get(&spec.id).cloned();
        let project = Project {
            id: spec.id.clone(),
            name,
            description: spec.description.clone(),
            created_at: previous
                .as_ref()
                .map_or_else(Utc::now, |p| p.value.created_at),
        };
        match &previous {
            Some(previous) if *previous.value == project => return Ok(()),
            Some(previous) => {
                let details = diff_values(&json(&*previous.value), &json(&project));
                self.plan.events.push(
                    Event::new(EventType::ProjectUpdated)
                        .project(&project.id)
                        .data(&project)
                        .pre_data(&*previous.value),
                );
                self.item(Action::Update, place, details);
            }
            None => {
                self.plan.events.push(
                    Event::new(EventType::ProjectCreated)
                        .project(&project.id)
                        .data(&project),
                );
                self.item(Action::Create, place, vec![]);
            }
        }
        self.projects.insert(project.id.clone());
        self.plan.writes.push(Write::Project(Put {
            key: project.id.clone(),
            previous,
            value: project,
        }));
        Ok(())
    }

    fn environment(&mut self, spec: &EnvironmentSpec) -> ApiResult<()> {
        let place = format!("environment {}", spec.name);
        validate::url_friendly_name("name", &spec.name).map_err(at(&place))?;
        let previous = self.snapshot.environments.get(&spec.name).cloned();
        let environment = match &previous {
            Some(previous) => {
                let mut environment = (*previous.value).clone();
                if let Some(environment_type) = &spec.environment_type {
                    environment.environment_type = environment_type.clone();
                }
                if let Some(enabled) = spec.enabled {
                    environment.enabled = enabled;
                }
                if let Some(sort_order) = spec.sort_order {
                    environment.sort_order = sort_order;
                }
                environment
            }
            None => Environment {
                name: spec.name.clone(),
                environment_type: spec
                    .environment_type
                    .clone()
                    .unwrap_or_else(|| "development".into()),
                enabled: spec.enabled.unwrap_or(true),
                sort_order: spec.sort_order.unwrap_or_else(|| {
                    self.snapshot
                        .environments
                        .values()
                        .map(|e| e.value.sort_order)
                        .max()
                        .unwrap_or(0)
                        + 1
                }),
                protected: false,
                created_at: Utc::now(),
            },
        };
        validate::url_friendly_name("type", &environment.environment_type).map_err(at(&place))?;
        match &previous {
            Some(previous) if *previous.value == environment => return Ok(()),
            Some(previous) => {
                let details = diff_values(&json(&*previous.value), &json(&environment));
                self.plan.events.push(
                    Event::new(EventType::EnvironmentUpdated)
                        .environment(&environment.name)
                        .data(&environment)
                        .pre_data(&*previous.value),
                );
                self.item(Action::Update, place, details);
            }
            None => {
                self.plan.events.push(
                    Event::new(EventType::EnvironmentCreated)
                        .environment(&environment.name)
                        .data(&environment),
                );
                self.item(Action::Create, place, vec![]);
            }
        }
        self.environments.insert(environment.name.clone());
        self.plan.writes.push(Write::Environment(Put {
            key: environment.name.clone(),
            previous,
            value: environment,
        }));
        Ok(())
    }

    fn tag_type(&mut self, spec: &TagTypeSpec) -> ApiResult<()> {
        let place = format!("tag type {}", spec.name);
        validate::url_friendly_name("name", &spec.name).map_err(at(&place))?;
        validate::description(spec.description.as_deref()).map_err(at(&place))?;
        let tag_type = TagType {
            name: spec.name.clone(),
            description: spec.description.clone(),
            icon: spec.icon.clone(),
            color: spec.color.clone(),
        };
        let previous = self.snapshot.tag_types.get(&spec.name).cloned();
        match &previous {
            Some(previous) if *previous.value == tag_type => return Ok(()),
            Some(previous) => {
                let details = diff_values(&json(&*previous.value), &json(&tag_type));
                self.plan.events.push(
                    Event::new(EventType::TagTypeUpdated)
                        .data(&tag_type)
                        .pre_data(&*previous.value),
                );
                self.item(Action::Update, place, details);
            }
            None => {
                self.plan
                    .events
                    .push(Event::new(EventType::TagTypeCreated).data(&tag_type));
                self.item(Action::Create, place, vec![]);
            }
        }
        self.tag_types.insert(tag_type.name.clone());
        self.plan.writes.push(Write::TagType(Put {
            key: tag_type.name.clone(),
            previous,
            value: tag_type,
        }));
        Ok(())
    }

    fn context_field(&mut self, spec: &ContextFieldSpec) -> ApiResult<()> {
        let place = format!("context field {}", spec.name);
        validate::url_friendly_name("name", &spec.name).map_err(at(&place))?;
        validate::description(spec.description.as_deref()).map_err(at(&place))?;
        if spec.legal_values.len() > validate::MAX_CONSTRAINT_VALUES {
            return refuse(&place, "too many legal values");
        }
        let previous = self.snapshot.context_fields.get(&spec.name).cloned();
        let field = ContextField {
            name: spec.name.clone(),
            description: spec.description.clone(),
            stickiness: spec.stickiness,
            sort_order: spec.sort_order.unwrap_or(10),
            legal_values: spec
                .legal_values
                .iter()
                .map(|v| LegalValue {
                    value: v.value.clone(),
                    description: v.description.clone(),
                })
                .collect(),
            created_at: previous
                .as_ref()
                .map_or_else(Utc::now, |p| p.value.created_at),
        };
        match &previous {
            Some(previous) if *previous.value == field => return Ok(()),
            Some(previous) => {
                let details = diff_values(
                    &json(convert::context_field_spec(&previous.value)),
                    &json(convert::context_field_spec(&field)),
                );
                self.plan.events.push(
                    Event::new(EventType::ContextFieldUpdated)
                        .data(&field)
                        .pre_data(&*previous.value),
                );
                self.item(Action::Update, place, details);
            }
            None => {
                self.plan
                    .events
                    .push(Event::new(EventType::ContextFieldCreated).data(&field));
                self.item(Action::Create, place, vec![]);
            }
        }
        self.plan.writes.push(Write::ContextField(Put {
            key: field.name.clone(),
            previous,
            value: field,
        }));
        Ok(())
    }

    fn segment(&mut self, spec: &SegmentSpec) -> ApiResult<()> {
        let place = format!("segment {}", spec.name);
        if spec.name.trim().is_empty() || spec.name.chars().count() > validate::MAX_NAME_LENGTH {
            return refuse(&place, "\"name\" must be 1 to 100 characters long");
        }
        validate::description(spec.description.as_deref()).map_err(at(&place))?;
        let constraints: Vec<_> = spec.constraints.iter().map(convert::constraint).collect();
        validate::constraints(&constraints).map_err(at(&place))?;
        if let Some(project) = &spec.project {
            if !self.projects.contains(project) {
                return refuse(&place, format!("project {project} does not exist"));
            }
        }
        let previous = self
            .snapshot
            .segments
            .values()
            .find(|s| s.value.name == spec.name)
            .cloned();
        let segment = match &previous {
            Some(previous) => Segment {
                description: spec.description.clone(),
                project: spec.project.clone(),
                constraints,
                ..(*previous.value).clone()
            },
            None => {
                // Ids are never reused, and those of segments created earlier in this plan
                // are taken too.
                let id = self
                    .segment_ids
                    .values()
                    .copied()
                    .chain([self.snapshot.max_segment_id])
                    .max()
                    .unwrap_or(0)
                    + 1;
                Segment {
                    id,
                    name: spec.name.clone(),
                    description: spec.description.clone(),
                    project: spec.project.clone(),
                    constraints,
                    created_at: Utc::now(),
                    created_by: self.actor_name.to_owned(),
                }
            }
        };
        let with_project = |event: Event| match &segment.project {
            Some(project) => event.project(project),
            None => event,
        };
        match &previous {
            Some(previous) if *previous.value == segment => return Ok(()),
            Some(previous) => {
                let details = diff_values(
                    &json(convert::segment_spec(&previous.value)),
                    &json(convert::segment_spec(&segment)),
                );
                self.plan.events.push(with_project(
                    Event::new(EventType::SegmentUpdated)
                        .data(&segment)
                        .pre_data(&*previous.value),
                ));
                self.item(Action::Update, place, details);
            }
            None => {
                self.plan.events.push(with_project(
                    Event::new(EventType::SegmentCreated).data(&segment),
                ));
                self.item(Action::Create, place, vec![]);
            }
        }
        self.segment_ids.insert(segment.name.clone(), segment.id);
        self.segment_names.insert(segment.id, segment.name.clone());
        self.plan.writes.push(Write::Segment(Put {
            key: segment.id.to_string(),
            previous,
            value: segment,
        }));
        Ok(())
    }

    /// Plans one flag and returns it as it will be.
    fn flag(&mut self, spec: &FlagSpec) -> ApiResult<Feature> {
        let place = format!("flag {}", spec.name);
        validate::url_friendly_name("name", &spec.name).map_err(at(&place))?;
        validate::feature_type(&spec.feature_type).map_err(at(&place))?;
        validate::description(spec.description.as_deref()).map_err(at(&place))?;
        if !self.projects.contains(&spec.project) {
            return refuse(
                &place,
                format!(
                    "project {} does not exist (list it under `projects:` or create it first)",
                    spec.project
                ),
            );
        }
        let mut tags: Vec<Tag> = spec
            .tags
            .iter()
            .map(|t| Tag {
                tag_type: t.tag_type.clone(),
                value: t.value.clone(),
            })
            .collect();
        features::tags(&tags).map_err(at(&place))?;
        for tag in &tags {
            if !self.tag_types.contains(&tag.tag_type) {
                return refuse(
                    &place,
                    format!(
                        "tag type {} does not exist (list it under `tagTypes:` or create it first)",
                        tag.tag_type
                    ),
                );
            }
        }
        tags.sort();
        tags.dedup();
        let mut dependencies: Vec<Dependency> =
            spec.dependencies.iter().map(convert::dependency).collect();
        dependencies.sort_by(|a, b| a.feature.cmp(&b.feature));
        unique(
            &format!("{place}: dependencies"),
            dependencies.iter().map(|d| d.feature.as_str()),
        )?;
        if spec.variants.is_some() && spec.environments.values().any(|e| !e.variants.is_empty()) {
            return refuse(
                &place,
                "give variants either for the whole flag or per environment, not both",
            );
        }
        let mut environments = BTreeMap::new();
        for (name, environment) in &spec.environments {
            let place = format!("{place}, environment {name}");
            if !self.environments.contains(name) {
                return refuse(
                    &place,
                    "no such environment (list it under `environments:` or create it first)",
                );
            }
            let variants = spec.variants.as_ref().unwrap_or(&environment.variants);
            environments.insert(
                name.clone(),
                self.environment_state(&place, &spec.name, environment, variants)?,
            );
        }

        let previous = self.snapshot.features.get(spec.name.as_str()).cloned();
        let mut details = Vec::new();
        let mut feature = match &previous {
            Some(previous) => {
                let current = &previous.value;
                if current.project != spec.project && !current.archived {
                    return refuse(
                        &place,
                        format!(
                            "the flag is in project {}; moving flags between projects is not supported",
                            current.project
                        ),
                    );
                }
                let mut feature = (**current).clone();
                if feature.archived {
                    feature.archived = false;
                    feature.archived_at = None;
                    feature.project = spec.project.as_str().into();
                    details.push("revived from the archive".to_owned());
                }
                feature
            }
            None => Feature {
                name: spec.name.as_str().into(),
                project: spec.project.as_str().into(),
                description: None,
                feature_type: spec.feature_type.as_str().into(),
                stale: false,
                impression_data: false,
                archived: false,
                archived_at: None,
                created_at: Utc::now(),
                created_by: self.actor_name.into(),
                created_by_user_id: None,
                environments: self
                    .environments
                    .iter()
                    .map(|name| (name.as_str().into(), FeatureEnvironment::default()))
                    .collect(),
                tags: vec![],
                dependencies: vec![],
            },
        };
        let before = previous.as_ref().map(|p| (*p.value).clone());
        let before_spec = previous
            .as_ref()
            .map(|p| json(convert::flag_spec(&p.value, &self.segment_names)));

        // Metadata.
        feature.feature_type = spec.feature_type.as_str().into();
        feature.description = spec.description.as_deref().map(Into::into);
        feature.stale = spec.stale;
        feature.impression_data = spec.impression_data;

        // Tags.
        let mut current_tags = feature.tags.clone();
        current_tags.sort();
        if current_tags != tags {
            feature.tags = tags;
        }

        // Dependencies.
        let mut current_dependencies = feature.dependencies.clone();
        current_dependencies.sort_by(|a, b| a.feature.cmp(&b.feature));
        if current_dependencies != dependencies {
            feature.dependencies = dependencies;
        }

        // Environments: every one the flag has or the file names; one the file does not name
        // is off and empty.
        let names: BTreeSet<String> = feature
            .environments
            .keys()
            .map(ToString::to_string)
            .chain(environments.keys().cloned())
            .collect();
        for name in names {
            let wanted = environments.remove(&name).unwrap_or_default();
            let state = feature.environment_mut(&name);
            let strategy_details = merge_environment(&name, state, wanted, &self.segment_names);
            details.extend(strategy_details);
        }

        if before.as_ref() == Some(&feature) {
            return Ok(feature);
        }
        let after_spec = json(convert::flag_spec(&feature, &self.segment_names));
        let what = format!("flag {} (project {})", feature.name, feature.project);
        match &before_spec {
            Some(before_spec) => {
                let (before_form, after_form) = comparable_forms(before_spec, &after_spec);
                let mut field_details = diff_values(&before_form, &after_form);
                field_details.extend(details);
                if field_details.is_empty() {
                    field_details.push("stored form normalised (no visible change)".into());
                }
                self.item(Action::Update, what, field_details);
            }
            None => {
                let summary: Vec<String> = feature
                    .environments
                    .iter()
                    .filter(|(_, state)| **state != FeatureEnvironment::default())
                    .map(|(name, state)| {
                        format!(
                            "{name}: {}, {} strateg{}",
                            if state.enabled { "on" } else { "off" },
                            state.strategies.len(),
                            if state.strategies.len() == 1 {
                                "y"
                            } else {
                                "ies"
                            }
                        )
                    })
                    .collect();
                let details = if summary.is_empty() {
                    vec!["off in every environment".to_owned()]
                } else {
                    summary
                };
                self.item(Action::Create, what, details)
            }
        }
        self.plan
            .events
            .extend(history::flag_events(before.as_ref(), &feature));
        self.plan.writes.push(Write::Feature(Put {
            key: feature.name.to_string(),
            previous,
            value: feature.clone(),
        }));
        Ok(feature)
    }

    /// A flag's state in one environment as the file wants it, validated and normalised the way
    /// the Admin API stores it (strategies without ids yet).
    fn environment_state(
        &self,
        place: &str,
        flag: &str,
        spec: &FlagEnvironmentSpec,
        variants: &[VariantSpec],
    ) -> ApiResult<FeatureEnvironment> {
        if spec.strategies.len() > validate::MAX_STRATEGIES {
            return refuse(
                place,
                format!(
                    "a flag may have at most {} strategies per environment",
                    validate::MAX_STRATEGIES
                ),
            );
        }
        let mut strategies = Vec::with_capacity(spec.strategies.len());
        for (index, strategy) in spec.strategies.iter().enumerate() {
            let place = format!("{place}, strategy {} ({})", index + 1, strategy.name);
            let mut segments = Vec::with_capacity(strategy.segments.len());
            for name in &strategy.segments {
                match self.segment_ids.get(name) {
                    Some(id) if !segments.contains(id) => segments.push(*id),
                    Some(_) => {}
                    None => {
                        return refuse(
                            &place,
                            format!(
                                "segment \"{name}\" does not exist (list it under `segments:` or create it first)"
                            ),
                        )
                    }
                }
            }
            let mut built = Strategy {
                id: None,
                name: strategy.name.as_str().into(),
                title: strategy.title.clone(),
                constraints: strategy
                    .constraints
                    .iter()
                    .map(convert::constraint)
                    .collect(),
                parameters: strategy
                    .parameters
                    .iter()
                    .map(|(name, value)| (name.as_str().into(), value.as_str().into()))
                    .collect(),
                variants: strategy.variants.iter().map(convert::variant).collect(),
                segments,
                disabled: Some(strategy.disabled),
                sort_order: None,
            };
            strategies::normalize(flag, &mut built).map_err(at(&place))?;
            strategies.push(built);
        }
        let mut variants: Vec<Variant> = variants.iter().map(convert::variant).collect();
        features::prepare_variants(&mut variants, flag).map_err(at(place))?;
        Ok(FeatureEnvironment {
            enabled: spec.enabled,
            strategies,
            variants,
        })
    }
}

/// A strategy compared without its id and sort order (which the file does not carry).
fn same_strategy(current: &Strategy, wanted: &Strategy) -> bool {
    let strip = |s: &Strategy| Strategy {
        id: None,
        sort_order: None,
        disabled: Some(s.disabled == Some(true)),
        ..s.clone()
    };
    strip(current) == strip(wanted)
}

/// Makes `state` what `wanted` says, keeping the ids of strategies that stay (so that the
/// history records edits as edits). Returns the plan's detail lines for strategy changes.
fn merge_environment(
    environment: &str,
    state: &mut FeatureEnvironment,
    wanted: FeatureEnvironment,
    names: &SegmentNames,
) -> Vec<String> {
    let mut details = Vec::new();
    let current: Vec<Strategy> = convert::ordered(&state.strategies)
        .into_iter()
        .cloned()
        .collect();
    let path = format!("environments.{environment}.strategies");
    let describe =
        |s: &Strategy| serde_json::to_string(&convert::strategy_spec(s, names)).unwrap_or_default();

    // Identical strategies are kept as they are; the rest pair up in order (an edit), and what
    // is left over is added or removed.
    let mut kept: Vec<Option<usize>> = vec![None; wanted.strategies.len()];
    let mut taken = vec![false; current.len()];
    for (index, strategy) in wanted.strategies.iter().enumerate() {
        if let Some(position) =
            (0..current.len()).find(|&i| !taken[i] && same_strategy(&current[i], strategy))
        {
            kept[index] = Some(position);
            taken[position] = true;
        }
    }
    let mut spare = (0..current.len()).filter(|i| !taken[*i]);
    let mut result: Vec<(Strategy, Option<&Strategy>)> = Vec::new();
    for (index, strategy) in wanted.strategies.iter().enumerate() {
        match kept[index] {
            Some(position) => result.push((current[position].clone(), Some(&current[position]))),
            None => match spare.next() {
                Some(position) => {
                    let old = &current[position];
                    let mut updated = strategy.clone();
                    updated.id = old.id.clone();
                    updated.sort_order = old.sort_order;
                    let before = json(convert::strategy_spec(old, names));
                    let after = json(convert::strategy_spec(&updated, names));
                    let mut lines = diff_values(&before, &after);
                    if lines.is_empty() {
                        lines.push("stored form normalised".into());
                    }
                    for line in lines {
                        details.push(prefixed(&format!("{path}[{index}]"), &line));
                    }
                    result.push((updated, Some(old)));
                }
                None => {
                    let mut added = strategy.clone();
                    added.id = Some(ulid::Ulid::new().to_string().into());
                    details.push(format!("+ {path}[{index}]: {}", describe(&added)));
                    result.push((added, None));
                }
            },
        }
    }
    for position in spare {
        let old = &current[position];
        details.push(format!("- {path}[{position}]: {}", describe(old)));
    }

    // Sort orders: kept ones stay when that still gives the file's order, else all renumber.
    let candidate: Vec<i64> = result
        .iter()
        .enumerate()
        .map(|(index, (s, _))| match s.sort_order {
            Some(order) if kept[index].is_some() => order,
            _ => index as i64,
        })
        .collect();
    let increasing = candidate.windows(2).all(|pair| pair[0] < pair[1]);
    let mut reordered = false;
    for (index, (strategy, old)) in result.iter_mut().enumerate() {
        strategy.sort_order = Some(if increasing {
            candidate[index]
        } else {
            index as i64
        });
        if kept[index].is_some() && old.is_some_and(|old| old != &*strategy) {
            reordered = true;
        }
    }
    if reordered {
        details.push(format!("{path}: reordered"));
    }
    state.strategies = result.into_iter().map(|(s, _)| s).collect();

    state.variants = wanted.variants;
    state.enabled = wanted.enabled;
    details
}

/// A detail line of a nested thing, under its path (`+`/`-` signs stay in front).
fn prefixed(path: &str, line: &str) -> String {
    for sign in ["+ ", "- "] {
        if let Some(rest) = line.strip_prefix(sign) {
            return format!("{sign}{path}.{rest}");
        }
    }
    format!("{path}.{line}")
}

/// Two export forms of a flag, prepared for showing their differences: without strategies
/// (described strategy by strategy), and with every environment either of them lists, so that
/// switching one off shows as `enabled: true → false` rather than as the environment vanishing.
fn comparable_forms(before: &Value, after: &Value) -> (Value, Value) {
    let environments = |spec: &Value| -> Vec<String> {
        spec.get("environments")
            .and_then(Value::as_object)
            .map(|e| e.keys().cloned().collect())
            .unwrap_or_default()
    };
    let mut names = environments(before);
    names.extend(environments(after));
    let prepare = |spec: &Value| {
        let mut spec = spec.clone();
        if let Some(object) = spec.as_object_mut() {
            let environments = object
                .entry("environments")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(environments) = environments.as_object_mut() {
                for name in &names {
                    let environment = environments
                        .entry(name.clone())
                        .or_insert_with(|| serde_json::json!({ "enabled": false }));
                    if let Some(environment) = environment.as_object_mut() {
                        environment.remove("strategies");
                    }
                }
            }
        }
        spec
    };
    (prepare(before), prepare(after))
}

/// Field-level differences between two JSON values, one `path: before → after` line each.
pub fn diff_values(before: &Value, after: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    diff_at("", before, after, &mut lines);
    lines
}

fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".into(),
        Some(value) => value.to_string(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn diff_at(path: &str, before: &Value, after: &Value, lines: &mut Vec<String>) {
    if before == after {
        return;
    }
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let mut keys: Vec<&String> = old.keys().collect();
            keys.extend(new.keys().filter(|k| !old.contains_key(*k)));
            for key in keys {
                let child = join(path, key);
                match (old.get(key), new.get(key)) {
                    (Some(a), Some(b)) => diff_at(&child, a, b, lines),
                    (a, b) => lines.push(format!("{child}: {} → {}", show(a), show(b))),
                }
            }
        }
        (Value::Array(old), Value::Array(new))
            if old.iter().chain(new.iter()).all(Value::is_object) =>
        {
            for index in 0..old.len().max(new.len()) {
                let child = format!("{path}[{index}]");
                match (old.get(index), new.get(index)) {
                    (Some(a), Some(b)) => diff_at(&child, a, b, lines),
                    (Some(a), None) => lines.push(format!("- {child}: {a}")),
                    (None, Some(b)) => lines.push(format!("+ {child}: {b}")),
                    (None, None) => {}
                }
            }
        }
        _ => lines.push(format!(
            "{}: {} → {}",
            if path.is_empty() { "(value)" } else { path },
            show(Some(before)),
            show(Some(after))
        )),
    }
}
