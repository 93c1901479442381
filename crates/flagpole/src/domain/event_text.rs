//! The human-readable `label` and `summary` of an audit event, as the event search shows them
//! (Markdown, like Unleash's; the wording is Flagpole's own).

use crate::store::EventRecord;

/// A short title for the kind of change.
pub fn label(event_type: &str) -> String {
    let label = match event_type {
        "feature-created" => "Flag created",
        "feature-metadata-updated" => "Flag details changed",
        "feature-stale-on" => "Flag marked stale",
        "feature-stale-off" => "Flag no longer stale",
        "feature-archived" => "Flag archived",
        "feature-revived" => "Flag revived",
        "feature-deleted" => "Flag deleted",
        "feature-environment-enabled" => "Flag switched on",
        "feature-environment-disabled" => "Flag switched off",
        "feature-strategy-add" => "Strategy added",
        "feature-strategy-update" => "Strategy changed",
        "feature-strategy-remove" => "Strategy removed",
        "strategy-order-changed" => "Strategies reordered",
        "feature-environment-variants-updated" => "Variants changed",
        "feature-tagged" => "Tag added",
        "feature-untagged" => "Tag removed",
        "feature-dependency-added" => "Dependency added",
        "feature-dependency-removed" => "Dependency removed",
        "feature-dependencies-removed" => "Dependencies removed",
        "api-token-created" => "API token created",
        "api-token-updated" => "API token changed",
        "api-token-deleted" => "API token deleted",
        "segment-created" => "Segment created",
        "segment-updated" => "Segment changed",
        "segment-deleted" => "Segment deleted",
        "context-field-created" => "Context field created",
        "context-field-updated" => "Context field changed",
        "context-field-deleted" => "Context field deleted",
        "tag-type-created" => "Tag type created",
        "tag-type-updated" => "Tag type changed",
        "tag-type-deleted" => "Tag type deleted",
        "project-created" => "Project created",
        "project-updated" => "Project changed",
        "project-deleted" => "Project deleted",
        "environment-created" => "Environment created",
        "environment-updated" => "Environment changed",
        "environment-deleted" => "Environment deleted",
        "user-created" => "User created",
        "user-updated" => "User changed",
        "user-deleted" => "User deleted",
        "user-password-changed" => "Password changed",
        "pat-created" => "Personal token created",
        "pat-deleted" => "Personal token deleted",
        "setting-created" => "Setting made",
        "setting-updated" => "Setting changed",
        "features-imported" => "Flags imported",
        "features-exported" => "Flags exported",
        other => other,
    };
    label.to_owned()
}

/// One sentence: who did what, to which flag, where.
pub fn summary(event: &EventRecord) -> String {
    let mut sentence = format!(
        "**{}**: {}",
        event.created_by,
        label(&event.event_type).to_lowercase()
    );
    if let Some(feature) = &event.feature_name {
        sentence.push_str(&format!(" on **{feature}**"));
    }
    if let Some(environment) = &event.environment {
        sentence.push_str(&format!(" in **{environment}**"));
    }
    if let Some(project) = &event.project {
        sentence.push_str(&format!(" (project **{project}**)"));
    }
    sentence
}
