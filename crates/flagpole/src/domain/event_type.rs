//! The kinds of audit event, named on the wire as Unleash names them, each with a short title
//! for people (the event search's `label`; the wording is Flagpole's own).

/// One kind of change recorded in the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    ApiTokenCreated,
    ApiTokenDeleted,
    ApiTokenUpdated,
    ContextFieldCreated,
    ContextFieldDeleted,
    ContextFieldUpdated,
    EnvironmentCreated,
    EnvironmentDeleted,
    EnvironmentUpdated,
    FeatureArchived,
    FeatureCreated,
    FeatureDeleted,
    FeatureDependenciesRemoved,
    FeatureDependencyAdded,
    FeatureDependencyRemoved,
    FeatureEnvironmentDisabled,
    FeatureEnvironmentEnabled,
    FeatureEnvironmentVariantsUpdated,
    FeatureMetadataUpdated,
    FeatureRevived,
    FeatureStaleOff,
    FeatureStaleOn,
    FeatureStrategyAdd,
    FeatureStrategyRemove,
    FeatureStrategyUpdate,
    FeatureTagged,
    FeatureUntagged,
    FeaturesExported,
    FeaturesImported,
    PatCreated,
    PatDeleted,
    ProjectCreated,
    ProjectDeleted,
    ProjectUpdated,
    SegmentCreated,
    SegmentDeleted,
    SegmentUpdated,
    SettingCreated,
    SettingUpdated,
    StrategyOrderChanged,
    TagTypeCreated,
    TagTypeDeleted,
    TagTypeUpdated,
    UserCreated,
    UserDeleted,
    UserPasswordChanged,
    UserUpdated,
}

impl EventType {
    /// Every kind, for looking one up by its name.
    const ALL: [EventType; 47] = [
        EventType::ApiTokenCreated,
        EventType::ApiTokenDeleted,
        EventType::ApiTokenUpdated,
        EventType::ContextFieldCreated,
        EventType::ContextFieldDeleted,
        EventType::ContextFieldUpdated,
        EventType::EnvironmentCreated,
        EventType::EnvironmentDeleted,
        EventType::EnvironmentUpdated,
        EventType::FeatureArchived,
        EventType::FeatureCreated,
        EventType::FeatureDeleted,
        EventType::FeatureDependenciesRemoved,
        EventType::FeatureDependencyAdded,
        EventType::FeatureDependencyRemoved,
        EventType::FeatureEnvironmentDisabled,
        EventType::FeatureEnvironmentEnabled,
        EventType::FeatureEnvironmentVariantsUpdated,
        EventType::FeatureMetadataUpdated,
        EventType::FeatureRevived,
        EventType::FeatureStaleOff,
        EventType::FeatureStaleOn,
        EventType::FeatureStrategyAdd,
        EventType::FeatureStrategyRemove,
        EventType::FeatureStrategyUpdate,
        EventType::FeatureTagged,
        EventType::FeatureUntagged,
        EventType::FeaturesExported,
        EventType::FeaturesImported,
        EventType::PatCreated,
        EventType::PatDeleted,
        EventType::ProjectCreated,
        EventType::ProjectDeleted,
        EventType::ProjectUpdated,
        EventType::SegmentCreated,
        EventType::SegmentDeleted,
        EventType::SegmentUpdated,
        EventType::SettingCreated,
        EventType::SettingUpdated,
        EventType::StrategyOrderChanged,
        EventType::TagTypeCreated,
        EventType::TagTypeDeleted,
        EventType::TagTypeUpdated,
        EventType::UserCreated,
        EventType::UserDeleted,
        EventType::UserPasswordChanged,
        EventType::UserUpdated,
    ];

