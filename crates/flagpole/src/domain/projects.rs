//! Projects group flags. The `default` project always exists and cannot be deleted.

use chrono::Utc;
use serde::Deserialize;

use super::model::{kind, Project};
use super::{validate, ChangeSet, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

pub const DEFAULT_PROJECT: &str = "default";

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectInput {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Accepted for compatibility with Unleash's schema and ignored.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub default_stickiness: Option<String>,
}

pub(super) fn seed_default(changes: &mut ChangeSet) -> ApiResult<()> {
    let project = Project {
        id: DEFAULT_PROJECT.into(),
        name: "Default".into(),
        description: Some("Default project".into()),
        created_at: Utc::now(),
    };
    changes.create(kind::PROJECT, DEFAULT_PROJECT, &project)?;
    changes.record(
        Event::new(EventType::ProjectCreated)
            .project(DEFAULT_PROJECT)
            .data(&project),
    );
    Ok(())
}

/// The project, or 404 with Unleash's wording.
pub fn find<'a>(snapshot: &'a Snapshot, id: &str) -> ApiResult<&'a Versioned<Project>> {
    snapshot
        .projects
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("Active project with id {id} does not exist")))
}

pub async fn create(core: &Core, actor: &Actor, input: ProjectInput) -> ApiResult<Project> {
    let id = input.id.clone().unwrap_or_else(|| input.name.clone());
    validate::url_friendly_name("id", &id)?;
    validate_fields(&input)?;
    core.change(actor, |snapshot, changes| {
        if snapshot.projects.contains_key(&id) {
            return Err(ApiError::conflict(format!(
                "A project with id {id} already exists"
            )));
        }
        let project = Project {
            id: id.clone(),
            name: input.name.clone(),
            description: input.description.clone(),
            created_at: Utc::now(),
        };
        changes.create(kind::PROJECT, &id, &project)?;
        changes.record(
            Event::new(EventType::ProjectCreated)
                .project(&id)
                .data(&project),
        );
        Ok(project)
    })
    .await
}

pub async fn update(
    core: &Core,
    actor: &Actor,
    id: &str,
    input: ProjectInput,
) -> ApiResult<Project> {
    validate_fields(&input)?;
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, id)?;
        let mut project = (*previous.value).clone();
        project.name = input.name.clone();
        project.description = input.description.clone();
        changes.update(kind::PROJECT, id, previous, &project)?;
        changes.record(
            Event::new(EventType::ProjectUpdated)
                .project(id)
                .data(&project)
                .pre_data(&*previous.value),
        );
        Ok(project)
    })
    .await
}

pub async fn delete(core: &Core, actor: &Actor, id: &str) -> ApiResult<()> {
    if id == DEFAULT_PROJECT {
        return Err(ApiError::bad_data("The default project cannot be deleted"));
    }
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, id)?;
        if snapshot.features.values().any(|f| f.value.project == id) {
            return Err(ApiError::bad_data(
                "You can not delete a project that still has flags (archived ones included); \
                 move or delete them first",
            ));
        }
        let tokens = snapshot
            .tokens
            .values()
            .filter(|t| t.value.projects.iter().any(|p| p == id))
            .count();
        if tokens > 0 {
            return Err(ApiError::bad_data(format!(
                "{tokens} API token(s) are scoped to project {id}; revoke them first"
            )));
        }
        changes.delete(kind::PROJECT, id, previous);
        changes.record(
            Event::new(EventType::ProjectDeleted)
                .project(id)
                .pre_data(&*previous.value),
        );
        Ok(())
    })
    .await
}

fn validate_fields(input: &ProjectInput) -> ApiResult<()> {
    if input.name.trim().is_empty() {
        return Err(ApiError::bad_data("\"name\" is not allowed to be empty"));
    }
    if input.name.chars().count() > validate::MAX_NAME_LENGTH {
        return Err(ApiError::bad_data(
            "\"name\" must be at most 100 characters long",
        ));
    }
    validate::description(input.description.as_deref())
}
