//! Instance settings, stored like any other document so that every replica sees them.

use serde_json::json;

use super::model::kind;
use super::{Core, Event};
use crate::auth::Actor;
use crate::domain::EventType;
use crate::error::{ApiError, ApiResult};
use crate::snapshot::Snapshot;

pub const FRONTEND_API_ORIGINS: &str = "frontend_api_origins";
const MAX_ORIGINS: usize = 100;

/// The origins browsers may call the Frontend API from: the saved setting, else the default.
pub fn frontend_origins(core: &Core, snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .settings
        .get(FRONTEND_API_ORIGINS)
        .and_then(|setting| serde_json::from_value(setting.value.as_ref().clone()).ok())
        .unwrap_or_else(|| core.default_frontend_origins.clone())
}

/// `*`, or an origin: `scheme://host[:port]` with nothing after it.
pub fn check_origin(origin: &str) -> ApiResult<()> {
    if origin == "*" {
        return Ok(());
    }
    let valid = origin.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains('/')
            && !rest.contains(char::is_whitespace)
    });
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_data(format!(
            "\"{origin}\" is not an origin: use \"*\" or scheme://host[:port]"
        )))
    }
}

pub async fn set_frontend_origins(
    core: &Core,
    actor: &Actor,
    origins: Vec<String>,
) -> ApiResult<()> {
    if origins.len() > MAX_ORIGINS {
        return Err(ApiError::bad_data(format!(
            "at most {MAX_ORIGINS} origins are allowed"
        )));
    }
    let origins: Vec<String> = origins
        .iter()
        .map(|o| o.trim().trim_end_matches('/').to_owned())
        .collect();
    origins.iter().try_for_each(|o| check_origin(o))?;
    core.change(actor, |snapshot, changes| {
        let before = frontend_origins(core, snapshot);
        if before == origins {
            return Ok(());
        }
        let value = json!(origins);
        // As in Unleash, the first value of a setting is "created", later ones "updated".
        let event_type = match snapshot.settings.get(FRONTEND_API_ORIGINS) {
            Some(previous) => {
                changes.update(kind::SETTING, FRONTEND_API_ORIGINS, previous, &value)?;
                EventType::SettingUpdated
            }
            None => {
                changes.create(kind::SETTING, FRONTEND_API_ORIGINS, &value)?;
                EventType::SettingCreated
            }
        };
        changes.record(
            Event::new(event_type)
                .data(json!({ "id": "cors", "frontendApiOrigins": origins }))
                .pre_data(json!({ "id": "cors", "frontendApiOrigins": before })),
        );
        Ok(())
    })
    .await
}
