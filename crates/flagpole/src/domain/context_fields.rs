//! Context fields: the names constraints can test, with optional legal values.

use chrono::Utc;
use serde::Deserialize;

use super::model::{kind, ContextField, LegalValue};
use super::{validate, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContextFieldInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub stickiness: Option<bool>,
    #[serde(default)]
    pub sort_order: Option<i64>,
    #[serde(default)]
    pub legal_values: Vec<LegalValue>,
    /// Accepted for compatibility with Unleash's schema and ignored.
    #[serde(default)]
    pub project: Option<String>,
}

/// Fields every SDK fills in. Most are also stored as ordinary context fields from the start
/// (see `built_ins`), as in Unleash; `remoteAddress` and `properties` are only suggested.
pub const BUILT_IN: [&str; 7] = [
    "appName",
    "currentTime",
    "environment",
    "remoteAddress",
    "sessionId",
    "userId",
    "properties",
];

pub fn find<'a>(snapshot: &'a Snapshot, name: &str) -> ApiResult<&'a Versioned<ContextField>> {
    snapshot
        .context_fields
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("Could not find context field {name}")))
}

/// How many live flags, and in how many projects, test a context field in a constraint.
pub struct Usage {
    pub features: usize,
    pub projects: usize,
}

pub fn usage(snapshot: &Snapshot, name: &str) -> Usage {
    let users: Vec<&str> = snapshot
        .features
        .values()
        .filter(|f| !f.value.archived)
        .filter(|f| {
            f.value.environments.iter().any(|(_, state)| {
                state.strategies.iter().any(|strategy| {
                    strategy
                        .constraints
                        .iter()
                        .any(|c| c.context_name.as_str() == name)
                })
            })
        })
        .map(|f| f.value.project.as_str())
        .collect();
    let mut projects = users.clone();
    projects.sort_unstable();
    projects.dedup();
    Usage {
        features: users.len(),
        projects: projects.len(),
    }
}

fn check(input: &ContextFieldInput) -> ApiResult<()> {
    validate::description(input.description.as_deref())?;
    if input.legal_values.len() > validate::MAX_CONSTRAINT_VALUES {
        return Err(ApiError::bad_data("too many legal values"));
    }
    Ok(())
}

pub async fn create(
    core: &Core,
    actor: &Actor,
    input: ContextFieldInput,
) -> ApiResult<ContextField> {
    let name = input
        .name
        .clone()
        .ok_or_else(|| ApiError::bad_data("\"name\" is required"))?;
    validate::url_friendly_name("name", &name)?;
    check(&input)?;
    core.change(actor, |snapshot, changes| {
        if snapshot.context_fields.contains_key(&name) {
            return Err(ApiError::conflict(format!(
                "A context field named {name} already exists"
            )));
        }
        let field = ContextField {
            name: name.clone(),
            description: input.description.clone(),
            stickiness: input.stickiness.unwrap_or(false),
            sort_order: input.sort_order.unwrap_or(0),
            legal_values: input.legal_values.clone(),
            created_at: Utc::now(),
        };
        changes.create(kind::CONTEXT_FIELD, &name, &field)?;
        changes.record(Event::new(EventType::ContextFieldCreated).data(&field));
        Ok(field)
    })
    .await
}

pub async fn update(
    core: &Core,
    actor: &Actor,
    name: &str,
    input: ContextFieldInput,
) -> ApiResult<ContextField> {
    check(&input)?;
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, name)?;
        // As in Unleash: a description left out stays; stickiness and legal values are
        // replaced (left out: off and none).
        let mut field = (*previous.value).clone();
        if input.description.is_some() {
            field.description = input.description.clone();
        }
        field.stickiness = input.stickiness.unwrap_or(false);
        if let Some(sort_order) = input.sort_order {
            field.sort_order = sort_order;
        }
        field.legal_values = input.legal_values.clone();
        changes.update(kind::CONTEXT_FIELD, name, previous, &field)?;
        changes.record(
            Event::new(EventType::ContextFieldUpdated)
                .data(&field)
                .pre_data(&*previous.value),
        );
        Ok(field)
    })
    .await
}

pub async fn delete(core: &Core, actor: &Actor, name: &str) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, name)?;
        changes.delete(kind::CONTEXT_FIELD, name, previous);
        changes.record(Event::new(EventType::ContextFieldDeleted).pre_data(&*previous.value));
        Ok(())
    })
    .await
}
