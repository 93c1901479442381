//! Between stored documents and the declarative format. Exporting leaves out what is a default
//! (so files stay short) and sorts everything that has no meaningful order (so diffs stay clean).

use std::collections::{BTreeMap, BTreeSet};

use flagpole_eval::wire::{Constraint, Dependency, Payload, Strategy, Variant};

use super::format::*;
use crate::domain::model::{ContextField, Environment, Feature, FeatureEnvironment, Segment};
use crate::snapshot::Snapshot;

/// Segment names by id, for writing strategies.
pub type SegmentNames = BTreeMap<i64, String>;

pub fn segment_names(snapshot: &Snapshot) -> SegmentNames {
    snapshot
        .segments
        .iter()
        .map(|(id, segment)| (*id, segment.value.name.clone()))
        .collect()
}

pub fn export(snapshot: &Snapshot, projects: &BTreeSet<&str>) -> Document {
    let selected = |project: &str| projects.is_empty() || projects.contains(project);
    let names = segment_names(snapshot);
    let flags: Vec<FlagSpec> = snapshot
        .features
        .values()
        .filter(|f| !f.value.archived && selected(&f.value.project))
        .map(|f| flag_spec(&f.value, &names))
        .collect();

    // With a project filter, only the shared things those flags use come along.
    let filtered = !projects.is_empty();
    let used_segments: BTreeSet<&str> = flags
        .iter()
        .flat_map(|f| f.environments.values())
        .flat_map(|e| e.strategies.iter())
        .flat_map(|s| s.segments.iter().map(String::as_str))
        .collect();
    let used_tag_types: BTreeSet<&str> = flags
        .iter()
        .flat_map(|f| f.tags.iter().map(|t| t.tag_type.as_str()))
        .collect();

    let mut segments: Vec<SegmentSpec> = snapshot
        .segments
        .values()
        .filter(|s| {
            !filtered
                || used_segments.contains(s.value.name.as_str())
                || s.value.project.as_deref().is_some_and(selected)
        })
        .map(|s| segment_spec(&s.value))
        .collect();
    segments.sort_by(|a, b| a.name.cmp(&b.name));

    let mut environments: Vec<&Environment> = snapshot
        .environments
        .values()
        .map(|e| e.value.as_ref())
        .collect();
    environments.sort_by(|a, b| a.name.cmp(&b.name));

    Document {
        version: VERSION,
        projects: snapshot
            .projects
            .values()
            .filter(|p| selected(&p.value.id))
            .map(|p| ProjectSpec {
                id: p.value.id.clone(),
                name: Some(p.value.name.clone()),
                description: p.value.description.clone(),
            })
            .collect(),
        environments: environments
            .into_iter()
            .map(|e| EnvironmentSpec {
                name: e.name.clone(),
                environment_type: Some(e.environment_type.clone()),
                enabled: Some(e.enabled),
                sort_order: Some(e.sort_order),
            })
            .collect(),
        tag_types: snapshot
            .tag_types
            .values()
            .filter(|t| !filtered || used_tag_types.contains(t.value.name.as_str()))
            .map(|t| TagTypeSpec {
                name: t.value.name.clone(),
                description: t.value.description.clone(),
                icon: t.value.icon.clone(),
                color: t.value.color.clone(),
            })
            .collect(),
        context_fields: snapshot
            .context_fields
            .values()
            .map(|c| context_field_spec(&c.value))
            .collect(),
        segments,
        flags,
    }
}

pub fn context_field_spec(field: &ContextField) -> ContextFieldSpec {
    ContextFieldSpec {
        name: field.name.clone(),
        description: field.description.clone(),
        stickiness: field.stickiness,
        sort_order: Some(field.sort_order),
        legal_values: field
            .legal_values
            .iter()
            .map(|v| LegalValueSpec {
                value: v.value.clone(),
                description: v.description.clone(),
            })
            .collect(),
    }
}

pub fn segment_spec(segment: &Segment) -> SegmentSpec {
    SegmentSpec {
        name: segment.name.clone(),
        description: segment.description.clone(),
        project: segment.project.clone(),
        constraints: segment.constraints.iter().map(constraint_spec).collect(),
    }
}

pub fn constraint_spec(constraint: &Constraint) -> ConstraintSpec {
    ConstraintSpec {
        context_name: constraint.context_name.to_string(),
        operator: constraint.operator.clone(),
        values: constraint.values.iter().map(ToString::to_string).collect(),
        value: constraint.value.clone(),
        case_insensitive: constraint.case_insensitive,
        inverted: constraint.inverted,
    }
}

pub fn constraint(spec: &ConstraintSpec) -> Constraint {
    Constraint {
        context_name: spec.context_name.as_str().into(),
        operator: spec.operator.clone(),
        values: spec.values.iter().map(|v| v.as_str().into()).collect(),
        value: spec.value.clone(),
        case_insensitive: spec.case_insensitive,
        inverted: spec.inverted,
    }
}

