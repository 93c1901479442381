//! What a new instance starts with besides its projects and environments, as in Unleash: the
//! context fields every SDK fills in and the `simple` tag type. They are ordinary documents,
//! so they can be edited or deleted like any other; they are written once, on the first start
//! of a version that has them, and never again.

use chrono::Utc;
use serde_json::json;

use super::model::{kind, ContextField, TagType};
use super::Core;
use crate::auth::Actor;
use crate::error::ApiResult;

/// The setting that records that the built-ins were written.
const SEEDED: &str = "built_ins_seeded";

/// Name, description, stickiness and sort order of each built-in context field. The sort
/// orders and stickiness are Unleash's, so the UI lists them as it would; the words are ours.
const CONTEXT_FIELDS: [(&str, &str, bool, i64); 5] = [
    ("environment", "The environment the SDK runs in", false, 0),
    ("userId", "The user the flag is evaluated for", false, 1),
    ("appName", "The application the SDK runs in", false, 2),
    (
        "currentTime",
        "The time of evaluation, for date constraints",
        false,
        3,
    ),
    (
        "sessionId",
        "The session the flag is evaluated for",
        true,
        4,
    ),
];

/// Writes the built-ins unless they were written before (on any replica). Existing documents
/// with the same names are left alone.
pub async fn seed(core: &Core) -> ApiResult<bool> {
    core.change(&Actor::system(), |snapshot, changes| {
        if snapshot.settings.contains_key(SEEDED) {
            return Ok(false);
        }
        for (name, description, stickiness, sort_order) in CONTEXT_FIELDS {
            if !snapshot.context_fields.contains_key(name) {
                let field = ContextField {
                    name: name.into(),
                    description: Some(description.into()),
                    stickiness,
                    sort_order,
                    legal_values: vec![],
                    created_at: Utc::now(),
                };
                changes.create(kind::CONTEXT_FIELD, name, &field)?;
            }
        }
        if !snapshot.tag_types.contains_key("simple") {
            let simple = TagType {
                name: "simple".into(),
                description: Some("Plain labels, for finding flags".into()),
                icon: Some("#".into()),
                color: Some("#FFFFFF".into()),
            };
            changes.create(kind::TAG_TYPE, "simple", &simple)?;
        }
        changes.create(kind::SETTING, SEEDED, &json!(true))?;
        Ok(true)
    })
    .await
}
