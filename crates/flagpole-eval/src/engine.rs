//! The compiled flags of one snapshot and their evaluation for a context: whether a flag is
//! enabled (dependencies, then the flag's switch, then the first matching strategy) and which
//! variant it gives. Evaluation borrows from the engine and allocates nothing on the hot path.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::context::Context;
use crate::strategies::CompiledStrategy;
use crate::variants::VariantSet;
use crate::wire::{CompactString, Payload};

/// A compiled set of flags (one snapshot of one environment), ready to evaluate many times.
/// Build it with [`Engine::compile`] / [`crate::compile`].
#[derive(Debug, Clone, Default)]
pub struct Engine {
    /// In the order of the snapshot, for stable listings.
    pub(crate) features: Vec<CompiledFeature>,
    pub(crate) index: NameIndex,
    pub(crate) warnings: Vec<String>,
}

/// Flag positions by name. The names live in the flags; a map keyed by name would keep a
/// second copy of every one.
#[derive(Clone, Default)]
pub(crate) struct NameIndex {
    positions: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl NameIndex {
    /// Indexes flags whose names are unique.
    pub fn new(features: &[CompiledFeature]) -> NameIndex {
        let hasher = DefaultHashBuilder::default();
        let mut positions = HashTable::with_capacity(features.len());
        let name_hash =
            |position: &u32| hasher.hash_one(features[*position as usize].name.as_str());
        for position in 0..features.len() {
            let position = position as u32;
            positions.insert_unique(name_hash(&position), position, name_hash);
        }
        NameIndex { positions, hasher }
    }

    pub fn get(&self, features: &[CompiledFeature], name: &str) -> Option<usize> {
        self.positions
            .find(self.hasher.hash_one(name), |&position| {
                features[position as usize].name == name
            })
            .map(|&position| position as usize)
    }
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameIndex")
            .field("len", &self.positions.len())
            .finish()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledFeature {
    pub name: CompactString,
    /// Shared by the flags of one project: most engines hold thousands of flags and a handful
    /// of projects.
    pub project: Option<Arc<str>>,
    pub enabled: bool,
    pub impression_data: bool,
    pub strategies: Vec<CompiledStrategy>,
    /// Boxed: most flags have none, and an empty slot would take the set's full size.
    pub variants: Option<Box<VariantSet>>,
    pub dependencies: Vec<CompiledDependency>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledDependency {
    /// `None` when the parent cannot satisfy: missing, or with parents of its own.
    pub parent: Option<usize>,
    pub requirement: Requirement,
}

#[derive(Debug, Clone)]
pub(crate) enum Requirement {
    Enabled,
    Disabled,
    /// Enabled, with one of these variants.
    Variants(Vec<String>),
}

const DISABLED: &str = "disabled";

/// The variant an SDK reports (`getVariant`): Unleash's `disabled` variant when the flag is off
/// or has no variants. Serialises as the client specification states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantResult {
    pub name: String,
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload>,
    pub feature_enabled: bool,
}

/// A variant as [`Engine::evaluate_all`] reports it, borrowed from the engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariantRef<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub payload: Option<&'a Payload>,
    pub feature_enabled: bool,
}

impl VariantRef<'_> {
    fn disabled(feature_enabled: bool) -> Self {
        VariantRef {
            name: DISABLED,
            enabled: false,
            payload: None,
            feature_enabled,
        }
    }

    pub fn to_owned_result(&self) -> VariantResult {
        VariantResult {
            name: self.name.to_owned(),
            enabled: self.enabled,
            payload: self.payload.cloned(),
            feature_enabled: self.feature_enabled,
        }
    }
}

/// One flag evaluated for one context, as the Frontend API reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation<'a> {
    pub name: &'a str,
    pub project: Option<&'a str>,
    pub enabled: bool,
    pub impression_data: bool,
    pub variant: VariantRef<'a>,
}

impl Engine {
    /// Compiles flags and segments once. Parts that cannot be compiled fail closed and are
    /// listed in [`Engine::warnings`].
    pub fn compile(state: &crate::wire::ClientFeatures) -> Engine {
        crate::compile::compile(state)
    }

