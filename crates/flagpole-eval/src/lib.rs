//! Flagpole's flag model and evaluation engine.
//!
//! Pure Rust with no I/O: the server hands it flags and a context, it answers. Nothing in this
//! crate reads a clock, a file, the network or a database; callers pass the current time in.
//!
//! ```
//! use flagpole_eval::{Context, Engine, wire::ClientFeatures};
//! let state: ClientFeatures = serde_json::from_str(r#"{"version":2,"features":[
//!     {"name":"demo","enabled":true,"strategies":[{"name":"default"}]}]}"#).unwrap();
//! let engine = Engine::compile(&state);
//! assert!(engine.is_enabled("demo", &Context::default(), chrono::Utc::now()));
//! ```

mod constraints;
mod context;
mod hashing;
mod strategies;
mod variants;
pub mod wire;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

pub use context::Context;
use strategies::CompiledStrategy;
use wire::{ClientFeatures, Dependency, Payload, Variant};

/// The version of the Unleash client specification this engine passes in full.
pub const SUPPORTED_SPEC_VERSION: &str = "6.1.0";

/// The variant an SDK reports: `disabled` when the flag is off or has no variants.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VariantResult {
    pub name: String,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    pub feature_enabled: bool,
}

impl VariantResult {
    fn disabled(feature_enabled: bool) -> VariantResult {
        VariantResult {
            name: "disabled".into(),
            enabled: false,
            payload: None,
            feature_enabled,
        }
    }
}

/// One flag evaluated for one context, as the Frontend API reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation<'a> {
    pub name: &'a str,
    pub project: Option<&'a str>,
    pub enabled: bool,
    pub impression_data: bool,
    pub variant: VariantResult,
}

#[derive(Debug, Clone)]
struct CompiledFeature {
    name: String,
    project: Option<String>,
    enabled: bool,
    impression_data: bool,
    strategies: Vec<CompiledStrategy>,
    variants: Vec<Variant>,
    dependencies: Vec<Dependency>,
}

/// A compiled set of flags, ready to evaluate many times.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    features: HashMap<String, CompiledFeature>,
    /// Flag names in the order they were given, for stable listings.
    order: Vec<String>,
    warnings: Vec<String>,
}

/// What evaluating a flag's strategies decided.
struct Outcome<'a> {
    enabled: bool,
    /// The strategy that matched, when it has variants of its own.
    strategy: Option<&'a CompiledStrategy>,
}

impl Engine {
    /// Compiles flags and segments once. Parts that cannot be compiled fail closed and are
    /// listed in `warnings`.
    pub fn compile(state: &ClientFeatures) -> Engine {
        let segments: BTreeMap<i64, &wire::Segment> = state
            .segments
            .iter()
            .flatten()
            .map(|segment| (segment.id, segment))
            .collect();
        let mut warnings = Vec::new();
        let mut features = HashMap::with_capacity(state.features.len());
        let mut order = Vec::with_capacity(state.features.len());
        for feature in &state.features {
            let strategies = feature
                .strategies
                .iter()
                .filter(|s| s.disabled != Some(true))
                .map(|s| strategies::compile(s, &feature.name, &segments, &mut warnings))
                .collect();
            order.push(feature.name.clone());
            features.insert(
                feature.name.clone(),
                CompiledFeature {
                    name: feature.name.clone(),
                    project: feature.project.clone(),
                    enabled: feature.enabled,
                    impression_data: feature.impression_data,
                    strategies,
                    variants: feature.variants.clone(),
                    dependencies: feature.dependencies.clone(),
                },
            );
        }
        Engine {
            features,
            order,
            warnings,
        }
    }

    /// What could not be compiled (and so evaluates to false).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn contains(&self, name: &str) -> bool {
        self.features.contains_key(name)
    }

    pub fn is_enabled(&self, name: &str, context: &Context, now: DateTime<Utc>) -> bool {
        self.features
            .get(name)
            .is_some_and(|feature| self.outcome(feature, context, now).enabled)
    }

    pub fn get_variant(&self, name: &str, context: &Context, now: DateTime<Utc>) -> VariantResult {
        match self.features.get(name) {
            Some(feature) => self.variant_of(feature, context, now).1,
            None => VariantResult::disabled(false),
        }
    }

    /// Every flag for one context, in the order they were compiled.
    pub fn evaluate_all<'a>(
        &'a self,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Vec<Evaluation<'a>> {
        self.order
            .iter()
            .filter_map(|name| self.features.get(name))
            .map(|feature| {
                let (enabled, variant) = self.variant_of(feature, context, now);
                Evaluation {
                    name: &feature.name,
                    project: feature.project.as_deref(),
                    enabled,
                    impression_data: feature.impression_data,
                    variant,
                }
            })
            .collect()
    }

    fn variant_of(
        &self,
        feature: &CompiledFeature,
        context: &Context,
        now: DateTime<Utc>,
    ) -> (bool, VariantResult) {
        let outcome = self.outcome(feature, context, now);
        if !outcome.enabled {
            return (false, VariantResult::disabled(false));
        }
        let chosen = match outcome.strategy {
            Some(strategy) => {
                let stickiness = strategy.variants[0]
                    .stickiness
                    .as_deref()
                    .or(strategy.stickiness.as_deref());
                variants::select(&strategy.variants, &strategy.group_id, stickiness, context)
            }
            None => variants::select(
                &feature.variants,
                &feature.name,
                feature
                    .variants
                    .first()
                    .and_then(|v| v.stickiness.as_deref()),
                context,
            ),
        };
        let result = match chosen {
            Some(variant) => VariantResult {
                name: variant.name.clone(),
                enabled: true,
                payload: variant.payload.clone(),
                feature_enabled: true,
            },
            None => VariantResult::disabled(true),
        };
        (true, result)
    }

    fn outcome<'a>(
        &'a self,
        feature: &'a CompiledFeature,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Outcome<'a> {
        let off = Outcome {
            enabled: false,
            strategy: None,
        };
        if !self.parents_satisfied(feature, context, now) || !feature.enabled {
            return off;
        }
        if feature.strategies.is_empty() {
            return Outcome {
                enabled: true,
                strategy: None,
            };
        }
        feature
            .strategies
            .iter()
            .find(|strategy| strategy.is_enabled(context, now))
            .map_or(off, |strategy| Outcome {
                enabled: true,
                strategy: (!strategy.variants.is_empty()
                    && strategy.variants.iter().any(|v| v.weight > 0))
                .then_some(strategy),
            })
    }

    /// Dependencies are one level deep: a parent that has parents of its own never satisfies.
    fn parents_satisfied(
        &self,
        feature: &CompiledFeature,
        context: &Context,
        now: DateTime<Utc>,
    ) -> bool {
        feature.dependencies.iter().all(|dependency| {
            let Some(parent) = self.features.get(&dependency.feature) else {
                return false;
            };
            if !parent.dependencies.is_empty() {
                return false;
            }
            if dependency.enabled == Some(false) {
                return !self.outcome(parent, context, now).enabled;
            }
            match dependency.variants.as_deref() {
                Some(wanted) if !wanted.is_empty() => {
                    let (enabled, variant) = self.variant_of(parent, context, now);
                    enabled && wanted.contains(&variant.name)
                }
                _ => self.outcome(parent, context, now).enabled,
            }
        })
    }
}
