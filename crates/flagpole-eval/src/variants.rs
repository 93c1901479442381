//! Choosing a variant: overrides first, then a sticky hash over the weights.

use rand::Rng;

use crate::context::Context;
use crate::hashing::variant_position;
use crate::wire::Variant;

/// The value that keeps a user on the same variant: `default` means the first of userId,
/// sessionId and remoteAddress that is set; a missing value falls back to a random one.
fn seed(context: &Context, stickiness: Option<&str>) -> String {
    let random = || rand::rng().random_range(0..100_000u32).to_string();
    match stickiness {
        Some(field) if field != "default" => context
            .field(field)
            .map(str::to_owned)
            .unwrap_or_else(random),
        _ => [
            context.user_id.as_deref(),
            context.session_id.as_deref(),
            context.remote_address.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find(|value| !value.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(random),
    }
}

/// Picks a variant for `context`, or `None` when the variants have no weight.
pub fn select<'a>(
    variants: &'a [Variant],
    group_id: &str,
    stickiness: Option<&str>,
    context: &Context,
) -> Option<&'a Variant> {
    let total: u32 = variants.iter().map(|v| v.weight).sum();
    if total == 0 {
        return None;
    }
    let overridden = variants.iter().find(|variant| {
        variant.overrides.iter().any(|o| {
            context
                .field(&o.context_name)
                .is_some_and(|value| o.values.iter().any(|v| v == value))
        })
    });
    if overridden.is_some() {
        return overridden;
    }
    let target = variant_position(group_id, &seed(context, stickiness), total);
    let mut counter = 0;
    variants.iter().find(|variant| {
        if variant.weight == 0 {
            return false;
        }
        counter += variant.weight;
        counter >= target
    })
}
