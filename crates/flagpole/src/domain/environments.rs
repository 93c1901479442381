//! Environments (`development`, `production`, …). A flag has its own on/off state, strategies
//! and variants in each; tokens are scoped to one.

use chrono::Utc;
use serde::Deserialize;

use super::model::{kind, Environment};
use super::{validate, ChangeSet, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub environment_type: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub sort_order: Option<i64>,
}

pub(super) fn seed_defaults(changes: &mut ChangeSet) -> ApiResult<()> {
    for (name, sort_order) in [("development", 2), ("production", 3)] {
        let environment = Environment {
            name: name.into(),
            environment_type: name.into(),
            enabled: true,
            sort_order,
            protected: false,
            created_at: Utc::now(),
        };
        changes.create(kind::ENVIRONMENT, name, &environment)?;
        changes.record(
            Event::new(EventType::EnvironmentCreated)
                .environment(name)
                .data(&environment),
        );
    }
    Ok(())
}

pub fn find<'a>(snapshot: &'a Snapshot, name: &str) -> ApiResult<&'a Versioned<Environment>> {
    snapshot
        .environments
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("Could not find environment {name}")))
}

pub async fn create(core: &Core, actor: &Actor, input: EnvironmentInput) -> ApiResult<Environment> {
    let name = input
        .name
        .clone()
        .ok_or_else(|| ApiError::bad_data("\"name\" is required"))?;
    validate::url_friendly_name("name", &name)?;
    validate::url_friendly_name("type", &input.environment_type)?;
    core.change(actor, |snapshot, changes| {
        if snapshot.environments.contains_key(&name) {
            return Err(ApiError::conflict(format!(
                "An environment named {name} already exists"
            )));
        }
        let next_sort_order = snapshot
            .environments
            .values()
            .map(|e| e.value.sort_order)
            .max()
            .unwrap_or(0)
            + 1;
        let environment = Environment {
            name: name.clone(),
            environment_type: input.environment_type.clone(),
            enabled: input.enabled.unwrap_or(true),
            sort_order: input.sort_order.unwrap_or(next_sort_order),
            protected: false,
            created_at: Utc::now(),
        };
        changes.create(kind::ENVIRONMENT, &name, &environment)?;
        changes.record(
            Event::new(EventType::EnvironmentCreated)
                .environment(&name)
                .data(&environment),
        );
        Ok(environment)
    })
    .await
}

pub async fn update(
    core: &Core,
    actor: &Actor,
    name: &str,
    input: EnvironmentInput,
) -> ApiResult<Environment> {
    validate::url_friendly_name("type", &input.environment_type)?;
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, name)?;
        let mut environment = (*previous.value).clone();
        environment.environment_type = input.environment_type.clone();
        if let Some(sort_order) = input.sort_order {
            environment.sort_order = sort_order;
        }
        if let Some(enabled) = input.enabled {
            environment.enabled = enabled;
        }
        changes.update(kind::ENVIRONMENT, name, previous, &environment)?;
        changes.record(
            Event::new(EventType::EnvironmentUpdated)
                .environment(name)
                .data(&environment)
                .pre_data(&*previous.value),
        );
        Ok(environment)
    })
    .await
}

pub async fn set_enabled(core: &Core, actor: &Actor, name: &str, enabled: bool) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, name)?;
        if previous.value.enabled == enabled {
            return Ok(());
        }
        let mut environment = (*previous.value).clone();
        environment.enabled = enabled;
        changes.update(kind::ENVIRONMENT, name, previous, &environment)?;
        changes.record(
            Event::new(EventType::EnvironmentUpdated)
                .environment(name)
                .data(&environment)
                .pre_data(&*previous.value),
        );
        Ok(())
    })
    .await
}

pub async fn delete(core: &Core, actor: &Actor, name: &str) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, name)?;
        if previous.value.protected {
            return Err(ApiError::Forbidden(format!(
                "Environment {name} is protected and cannot be deleted"
            )));
        }
        let in_use = snapshot
            .tokens
            .values()
            .any(|token| token.value.environment == name);
        if in_use {
            return Err(ApiError::bad_data(format!(
                "Environment {name} is used by API tokens; revoke them first"
            )));
        }
        // Flags forget their state there in the same commit, so that an environment created
        // later under the same name starts empty.
        for feature in snapshot.features.values() {
            if feature.value.environments.contains_key(name) {
                let mut updated = (*feature.value).clone();
                updated.environments.remove(name);
                changes.update(kind::FEATURE, updated.name.as_str(), feature, &updated)?;
            }
        }
        changes.delete(kind::ENVIRONMENT, name, previous);
        changes.record(
            Event::new(EventType::EnvironmentDeleted)
                .environment(name)
                .pre_data(&*previous.value),
        );
        Ok(())
    })
    .await
}
