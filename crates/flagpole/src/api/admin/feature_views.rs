//! How the Admin API shows flags, in Unleash's shapes: one flag with its state in every
//! environment and who worked on it, a flag in a project's listing, an archived flag, and a
//! flag's tags.

use serde_json::{json, Value};

use crate::app::AppState;
use crate::domain::model::{Feature, Tag};
use crate::domain::{features, strategies, users};
use crate::error::ApiResult;
use crate::snapshot::Snapshot;

/// The admin JSON of one flag, as `GET /api/admin/projects/:p/features/:name` returns it (in
/// Unleash's shape: tags and variants have their own endpoints; per-environment variants are
/// included on request). Evaluation counts and last-seen times are filled in by the caller.
pub(super) fn admin_json(snapshot: &Snapshot, feature: &Feature, with_variants: bool) -> Value {
    let environments: Vec<Value> = snapshot
        .sorted_environments()
        .into_iter()
        .map(|environment| {
            let state = feature.environment(&environment.name);
            let mut body = serde_json::json!({
                "name": environment.name,
                "lastSeenAt": null,
                "enabled": state.enabled,
                "yes": 0,
                "no": 0,
                "type": environment.environment_type,
                "sortOrder": environment.sort_order,
                "strategies": state.strategies.iter().map(strategies::admin_json).collect::<Vec<_>>(),
            });
            if with_variants {
                body["variants"] = serde_json::json!(state.variants);
            }
            body
        })
        .collect();
    serde_json::json!({
        "name": feature.name,
        "type": feature.feature_type,
        "description": feature.description,
        "project": feature.project,
        "stale": feature.stale,
        "impressionData": feature.impression_data,
        "archived": feature.archived,
        "createdAt": feature.created_at,
        "createdBy": creator_json(feature),
        "environments": environments,
        "dependencies": feature.dependencies.iter().map(|d| serde_json::json!({
            "feature": d.feature,
            "enabled": d.enabled.unwrap_or(true),
            "variants": d.variants.clone().unwrap_or_default(),
        })).collect::<Vec<_>>(),
        "children": features::children(snapshot, &feature.name),
    })
}

/// Who created a flag, as Unleash shows a user: id, name and avatar.
fn creator_json(feature: &Feature) -> Value {
    serde_json::json!({
        "id": feature.created_by_user_id.unwrap_or(crate::auth::API_TOKEN_USER_ID),
        "name": feature.created_by,
        "imageUrl": users::image_url(&feature.created_by),
    })
}

/// The summary JSON of a flag in a project listing.
pub(super) fn summary_json(snapshot: &Snapshot, feature: &Feature) -> Value {
    let environments: Vec<Value> = snapshot
        .sorted_environments()
        .into_iter()
        .map(|environment| {
            let state = feature.environment(&environment.name);
            serde_json::json!({
                "name": environment.name,
                "enabled": state.enabled,
                "type": environment.environment_type,
                "sortOrder": environment.sort_order,
                "variantCount": state.variants.len(),
                "lastSeenAt": null,
                "hasStrategies": !state.strategies.is_empty(),
                "hasEnabledStrategies": state.strategies.iter().any(|s| s.disabled != Some(true)),
            })
        })
        .collect();
    serde_json::json!({
        "name": feature.name,
        "type": feature.feature_type,
        "description": feature.description,
        "favorite": false,
        "createdAt": feature.created_at,
        "stale": feature.stale,
        "impressionData": feature.impression_data,
        "environments": environments,
    })
}

/// The summary JSON of an archived flag: the listing's, with its project and when it was
/// archived.
pub(super) fn archived_summary_json(snapshot: &Snapshot, feature: &Feature) -> Value {
    let mut body = summary_json(snapshot, feature);
    body["project"] = serde_json::json!(feature.project);
    body["archived"] = serde_json::json!(feature.archived);
    body["archivedAt"] = serde_json::json!(feature.archived_at);
    body
}

/// Who changed the flag, from its history: each user (or token) once, most recent first.
pub(super) async fn collaborators(state: &AppState, name: &str) -> ApiResult<Vec<Value>> {
    let query = crate::store::EventQuery {
        feature_names: vec![name.to_owned()],
        limit: crate::domain::events::MAX_PAGE_SIZE,
        ..Default::default()
    };
    let (events, _) = state.core.store.events(&query).await?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(events
        .iter()
        .filter(|event| seen.insert(event.created_by_user_id))
        .map(|event| {
            json!({
                "id": event.created_by_user_id,
                "name": event.created_by,
                "imageUrl": users::image_url(&event.created_by),
            })
        })
        .collect())
}

/// A flag's tags as Unleash lists them: each with its tag type's colour.
pub(super) fn tags_json(snapshot: &Snapshot, tags: &[Tag]) -> Value {
    let tags: Vec<Value> = tags
        .iter()
        .map(|tag| {
            let color = snapshot
                .tag_types
                .get(tag.tag_type.as_str())
                .and_then(|t| t.value.color.clone());
            json!({ "type": tag.tag_type, "value": tag.value, "color": color })
        })
        .collect();
    json!({ "version": 1, "tags": tags })
}