    /// The name on the wire (`feature-created`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::ApiTokenCreated => "api-token-created",
            EventType::ApiTokenDeleted => "api-token-deleted",
            EventType::ApiTokenUpdated => "api-token-updated",
            EventType::ContextFieldCreated => "context-field-created",
            EventType::ContextFieldDeleted => "context-field-deleted",
            EventType::ContextFieldUpdated => "context-field-updated",
            EventType::EnvironmentCreated => "environment-created",
            EventType::EnvironmentDeleted => "environment-deleted",
            EventType::EnvironmentUpdated => "environment-updated",
            EventType::FeatureArchived => "feature-archived",
            EventType::FeatureCreated => "feature-created",
            EventType::FeatureDeleted => "feature-deleted",
            EventType::FeatureDependenciesRemoved => "feature-dependencies-removed",
            EventType::FeatureDependencyAdded => "feature-dependency-added",
            EventType::FeatureDependencyRemoved => "feature-dependency-removed",
            EventType::FeatureEnvironmentDisabled => "feature-environment-disabled",
            EventType::FeatureEnvironmentEnabled => "feature-environment-enabled",
            EventType::FeatureEnvironmentVariantsUpdated => "feature-environment-variants-updated",
            EventType::FeatureMetadataUpdated => "feature-metadata-updated",
            EventType::FeatureRevived => "feature-revived",
            EventType::FeatureStaleOff => "feature-stale-off",
            EventType::FeatureStaleOn => "feature-stale-on",
            EventType::FeatureStrategyAdd => "feature-strategy-add",
            EventType::FeatureStrategyRemove => "feature-strategy-remove",
            EventType::FeatureStrategyUpdate => "feature-strategy-update",
            EventType::FeatureTagged => "feature-tagged",
            EventType::FeatureUntagged => "feature-untagged",
            EventType::FeaturesExported => "features-exported",
            EventType::FeaturesImported => "features-imported",
            EventType::PatCreated => "pat-created",
            EventType::PatDeleted => "pat-deleted",
            EventType::ProjectCreated => "project-created",
            EventType::ProjectDeleted => "project-deleted",
            EventType::ProjectUpdated => "project-updated",
            EventType::SegmentCreated => "segment-created",
            EventType::SegmentDeleted => "segment-deleted",
            EventType::SegmentUpdated => "segment-updated",
            EventType::SettingCreated => "setting-created",
            EventType::SettingUpdated => "setting-updated",
            EventType::StrategyOrderChanged => "strategy-order-changed",
            EventType::TagTypeCreated => "tag-type-created",
            EventType::TagTypeDeleted => "tag-type-deleted",
            EventType::TagTypeUpdated => "tag-type-updated",
            EventType::UserCreated => "user-created",
            EventType::UserDeleted => "user-deleted",
            EventType::UserPasswordChanged => "user-password-changed",
            EventType::UserUpdated => "user-updated",
        }
    }

    /// The kind named so, if it is one Flagpole records.
    pub fn from_name(name: &str) -> Option<EventType> {
        EventType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// A short title for people.
    pub const fn label(self) -> &'static str {
        match self {
            EventType::ApiTokenCreated => "API token created",
            EventType::ApiTokenDeleted => "API token deleted",
            EventType::ApiTokenUpdated => "API token changed",
            EventType::ContextFieldCreated => "Context field created",
            EventType::ContextFieldDeleted => "Context field deleted",
            EventType::ContextFieldUpdated => "Context field changed",
            EventType::EnvironmentCreated => "Environment created",
            EventType::EnvironmentDeleted => "Environment deleted",
            EventType::EnvironmentUpdated => "Environment changed",
            EventType::FeatureArchived => "Flag archived",
            EventType::FeatureCreated => "Flag created",
            EventType::FeatureDeleted => "Flag deleted",
            EventType::FeatureDependenciesRemoved => "Dependencies removed",
            EventType::FeatureDependencyAdded => "Dependency added",
            EventType::FeatureDependencyRemoved => "Dependency removed",
            EventType::FeatureEnvironmentDisabled => "Flag switched off",
            EventType::FeatureEnvironmentEnabled => "Flag switched on",
            EventType::FeatureEnvironmentVariantsUpdated => "Variants changed",
            EventType::FeatureMetadataUpdated => "Flag details changed",
            EventType::FeatureRevived => "Flag revived",
            EventType::FeatureStaleOff => "Flag no longer stale",
            EventType::FeatureStaleOn => "Flag marked stale",
            EventType::FeatureStrategyAdd => "Strategy added",
            EventType::FeatureStrategyRemove => "Strategy removed",
            EventType::FeatureStrategyUpdate => "Strategy changed",
            EventType::FeatureTagged => "Tag added",
            EventType::FeatureUntagged => "Tag removed",
            EventType::FeaturesExported => "Flags exported",
            EventType::FeaturesImported => "Flags imported",
            EventType::PatCreated => "Personal token created",
            EventType::PatDeleted => "Personal token deleted",
            EventType::ProjectCreated => "Project created",
            EventType::ProjectDeleted => "Project deleted",
            EventType::ProjectUpdated => "Project changed",
            EventType::SegmentCreated => "Segment created",
            EventType::SegmentDeleted => "Segment deleted",
            EventType::SegmentUpdated => "Segment changed",
            EventType::SettingCreated => "Setting made",
            EventType::SettingUpdated => "Setting changed",
            EventType::StrategyOrderChanged => "Strategies reordered",
            EventType::TagTypeCreated => "Tag type created",
            EventType::TagTypeDeleted => "Tag type deleted",
            EventType::TagTypeUpdated => "Tag type changed",
            EventType::UserCreated => "User created",
            EventType::UserDeleted => "User deleted",
            EventType::UserPasswordChanged => "Password changed",
            EventType::UserUpdated => "User changed",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EventType::ALL {
            assert_eq!(EventType::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::from_name("no-such-event"), None);
    }
}
