//! Turning a Client API snapshot into an [`Engine`]: done once per snapshot so that evaluation
//! only compares. Segments are inlined into the strategies that use them, disabled strategies
//! are dropped, flag dependencies are resolved to indices, and anything that cannot be compiled
//! fails closed with a warning.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::engine::{CompiledDependency, CompiledFeature, Engine, NameIndex, Requirement};
use crate::strategies;
use crate::variants::VariantSet;
use crate::wire::{ClientFeature, ClientFeatures, Dependency, Segment, Strategy, Variant};

/// One flag as the engine needs it, borrowed from wherever the caller keeps its flags, so that
/// compiling a large snapshot does not first copy every flag into the Client API's shape.
#[derive(Debug, Clone)]
pub struct FeatureSource<'a> {
    pub name: &'a str,
    pub project: Option<&'a str>,
    pub enabled: bool,
    pub impression_data: bool,
    /// In evaluation order; disabled ones are skipped here.
    pub strategies: Vec<&'a Strategy>,
    pub variants: &'a [Variant],
    pub dependencies: &'a [Dependency],
}

impl<'a> FeatureSource<'a> {
    /// A flag of a Client API payload, whose strategies are already in order.
    pub fn of(feature: &'a ClientFeature) -> FeatureSource<'a> {
        FeatureSource {
            name: &feature.name,
            project: feature.project.as_deref(),
            enabled: feature.enabled,
            impression_data: feature.impression_data,
            strategies: feature.strategies.iter().collect(),
            variants: &feature.variants,
            dependencies: &feature.dependencies,
        }
    }
}

pub fn compile(state: &ClientFeatures) -> Engine {
    let features: Vec<FeatureSource<'_>> = state.features.iter().map(FeatureSource::of).collect();
    compile_sources(&features, state.segments.as_deref().unwrap_or_default())
}

pub fn compile_sources(sources: &[FeatureSource<'_>], segments: &[Segment]) -> Engine {
    let segments: BTreeMap<i64, &Segment> = segments
        .iter()
        .map(|segment| (segment.id, segment))
        .collect();
    let mut warnings = Vec::new();
    // A later duplicate name wins, as it would in an SDK's map; the earlier one is dropped.
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(sources.len());
    for (position, feature) in sources.iter().enumerate() {
        if last.insert(feature.name, position).is_some() {
            warnings.push(format!("flag {} is listed more than once", feature.name));
        }
    }
    let kept: Vec<&FeatureSource<'_>> = sources
        .iter()
        .enumerate()
        .filter(|(position, feature)| last.get(feature.name) == Some(position))
        .map(|(_, feature)| feature)
        .collect();
    let positions: HashMap<&str, usize> = kept
        .iter()
        .enumerate()
        .map(|(position, feature)| (feature.name, position))
        .collect();
    let mut projects: HashMap<&str, Arc<str>> = HashMap::new();
    let features: Vec<CompiledFeature> = kept
        .iter()
        .map(|feature| {
            let dependencies = feature
                .dependencies
                .iter()
                .map(|dependency| {
                    // Dependencies are one level deep: a parent with parents of its own, or one
                    // that is not in the snapshot, never satisfies.
                    let parent = positions
                        .get(dependency.feature.as_str())
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
            let mut compiled_strategies: Vec<_> = feature
                .strategies
                .iter()
                .filter(|s| s.disabled != Some(true))
                .map(|s| strategies::compile(s, feature.name, &segments, &mut warnings))
                .collect();
            // A filtered collect keeps room for four; an engine holds every flag's strategies.
            compiled_strategies.shrink_to_fit();
            CompiledFeature {
                name: feature.name.into(),
                project: feature.project.map(|project| {
                    Arc::clone(projects.entry(project).or_insert_with(|| project.into()))
                }),
                enabled: feature.enabled,
                impression_data: feature.impression_data,
                strategies: compiled_strategies,
                variants: VariantSet::for_flag(feature.name, feature.variants).map(Box::new),
                dependencies,
            }
        })
        .collect();
    Engine {
        index: NameIndex::new(&features),
        features,
        warnings,
    }
}
