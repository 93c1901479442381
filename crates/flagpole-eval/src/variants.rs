//! Choosing a variant, for a flag's variants or a strategy's: overrides first, then a sticky
//! hash of the stickiness value over the total weight, as the Node SDK does it.

use crate::context::Context;
use crate::hashing::{random_up_to, Group};
use crate::strategies::Stickiness;
use crate::wire::Variant;

/// Variants compiled for selection: the total weight and hashing parameters are fixed once.
#[derive(Debug, Clone)]
pub struct VariantSet {
    variants: Vec<Variant>,
    total_weight: u32,
    group: Group,
    stickiness: Stickiness,
    has_overrides: bool,
}

impl VariantSet {
    /// `None` when there is nothing to choose from: no variants, or none with weight.
    pub fn new(variants: &[Variant], group_id: &str, stickiness: Stickiness) -> Option<Self> {
        let total_weight = variants
            .iter()
            .fold(0u32, |sum, v| sum.saturating_add(v.weight));
        (total_weight > 0).then(|| VariantSet {
            variants: variants.to_vec(),
            total_weight,
            group: Group::variant(group_id),
            stickiness,
            has_overrides: variants.iter().any(|v| !v.overrides.is_empty()),
        })
    }

    /// A flag's own variants: grouped by flag name, sticky on the first variant's stickiness.
    pub fn for_flag(name: &str, variants: &[Variant]) -> Option<Self> {
        let stickiness = Stickiness::parse(variants.first().and_then(|v| v.stickiness.as_deref()));
        VariantSet::new(variants, name, stickiness)
    }

    pub fn select(&self, context: &Context) -> Option<&Variant> {
        if self.has_overrides {
            let overridden = self.variants.iter().find(|variant| {
                variant.overrides.iter().any(|o| {
                    context
                        .field(&o.context_name)
                        .is_some_and(|value| o.values.iter().any(|v| v == value))
                })
            });
            if overridden.is_some() {
                return overridden;
            }
        }
        let target = match self.seed(context) {
            Some(seed) => self.group.position(seed, self.total_weight),
            // No stickiness value: the Node SDK hashes a random number, which is a random pick.
            None => random_up_to(self.total_weight),
        };
        let mut counter = 0u32;
        self.variants.iter().find(|variant| {
            if variant.weight == 0 {
                return false;
            }
            counter = counter.saturating_add(variant.weight);
            counter >= target
        })
    }

    /// The value that keeps a user on the same variant: `default` is the first of userId,
    /// sessionId and remoteAddress that is set.
    fn seed<'c>(&self, context: &'c Context) -> Option<&'c str> {
        match &self.stickiness {
            Stickiness::Default => [
                &context.user_id,
                &context.session_id,
                &context.remote_address,
            ]
            .into_iter()
            .flatten()
            .find(|value| !value.is_empty())
            .map(String::as_str),
            Stickiness::Random => None,
            Stickiness::Field(field) => field.get(context).filter(|value| !value.is_empty()),
        }
    }
}
