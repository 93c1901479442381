//! Tag types: the kinds of tags flags can carry (`simple` exists by default once created).

use serde::Deserialize;

use super::model::{kind, TagType};
use super::{validate, Core, Event};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::{Snapshot, Versioned};

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagTypeInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub color: Option<String>,
}

pub fn find<'a>(snapshot: &'a Snapshot, name: &str) -> ApiResult<&'a Versioned<TagType>> {
    snapshot
        .tag_types
        .get(name)
        .ok_or_else(|| ApiError::not_found(format!("Could not find tag type {name}")))
}

pub fn check_name(snapshot: &Snapshot, name: &str) -> ApiResult<()> {
    validate::url_friendly_name("name", name)?;
    if snapshot.tag_types.contains_key(name) {
        return Err(ApiError::conflict(format!(
            "A tag type named {name} already exists"
        )));
    }
    Ok(())
}

pub async fn create(core: &Core, actor: &Actor, input: TagTypeInput) -> ApiResult<TagType> {
    let name = input
        .name
        .clone()
        .ok_or_else(|| ApiError::bad_data("\"name\" is required"))?;
    validate::description(input.description.as_deref())?;
    core.change(actor, |snapshot, changes| {
        check_name(snapshot, &name)?;
        let tag_type = TagType {
            name: name.clone(),
            description: input.description.clone(),
            icon: input.icon.clone(),
            color: input.color.clone(),
        };
        changes.create(kind::TAG_TYPE, &name, &tag_type)?;
        changes.record(Event::new("tag-type-created").data(&tag_type));
        Ok(tag_type)
    })
    .await
}

pub async fn update(
    core: &Core,
    actor: &Actor,
    name: &str,
    input: TagTypeInput,
) -> ApiResult<TagType> {
    validate::description(input.description.as_deref())?;
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, name)?;
        let tag_type = TagType {
            name: name.to_owned(),
            description: input.description.clone(),
            icon: input.icon.clone(),
            color: input.color.clone(),
        };
        changes.update(kind::TAG_TYPE, name, previous, &tag_type)?;
        changes.record(
            Event::new("tag-type-updated")
                .data(&tag_type)
                .pre_data(&*previous.value),
        );
        Ok(tag_type)
    })
    .await
}

pub async fn delete(core: &Core, actor: &Actor, name: &str) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, name)?;
        let in_use = snapshot
            .features
            .values()
            .any(|f| f.value.tags.iter().any(|t| t.tag_type == name));
        if in_use {
            return Err(ApiError::conflict(format!(
                "Tag type {name} is used by flags; remove those tags first"
            )));
        }
        changes.delete(kind::TAG_TYPE, name, previous);
        changes.record(Event::new("tag-type-deleted").pre_data(&*previous.value));
        Ok(())
    })
    .await
}
