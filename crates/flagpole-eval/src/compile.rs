//! Turning a Client API snapshot into an [`Engine`]: done once per snapshot so that evaluation
//! only compares. Segments are inlined into the strategies that use them, disabled strategies
//! are dropped, flag dependencies are resolved to indices, and anything that cannot be compiled
//! fails closed with a warning.

use std::collections::{BTreeMap, HashMap};

use crate::engine::{CompiledDependency, CompiledFeature, Engine, Requirement};
use crate::strategies;
use crate::variants::VariantSet;
use crate::wire::{ClientFeature, ClientFeatures, Segment};

pub fn compile(state: &ClientFeatures) -> Engine {
    let segments: BTreeMap<i64, &Segment> = state
        .segments
        .iter()
        .flatten()
        .map(|segment| (segment.id, segment))
        .collect();
    let mut warnings = Vec::new();
    // A later duplicate name wins, as it would in an SDK's map; the earlier one is dropped.
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(state.features.len());
    for (position, feature) in state.features.iter().enumerate() {
        if last.insert(&feature.name, position).is_some() {
            warnings.push(format!("flag {} is listed more than once", feature.name));
        }
    }
    let kept: Vec<&ClientFeature> = state
        .features
        .iter()
        .enumerate()
        .filter(|(position, feature)| last.get(feature.name.as_str()) == Some(position))
        .map(|(_, feature)| feature)
        .collect();
    let index: HashMap<String, usize> = kept
        .iter()
        .enumerate()
        .map(|(position, feature)| (feature.name.clone(), position))
        .collect();
    let features = kept
        .iter()
        .map(|feature| {
            let dependencies = feature
                .dependencies
                .iter()
                .map(|dependency| {
                    // Dependencies are one level deep: a parent with parents of its own, or one
                    // that is not in the snapshot, never satisfies.
                    let parent = index
                        .get(&dependency.feature)
                        .copied()
                        .filter(|&parent| kept[parent].dependencies.is_empty());
                    if parent.is_none() {
                        warnings.push(format!(
                            "flag {}: parent {} is missing or has parents of its own",
                            feature.name, dependency.feature
                        ));
                    }
                    let requirement = match (&dependency.enabled, &dependency.variants) {
                        (Some(false), _) => Requirement::Disabled,
                        (_, Some(variants)) if !variants.is_empty() => {
                            Requirement::Variants(variants.clone())
                        }
                        _ => Requirement::Enabled,
                    };
                    CompiledDependency {
                        parent,
                        requirement,
                    }
                })
                .collect();
            CompiledFeature {
                name: feature.name.clone(),
                project: feature.project.clone(),
                enabled: feature.enabled,
                impression_data: feature.impression_data,
                strategies: feature
                    .strategies
                    .iter()
                    .filter(|s| s.disabled != Some(true))
                    .map(|s| strategies::compile(s, &feature.name, &segments, &mut warnings))
                    .collect(),
                variants: VariantSet::for_flag(&feature.name, &feature.variants),
                dependencies,
            }
        })
        .collect();
    Engine {
        features,
        index,
        warnings,
    }
}
