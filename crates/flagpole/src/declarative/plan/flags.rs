//! Planning one flag: the flag the file describes, checked and normalised as the Admin API
//! stores it, merged with the flag that exists (strategy ids kept where a strategy stays), and
//! described for the plan; its audit events come from the one history diff.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use flagpole_eval::wire::{Dependency, Strategy, Variant};

use crate::declarative::convert::{self, SegmentNames};
use crate::declarative::format::*;
use crate::domain::model::{Feature, FeatureEnvironment, Tag};
use crate::domain::{features, history, strategies, validate};
use crate::error::ApiResult;

use super::diff::{comparable_forms, diff_values, prefixed};
use super::*;

impl Builder<'_> {
    /// Plans one flag and returns it as it will be.
    pub(super) fn flag(&mut self, spec: &FlagSpec) -> ApiResult<Feature> {
        let place = format!("flag {}", spec.name);
        validate::url_friendly_name("name", &spec.name).map_err(at(&place))?;
        validate::feature_type(&spec.feature_type).map_err(at(&place))?;
        validate::description(spec.description.as_deref()).map_err(at(&place))?;
        if !self.projects.contains(&spec.project) {
            return refuse(
                &place,
                format!(
                    "project {} does not exist (list it under `projects:` or create it first)",
                    spec.project
                ),
            );
        }
        let mut tags: Vec<Tag> = spec
            .tags
            .iter()
            .map(|t| Tag {
                tag_type: t.tag_type.clone(),
                value: t.value.clone(),
            })
            .collect();
        features::tags(&tags).map_err(at(&place))?;
        for tag in &tags {
            if !self.tag_types.contains(&tag.tag_type) {
                return refuse(
                    &place,
                    format!(
                        "tag type {} does not exist (list it under `tagTypes:` or create it first)",
                        tag.tag_type
                    ),
                );
            }
        }
        tags.sort();
        tags.dedup();
        let mut dependencies: Vec<Dependency> =
            spec.dependencies.iter().map(convert::dependency).collect();
        dependencies.sort_by(|a, b| a.feature.cmp(&b.feature));
        unique(
            &format!("{place}: dependencies"),
            dependencies.iter().map(|d| d.feature.as_str()),
        )?;
        if spec.variants.is_some() && spec.environments.values().any(|e| !e.variants.is_empty()) {
            return refuse(
                &place,
                "give variants either for the whole flag or per environment, not both",
            );
        }
        let mut environments = BTreeMap::new();
        for (name, environment) in &spec.environments {
            let place = format!("{place}, environment {name}");
            if !self.environments.contains(name) {
                return refuse(
                    &place,
                    "no such environment (list it under `environments:` or create it first)",
                );
            }
            let variants = spec.variants.as_ref().unwrap_or(&environment.variants);
            environments.insert(
                name.clone(),
                self.environment_state(&place, &spec.name, environment, variants)?,
            );
        }

        let previous = self.snapshot.features.get(spec.name.as_str()).cloned();
        let mut details = Vec::new();
        let mut feature = match &previous {
            Some(previous) => {
                let current = &previous.value;
                if current.project != spec.project && !current.archived {
                    return refuse(
                        &place,
                        format!(
                            "the flag is in project {}; moving flags between projects is not supported",
                            current.project
                        ),
                    );
                }
                let mut feature = (**current).clone();
                if feature.archived {
                    feature.archived = false;
                    feature.archived_at = None;
                    feature.project = spec.project.as_str().into();
                    details.push("revived from the archive".to_owned());
                }
                feature
            }
            None => Feature {
                name: spec.name.as_str().into(),
                project: spec.project.as_str().into(),
                description: None,
                feature_type: spec.feature_type.as_str().into(),
                stale: false,
                impression_data: false,
                archived: false,
                archived_at: None,
                created_at: Utc::now(),
                created_by: self.actor_name.into(),
                created_by_user_id: None,
                environments: self
                    .environments
                    .iter()
                    .map(|name| (name.as_str().into(), FeatureEnvironment::default()))
                    .collect(),
                tags: vec![],
                dependencies: vec![],
            },
        };
        let before = previous.as_ref().map(|p| (*p.value).clone());
        let before_spec = previous
            .as_ref()
            .map(|p| json(convert::flag_spec(&p.value, &self.segment_names)));

        // Metadata.
        feature.feature_type = spec.feature_type.as_str().into();
        feature.description = spec.description.as_deref().map(Into::into);
        feature.stale = spec.stale;
        feature.impression_data = spec.impression_data;

        // Tags.
        let mut current_tags = feature.tags.clone();
        current_tags.sort();
        if current_tags != tags {
            feature.tags = tags;
        }

        // Dependencies.
        let mut current_dependencies = feature.dependencies.clone();
        current_dependencies.sort_by(|a, b| a.feature.cmp(&b.feature));
        if current_dependencies != dependencies {
            feature.dependencies = dependencies;
        }

        // Environments: every one the flag has or the file names; one the file does not name
        // is off and empty.
        let names: BTreeSet<String> = feature
            .environments
            .keys()
            .map(ToString::to_string)
            .chain(environments.keys().cloned())
            .collect();
        for name in names {
            let wanted = environments.remove(&name).unwrap_or_default();
            let state = feature.environment_mut(&name);
            let strategy_details = merge_environment(&name, state, wanted, &self.segment_names);
            details.extend(strategy_details);
        }

        if before.as_ref() == Some(&feature) {
            return Ok(feature);
        }
        let after_spec = json(convert::flag_spec(&feature, &self.segment_names));
        let what = format!("flag {} (project {})", feature.name, feature.project);
        match &before_spec {
            Some(before_spec) => {
                let (before_form, after_form) = comparable_forms(before_spec, &after_spec);
                let mut field_details = diff_values(&before_form, &after_form);
                field_details.extend(details);
                if field_details.is_empty() {
                    field_details.push("stored form normalised (no visible change)".into());
                }
                self.item(Action::Update, what, field_details);
            }
            None => {
                let summary: Vec<String> = feature
                    .environments
                    .iter()
                    .filter(|(_, state)| **state != FeatureEnvironment::default())
                    .map(|(name, state)| {
                        format!(
                            "{name}: {}, {} strateg{}",
                            if state.enabled { "on" } else { "off" },
                            state.strategies.len(),
                            if state.strategies.len() == 1 {
                                "y"
                            } else {
                                "ies"
                            }
                        )
                    })
                    .collect();
                let details = if summary.is_empty() {
                    vec!["off in every environment".to_owned()]
                } else {
                    summary
                };
                self.item(Action::Create, what, details)
            }
        }
        self.plan
            .events
            .extend(history::flag_events(before.as_ref(), &feature));
        self.plan.writes.push(Write::Feature(Put {
            key: feature.name.to_string(),
            previous,
            value: feature.clone(),
        }));
        Ok(feature)
    }

    /// A flag's state in one environment as the file wants it, validated and normalised the way
    /// the Admin API stores it (strategies without ids yet).
    fn environment_state(
        &self,
        place: &str,
        flag: &str,
        spec: &FlagEnvironmentSpec,
        variants: &[VariantSpec],
    ) -> ApiResult<FeatureEnvironment> {
        if spec.strategies.len() > validate::MAX_STRATEGIES {
            return refuse(
                place,
                format!(
                    "a flag may have at most {} strategies per environment",
                    validate::MAX_STRATEGIES
                ),
            );
        }
        let mut strategies = Vec::with_capacity(spec.strategies.len());
        for (index, strategy) in spec.strategies.iter().enumerate() {
            let place = format!("{place}, strategy {} ({})", index + 1, strategy.name);
            let mut segments = Vec::with_capacity(strategy.segments.len());
            for name in &strategy.segments {
                match self.segment_ids.get(name) {
                    Some(id) if !segments.contains(id) => segments.push(*id),
                    Some(_) => {}
                    None => {
                        return refuse(
                            &place,
                            format!(
                                "segment \"{name}\" does not exist (list it under `segments:` or create it first)"
                            ),
                        )
                    }
                }
            }
            let mut built = Strategy {
                id: None,
                name: strategy.name.as_str().into(),
                title: strategy.title.clone(),
                constraints: strategy
                    .constraints
                    .iter()
                    .map(convert::constraint)
                    .collect(),
                parameters: strategy
                    .parameters
                    .iter()
                    .map(|(name, value)| (name.as_str().into(), value.as_str().into()))
                    .collect(),
                variants: strategy.variants.iter().map(convert::variant).collect(),
                segments,
                disabled: Some(strategy.disabled),
                sort_order: None,
            };
            strategies::normalize(flag, &mut built).map_err(at(&place))?;
            strategies.push(built);
        }
        let mut variants: Vec<Variant> = variants.iter().map(convert::variant).collect();
        features::prepare_variants(&mut variants, flag).map_err(at(place))?;
        Ok(FeatureEnvironment {
            enabled: spec.enabled,
            strategies,
            variants,
        })
    }
}

