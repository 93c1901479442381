//! The human-readable `label` and `summary` of an audit event, as the event search shows them
//! (Markdown, like Unleash's; the wording is Flagpole's own).

use super::EventType;
use crate::store::EventRecord;

/// A short title for the kind of change: the name itself for kinds this version does not
/// record (older or newer logs).
pub fn label(event_type: &str) -> String {
    EventType::from_name(event_type)
        .map_or_else(|| event_type.to_owned(), |kind| kind.label().to_owned())
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
