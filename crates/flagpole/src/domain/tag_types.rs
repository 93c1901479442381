//! Tag types: the kinds of tags flags can carry (`simple` is there from the start).

use serde::Deserialize;

use super::model::{kind, TagType};
use super::{validate, Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
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
        changes.record(Event::new(EventType::TagTypeCreated).data(&tag_type));
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
        // As in Unleash: what the update leaves out stays as it was.
        let tag_type = TagType {
            name: name.to_owned(),
            description: input
                .description
                .clone()
                .or_else(|| previous.value.description.clone()),
            icon: input.icon.clone().or_else(|| previous.value.icon.clone()),
            color: input.color.clone().or_else(|| previous.value.color.clone()),
        };
        changes.update(kind::TAG_TYPE, name, previous, &tag_type)?;
        changes.record(
            Event::new(EventType::TagTypeUpdated)
                .data(&tag_type)
                .pre_data(&*previous.value),
        );
        Ok(tag_type)
    })
    .await
}

/// Deletes a tag type and, as Unleash does, every tag of that type on every flag.
pub async fn delete(core: &Core, actor: &Actor, name: &str) -> ApiResult<()> {
    core.change(actor, |snapshot, changes| {
        let previous = find(snapshot, name)?;
        for tagged in snapshot
            .features
            .values()
            .filter(|f| f.value.tags.iter().any(|t| t.tag_type == name))
        {
            let mut feature = (*tagged.value).clone();
            let (removed, kept) = feature.tags.into_iter().partition(|t| t.tag_type == name);
            feature.tags = kept;
            changes.update(kind::FEATURE, feature.name.as_str(), tagged, &feature)?;
            for tag in removed {
                changes.record(
                    Event::new(EventType::FeatureUntagged)
                        .feature(&feature)
                        .pre_data(&tag),
                );
            }
        }
        changes.delete(kind::TAG_TYPE, name, previous);
        changes.record(Event::new(EventType::TagTypeDeleted).pre_data(&*previous.value));
        Ok(())
    })
    .await
}