/// A flag's state in one environment, or `None` when it is the default (off, empty).
pub fn environment_spec(
    state: &FeatureEnvironment,
    names: &SegmentNames,
) -> Option<FlagEnvironmentSpec> {
    if *state == FeatureEnvironment::default() {
        return None;
    }
    Some(FlagEnvironmentSpec {
        enabled: state.enabled,
        strategies: ordered(&state.strategies)
            .into_iter()
            .map(|s| strategy_spec(s, names))
            .collect(),
        variants: state.variants.iter().map(variant_spec).collect(),
    })
}

/// Strategies in evaluation order.
pub fn ordered(strategies: &[Strategy]) -> Vec<&Strategy> {
    let mut list: Vec<&Strategy> = strategies.iter().collect();
    list.sort_by_key(|s| s.sort_order.unwrap_or(0));
    list
}

pub fn flag_spec(feature: &Feature, names: &SegmentNames) -> FlagSpec {
    let mut tags: Vec<TagSpec> = feature
        .tags
        .iter()
        .map(|t| TagSpec {
            tag_type: t.tag_type.clone(),
            value: t.value.clone(),
        })
        .collect();
    tags.sort();
    let mut dependencies: Vec<DependencySpec> =
        feature.dependencies.iter().map(dependency_spec).collect();
    dependencies.sort_by(|a, b| a.feature.cmp(&b.feature));
    FlagSpec {
        name: feature.name.to_string(),
        project: feature.project.to_string(),
        feature_type: feature.feature_type.to_string(),
        description: feature.description.as_ref().map(ToString::to_string),
        impression_data: feature.impression_data,
        stale: feature.stale,
        tags,
        dependencies,
        variants: None,
        environments: feature
            .environments
            .iter()
            .filter_map(|(name, state)| Some((name.to_string(), environment_spec(state, names)?)))
            .collect(),
    }
}

fn dependency_spec(dependency: &Dependency) -> DependencySpec {
    DependencySpec {
        feature: dependency.feature.clone(),
        enabled: match dependency.enabled {
            Some(false) => Some(false),
            _ => None,
        },
        variants: dependency.variants.clone().unwrap_or_default(),
    }
}

/// A dependency as `add_dependency` stores it.
pub fn dependency(spec: &DependencySpec) -> Dependency {
    Dependency {
        feature: spec.feature.clone(),
        enabled: Some(spec.enabled.unwrap_or(true)),
        variants: Some(spec.variants.clone()).filter(|v| !v.is_empty()),
    }
}

pub fn strategy_spec(strategy: &Strategy, names: &SegmentNames) -> StrategySpec {
    StrategySpec {
        name: strategy.name.to_string(),
        title: strategy.title.clone(),
        disabled: strategy.disabled == Some(true),
        parameters: strategy
            .parameters
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        constraints: strategy.constraints.iter().map(constraint_spec).collect(),
        segments: strategy
            .segments
            .iter()
            .map(|id| names.get(id).cloned().unwrap_or_else(|| format!("#{id}")))
            .collect(),
        variants: strategy.variants.iter().map(variant_spec).collect(),
    }
}

/// Leaves out what applying fills in again: `stickiness: default`, `weightType: variable` and
/// the weights of variable variants (they share what the fixed ones leave).
pub fn variant_spec(variant: &Variant) -> VariantSpec {
    let fixed = variant.weight_type.as_deref() == Some("fix");
    VariantSpec {
        name: variant.name.clone(),
        weight: fixed.then_some(variant.weight),
        weight_type: variant
            .weight_type
            .clone()
            .filter(|weight_type| weight_type != "variable"),
        stickiness: variant
            .stickiness
            .clone()
            .filter(|stickiness| stickiness != "default"),
        payload: variant.payload.as_ref().map(|p| PayloadSpec {
            payload_type: p.payload_type.clone(),
            value: p.value.clone(),
        }),
        overrides: variant
            .overrides
            .iter()
            .map(|o| OverrideSpec {
                context_name: o.context_name.clone(),
                values: o.values.clone(),
            })
            .collect(),
    }
}

/// A variant before `prepare_variants` fills in its defaults and balances the weights.
pub fn variant(spec: &VariantSpec) -> Variant {
    Variant {
        name: spec.name.clone(),
        weight: spec.weight.unwrap_or(0),
        payload: spec.payload.as_ref().map(|p| Payload {
            payload_type: p.payload_type.clone(),
            value: p.value.clone(),
        }),
        stickiness: spec.stickiness.clone(),
        weight_type: spec.weight_type.clone(),
        overrides: spec
            .overrides
            .iter()
            .map(|o| flagpole_eval::wire::Override {
                context_name: o.context_name.clone(),
                values: o.values.clone(),
            })
            .collect(),
    }
}
