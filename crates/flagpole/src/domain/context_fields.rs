//! Context fields: the names constraints can test, with optional legal values.

use chrono::Utc;
use serde::Deserialize;

use super::model::{kind, ContextField, LegalValue};
use super::{validate, Core, Event};
use crate::auth::Actor;
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

/// Fields every SDK fills in; they are always listed, like Unleash's built-in fields.
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
        if snapshot.context_fields.contains_key(&name) || BUILT_IN.contains(&name.as_str()) {
            return Err(ApiError::conflict(format!(
                "A context field named {name} already exists"
            )));
        }
        let field = ContextField {
            name: name.clone(),
            description: input.description.clone(),
            stickiness: input.stickiness.unwrap_or(false),
            sort_order: input.sort_order.unwrap_or(10),
            legal_values: input.legal_values.clone(),
            created_at: Utc::now(),
        };
        changes.create(kind::CONTEXT_FIELD, &name, &field)?;
        changes.record(Event::new("context-field-created").data(&field));
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
        let mut field = (*previous.value).clone();
        field.description = input.description.clone();
        if let Some(stickiness) = input.stickiness {
            field.stickiness = stickiness;
        }
        if let Some(sort_order) = input.sort_order {
            field.sort_order = sort_order;
        }
        field.legal_values = input.legal_values.clone();
        changes.update(kind::CONTEXT_FIELD, name, previous, &field)?;
        changes.record(
            Event::new("context-field-updated")
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
        changes.record(Event::new("context-field-deleted").pre_data(&*previous.value));
        Ok(())
    })
    .await
}