/// A strategy compared without its id and sort order (which the file does not carry).
fn same_strategy(current: &Strategy, wanted: &Strategy) -> bool {
    let strip = |s: &Strategy| Strategy {
        id: None,
        sort_order: None,
        disabled: Some(s.disabled == Some(true)),
        ..s.clone()
    };
    strip(current) == strip(wanted)
}

/// Makes `state` what `wanted` says, keeping the ids of strategies that stay (so that the
/// history records edits as edits). Returns the plan's detail lines for strategy changes.
fn merge_environment(
    environment: &str,
    state: &mut FeatureEnvironment,
    wanted: FeatureEnvironment,
    names: &SegmentNames,
) -> Vec<String> {
    let mut details = Vec::new();
    let current: Vec<Strategy> = convert::ordered(&state.strategies)
        .into_iter()
        .cloned()
        .collect();
    let path = format!("environments.{environment}.strategies");
    let describe =
        |s: &Strategy| serde_json::to_string(&convert::strategy_spec(s, names)).unwrap_or_default();

    // Identical strategies are kept as they are; the rest pair up in order (an edit), and what
    // is left over is added or removed.
    let mut kept: Vec<Option<usize>> = vec![None; wanted.strategies.len()];
    let mut taken = vec![false; current.len()];
    for (index, strategy) in wanted.strategies.iter().enumerate() {
        if let Some(position) =
            (0..current.len()).find(|&i| !taken[i] && same_strategy(&current[i], strategy))
        {
            kept[index] = Some(position);
            taken[position] = true;
        }
    }
    let mut spare = (0..current.len()).filter(|i| !taken[*i]);
    let mut result: Vec<(Strategy, Option<&Strategy>)> = Vec::new();
    for (index, strategy) in wanted.strategies.iter().enumerate() {
        match kept[index] {
            Some(position) => result.push((current[position].clone(), Some(&current[position]))),
            None => match spare.next() {
                Some(position) => {
                    let old = &current[position];
                    let mut updated = strategy.clone();
                    updated.id = old.id.clone();
                    updated.sort_order = old.sort_order;
                    let before = json(convert::strategy_spec(old, names));
                    let after = json(convert::strategy_spec(&updated, names));
                    let mut lines = diff_values(&before, &after);
                    if lines.is_empty() {
                        lines.push("stored form normalised".into());
                    }
                    for line in lines {
                        details.push(prefixed(&format!("{path}[{index}]"), &line));
                    }
                    result.push((updated, Some(old)));
                }
                None => {
                    let mut added = strategy.clone();
                    added.id = Some(ulid::Ulid::new().to_string().into());
                    details.push(format!("+ {path}[{index}]: {}", describe(&added)));
                    result.push((added, None));
                }
            },
        }
    }
    for position in spare {
        let old = &current[position];
        details.push(format!("- {path}[{position}]: {}", describe(old)));
    }

    // Sort orders: kept ones stay when that still gives the file's order, else all renumber.
    let candidate: Vec<i64> = result
        .iter()
        .enumerate()
        .map(|(index, (s, _))| match s.sort_order {
            Some(order) if kept[index].is_some() => order,
            _ => index as i64,
        })
        .collect();
    let increasing = candidate.windows(2).all(|pair| pair[0] < pair[1]);
    let mut reordered = false;
    for (index, (strategy, old)) in result.iter_mut().enumerate() {
        strategy.sort_order = Some(if increasing {
            candidate[index]
        } else {
            index as i64
        });
        if kept[index].is_some() && old.is_some_and(|old| old != &*strategy) {
            reordered = true;
        }
    }
    if reordered {
        details.push(format!("{path}: reordered"));
    }
    state.strategies = result.into_iter().map(|(s, _)| s).collect();

    state.variants = wanted.variants;
    state.enabled = wanted.enabled;
    details
}
