//! Segments: named constraint lists that strategies reference by id.

use chrono::Utc;
use flagpole_eval::wire::Constraint;
use serde::Deserialize;

use super::model::{kind, Segment};
use super::{projects, validate, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SegmentInput {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
}

pub fn find(snapshot: &Snapshot, id: i64) -> ApiResult<&Versioned<Segment>> {
    snapshot
        .segments
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("Could not find segment with id {id}")))
}

fn check(snapshot: &Snapshot, input: &SegmentInput, own_id: Option<i64>) -> ApiResult<()> {
    if input.name.trim().is_empty() || input.name.chars().count() > validate::MAX_NAME_LENGTH {
        return Err(ApiError::bad_data(
            "\"name\" must be 1 to 100 characters long",
        ));
    }
    validate::description(input.description.as_deref())?;
    validate::constraints(&input.constraints)?;
    if let Some(project) = &input.project {
        projects::find(snapshot, project)?;
    }
    let taken = snapshot
        .segments
        .values()
        .any(|s| s.value.name == input.name && Some(s.value.id) != own_id);
    if taken {
        return Err(ApiError::conflict(format!(
            "A segment named {} already exists",
            input.name
        )));
    }
    Ok(())
}

pub async fn create(core: &Core, actor: &Actor, input: SegmentInput) -> ApiResult<Segment> {
    core.change(actor, |snapshot, changes| {
        check(snapshot, &input, None)?;
        // Ids are handed out in order; two replicas choosing the same id conflict and retry.
        let id = snapshot
            .segments
            .keys()
            .next_back()
            .map_or(1, |max| max + 1);
        let segment = Segment {
            id,
            name: input.name.clone(),
            description: input.description.clone(),
            project: input.project.clone(),
            constraints: input.constraints.clone(),
            created_at: Utc::now(),
            created_by: changes.actor().name.clone(),
        };
        changes.create(kind::SEGMENT, id.to_string(), &segment)?;
        let mut event = Event::new(EventType::SegmentCreated).data(&segment);
        if let Some(project) = &segment.project {
            event = event.project(project);
        }
        changes.record(event);
        Ok(segment)
    })
    .await
}

pub async fn update(
    core: &Core,
    actor: &Actor,
    id: i64,
    input: SegmentInput,
) -> ApiResult<Segment> {
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, id)?;
        check(snapshot, &input, Some(id))?;
        let mut segment = (*previous.value).clone();
        // As in Unleash: a description or project left out stays as it was.
        segment.name = input.name.clone();
        if input.description.is_some() {
            segment.description = input.description.clone();
        }
        if input.project.is_some() {
            segment.project = input.project.clone();
        }
        segment.constraints = input.constraints.clone();
        changes.update(kind::SEGMENT, id.to_string(), previous, &segment)?;
        changes.record(
            Event::new(EventType::SegmentUpdated)
                .data(&segment)
                .pre_data(&*previous.value),
        );
        Ok(segment)
    })
    .await
}

pub async fn delete(core: &Core, actor: &Actor, id: i64) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, id)?;
        let users: Vec<&str> = snapshot
            .features
            .values()
            .filter(|f| {
                f.value
                    .environments
                    .values()
                    .any(|e| e.strategies.iter().any(|s| s.segments.contains(&id)))
            })
            .map(|f| f.value.name.as_str())
            .collect();
        if !users.is_empty() {
            return Err(ApiError::conflict(format!(
                "Segment {id} is used by the strategies of {}; remove it from them first",
                users.join(", ")
            )));
        }
        changes.delete(kind::SEGMENT, id.to_string(), previous);
        changes.record(Event::new(EventType::SegmentDeleted).pre_data(&*previous.value));
        Ok(())
    })
    .await
}

/// How many flags and projects use a segment, as the Admin API reports.
pub fn usage(snapshot: &Snapshot, id: i64) -> (usize, usize) {
    let mut projects = std::collections::BTreeSet::new();
    let mut flags = 0;
    for feature in snapshot.features.values() {
        let uses = feature
            .value
            .environments
            .values()
            .any(|e| e.strategies.iter().any(|s| s.segments.contains(&id)));
        if uses {
            flags += 1;
            projects.insert(feature.value.project.clone());
        }
    }
    (flags, projects.len())
}