    /// What could not be compiled (and so evaluates to false).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.get(&self.features, name).is_some()
    }

    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// `isEnabled`: false for a flag that does not exist. `now` is used by date constraints
    /// when the context has no `currentTime`.
    pub fn is_enabled(&self, name: &str, context: &Context, now: DateTime<Utc>) -> bool {
        self.feature(name)
            .is_some_and(|feature| self.decide(feature, context, now).is_some())
    }

    /// `getVariant`: the `disabled` variant (with `feature_enabled` false) for a missing flag.
    pub fn get_variant(&self, name: &str, context: &Context, now: DateTime<Utc>) -> VariantResult {
        match self.feature(name) {
            Some(feature) => self.variant_of(feature, context, now).to_owned_result(),
            None => VariantRef::disabled(false).to_owned_result(),
        }
    }

    /// One flag with its variant, or `None` when the flag does not exist.
    pub fn evaluate<'a>(
        &'a self,
        name: &str,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Option<Evaluation<'a>> {
        self.feature(name)
            .map(|feature| self.evaluation(feature, context, now))
    }

    /// Every flag for one context, in snapshot order.
    pub fn evaluate_all<'a>(
        &'a self,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Vec<Evaluation<'a>> {
        self.evaluations(context, now).collect()
    }

    /// Every flag for one context, in snapshot order, evaluated as the iterator is advanced: a
    /// response can be written without holding all evaluations at once.
    pub fn evaluations<'a, 'c>(
        &'a self,
        context: &'c Context,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = Evaluation<'a>> + use<'a, 'c> {
        self.features
            .iter()
            .map(move |feature| self.evaluation(feature, context, now))
    }

    /// The flag at `position` in snapshot order, evaluated; `None` past the end. Lets a caller
    /// that cannot hold a borrowing iterator (a response body written in pieces) walk the flags.
    pub fn evaluate_at<'a>(
        &'a self,
        position: usize,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Option<Evaluation<'a>> {
        self.features
            .get(position)
            .map(|feature| self.evaluation(feature, context, now))
    }

    fn feature(&self, name: &str) -> Option<&CompiledFeature> {
        self.index
            .get(&self.features, name)
            .map(|position| &self.features[position])
    }

    fn evaluation<'a>(
        &'a self,
        feature: &'a CompiledFeature,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Evaluation<'a> {
        let variant = self.variant_of(feature, context, now);
        Evaluation {
            name: &feature.name,
            project: feature.project.as_deref(),
            enabled: variant.feature_enabled,
            impression_data: feature.impression_data,
            variant,
        }
    }

    fn variant_of<'a>(
        &'a self,
        feature: &'a CompiledFeature,
        context: &Context,
        now: DateTime<Utc>,
    ) -> VariantRef<'a> {
        let Some(strategy_variants) = self.decide(feature, context, now) else {
            return VariantRef::disabled(false);
        };
        // The matching strategy's variants win over the flag's.
        strategy_variants
            .or(feature.variants.as_deref())
            .and_then(|variants| variants.select(context))
            .map_or(VariantRef::disabled(true), |variant| VariantRef {
                name: &variant.name,
                enabled: true,
                payload: variant.payload.as_ref(),
                feature_enabled: true,
            })
    }

    /// `None` when the flag is off for this context; otherwise the variants of the strategy that
    /// turned it on, if that strategy has any.
    fn decide<'a>(
        &'a self,
        feature: &'a CompiledFeature,
        context: &Context,
        now: DateTime<Utc>,
    ) -> Option<Option<&'a VariantSet>> {
        if !feature.enabled || !self.parents_satisfied(feature, context, now) {
            return None;
        }
        if feature.strategies.is_empty() {
            return Some(None);
        }
        feature
            .strategies
            .iter()
            .find(|strategy| strategy.is_enabled(context, now))
            .map(|strategy| strategy.variants.as_deref())
    }

    fn parents_satisfied(
        &self,
        feature: &CompiledFeature,
        context: &Context,
        now: DateTime<Utc>,
    ) -> bool {
        feature.dependencies.iter().all(|dependency| {
            let Some(parent) = dependency.parent.map(|i| &self.features[i]) else {
                return false;
            };
            match &dependency.requirement {
                Requirement::Enabled => self.decide(parent, context, now).is_some(),
                Requirement::Disabled => self.decide(parent, context, now).is_none(),
                Requirement::Variants(wanted) => {
                    let variant = self.variant_of(parent, context, now);
                    variant.feature_enabled && wanted.iter().any(|w| w == variant.name)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine(json: &str) -> Engine {
        Engine::compile(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn evaluate_all_lists_every_flag_in_order_with_its_variant() {
        let engine = engine(
            r#"{"version":2,"features":[
                {"name":"b","enabled":true,"impressionData":true,"project":"p","strategies":[],
                 "variants":[{"name":"only","weight":1,"payload":{"type":"string","value":"x"}}]},
                {"name":"a","enabled":false,"strategies":[]}]}"#,
        );
        let all = engine.evaluate_all(&Context::default(), Utc::now());
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].name, all[0].enabled, all[0].impression_data),
            ("b", true, true)
        );
        assert_eq!(all[0].project, Some("p"));
        assert_eq!(all[0].variant.name, "only");
        assert_eq!(all[0].variant.payload.map(|p| p.value.as_str()), Some("x"));
        assert_eq!((all[1].name, all[1].enabled), ("a", false));
        assert_eq!(all[1].variant, VariantRef::disabled(false));
        assert_eq!(
            engine.evaluate("b", &Context::default(), Utc::now()),
            Some(all[0])
        );
    }

    #[test]
    fn duplicates_keep_the_last_and_unknown_parts_warn() {
        let engine = engine(
            r#"{"version":2,"features":[
                {"name":"x","enabled":false},
                {"name":"x","enabled":true,"strategies":[{"name":"nope"}]},
                {"name":"y","enabled":true,"dependencies":[{"feature":"missing"}]}]}"#,
        );
        assert_eq!(engine.len(), 2);
        assert!(!engine.is_enabled("x", &Context::default(), Utc::now()));
        assert!(!engine.is_enabled("y", &Context::default(), Utc::now()));
        assert_eq!(engine.warnings().len(), 3, "{:?}", engine.warnings());
    }

    #[test]
    fn missing_flags_are_off_with_the_disabled_variant() {
        let engine = Engine::default();
        assert!(!engine.is_enabled("nope", &Context::default(), Utc::now()));
        let variant = engine.get_variant("nope", &Context::default(), Utc::now());
        assert_eq!(
            (
                variant.name.as_str(),
                variant.enabled,
                variant.feature_enabled
            ),
            ("disabled", false, false)
        );
    }
}
