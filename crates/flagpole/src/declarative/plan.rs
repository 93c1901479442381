//! What applying a document changes: the new documents, their audit events (the same ones the
//! Admin API writes for the same edit) and a readable description of each change.
//!
//! A plan is built against one snapshot and is free of side effects, so that `Core::change` can
//! rebuild it after losing a race. Anything the file gets wrong is refused before anything is
//! written, naming where in the file the problem is.

mod diff;
mod flags;

pub use diff::diff_values;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;

use super::convert::{self, SegmentNames};
use super::format::*;
use crate::domain::model::{
    kind, ContextField, Environment, Feature, LegalValue, Project, Segment, TagType,
};
use crate::domain::EventType;
use crate::domain::{validate, ChangeSet, Event};
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
}
