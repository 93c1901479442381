//! Input rules shared by every endpoint, with Unleash's wording where Unleash has one.
//! Limits are documented in docs/security.md; a request that breaks one gets 400 and changes
//! nothing.

use flagpole_eval::wire::{CompactString, Constraint, Operator, Strategy, Variant};

use crate::error::{ApiError, ApiResult};

pub const MAX_NAME_LENGTH: usize = 100;
pub const MAX_DESCRIPTION_LENGTH: usize = 2_000;
pub const MAX_CONSTRAINT_VALUES: usize = 10_000;
pub const MAX_CONSTRAINT_VALUE_LENGTH: usize = 1_000;
pub const MAX_CONSTRAINTS: usize = 100;
pub const MAX_STRATEGIES: usize = 100;
pub const MAX_VARIANTS: usize = 100;
pub const MAX_PARAMETERS: usize = 100;
pub const MAX_TAGS: usize = 100;
pub const MAX_BULK: usize = 1_000;
/// Strategy parameter values hold lists such as `userIds`, so they may be long.
pub const MAX_PARAMETER_VALUE_LENGTH: usize = 100_000;
pub const MAX_SEGMENTS_PER_STRATEGY: usize = 100;
pub const MAX_PAYLOAD_LENGTH: usize = 100_000;
pub const MAX_OVERRIDES: usize = 100;

/// The feature types Unleash knows, with their expected lifetime in days.
pub const FEATURE_TYPES: [(&str, &str, &str, Option<i64>); 5] = [
    ("release", "Release", "Release feature toggles are used to release new features.", Some(40)),
    ("experiment", "Experiment", "Experiment feature toggles are used to test and verify multiple different versions of a feature.", Some(40)),
    ("operational", "Operational", "Operational feature toggles are used to control aspects of a rollout.", Some(7)),
    ("kill-switch", "Kill switch", "Kill switch feature toggles are used to quickly turn on or off critical functionality in your system.", None),
    ("permission", "Permission", "Permission feature toggles are used to control permissions in your system.", None),
];

/// A name that is safe in a URL path segment without escaping: the characters JavaScript's
/// `encodeURIComponent` leaves alone, as Unleash requires.
pub fn url_friendly_name(field: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() {
        return Err(ApiError::bad_data(format!(
            "\"{field}\" is not allowed to be empty"
        )));
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(ApiError::bad_data(format!(
            "\"{field}\" must be at most {MAX_NAME_LENGTH} characters long"
        )));
    }
    let friendly = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c));
    if !friendly || name == "." || name == ".." {
        return Err(ApiError::bad_data(format!(
            "\"{field}\" must be URL friendly. You provided \"{name}\"."
        )));
    }
    Ok(())
}

pub fn feature_type(feature_type: &str) -> ApiResult<()> {
    if FEATURE_TYPES.iter().any(|(id, ..)| *id == feature_type) {
        Ok(())
    } else {
        let known: Vec<&str> = FEATURE_TYPES.iter().map(|(id, ..)| *id).collect();
        Err(ApiError::bad_data(format!(
            "\"type\" must be one of {}. You provided \"{feature_type}\".",
            known.join(", ")
        )))
    }
}

pub fn description(description: Option<&str>) -> ApiResult<()> {
    match description {
        Some(text) if text.chars().count() > MAX_DESCRIPTION_LENGTH => Err(ApiError::bad_data(
            format!("\"description\" must be at most {MAX_DESCRIPTION_LENGTH} characters long"),
        )),
        _ => Ok(()),
    }
}

pub fn constraints(constraints: &[Constraint]) -> ApiResult<()> {
    if constraints.len() > MAX_CONSTRAINTS {
        return Err(ApiError::bad_data(format!(
            "at most {MAX_CONSTRAINTS} constraints are allowed"
        )));
    }
    constraints.iter().try_for_each(constraint)
}

pub fn constraint(constraint: &Constraint) -> ApiResult<()> {
    if constraint.context_name.trim().is_empty() {
        return Err(ApiError::bad_data(
            "\"contextName\" is not allowed to be empty",
        ));
    }
    if constraint.context_name.chars().count() > MAX_NAME_LENGTH {
        return Err(ApiError::bad_data(format!(
            "\"contextName\" must be at most {MAX_NAME_LENGTH} characters long"
        )));
    }
    if let Operator::Unknown(name) = &constraint.operator {
        let known: Vec<String> = Operator::KNOWN
            .iter()
            .map(|operator| format!("\"{operator}\""))
            .collect();
        return Err(ApiError::bad_data(format!(
            "The `operator` property must be equal to one of the allowed values: {}. You provided \"{name}\", which is not valid.",
            known.join(", ")
        )));
    }
    if constraint.values.len() > MAX_CONSTRAINT_VALUES {
        return Err(ApiError::bad_data(format!(
            "a constraint may have at most {MAX_CONSTRAINT_VALUES} values"
        )));
    }
    let too_long = constraint
        .values
        .iter()
        .map(CompactString::as_str)
        .chain(constraint.value.as_deref())
        .any(|value| value.len() > MAX_CONSTRAINT_VALUE_LENGTH);
    if too_long {
        return Err(ApiError::bad_data(format!(
            "constraint values must be at most {MAX_CONSTRAINT_VALUE_LENGTH} bytes long"
        )));
    }
    let operator = &constraint.operator;
    if operator.uses_single_value() {
        let value = constraint.value.as_deref().ok_or_else(|| {
            ApiError::bad_data(format!(
                "the {operator} operator compares against \"value\", which is missing"
            ))
        })?;
        if *operator == Operator::Regex && value.is_empty() {
            return Err(ApiError::bad_data(
                "the REGEX operator needs a regular expression in \"value\"",
            ));
        }
    }
    // Values are read by the engine that evaluates them (numbers, dates, versions, ranges,
    // regular expressions): whatever it could not use is refused here, in its own words, so
    // stored state and evaluation always agree.
    if let Some(problem) = flagpole_eval::constraint_problem(constraint) {
        return Err(ApiError::bad_data(problem));
    }
    Ok(())
}

pub fn strategy(strategy: &Strategy) -> ApiResult<()> {
    if strategy.name.trim().is_empty() {
        return Err(ApiError::bad_data("\"name\" is required for a strategy"));
    }
    if strategy.name.chars().count() > MAX_NAME_LENGTH {
        return Err(ApiError::bad_data(format!(
            "strategy \"name\" must be at most {MAX_NAME_LENGTH} characters long"
        )));
    }
    if strategy.parameters.len() > MAX_PARAMETERS {
        return Err(ApiError::bad_data(format!(
            "a strategy may have at most {MAX_PARAMETERS} parameters"
        )));
    }
    for (name, value) in &strategy.parameters {
        if name.chars().count() > MAX_NAME_LENGTH {
            return Err(ApiError::bad_data(format!(
                "parameter names must be at most {MAX_NAME_LENGTH} characters long"
            )));
        }
        if value.len() > MAX_PARAMETER_VALUE_LENGTH {
            return Err(ApiError::bad_data(format!(
                "parameter \"{name}\" must be at most {MAX_PARAMETER_VALUE_LENGTH} bytes long"
            )));
        }
    }
    if strategy.segments.len() > MAX_SEGMENTS_PER_STRATEGY {
        return Err(ApiError::bad_data(format!(
            "a strategy may use at most {MAX_SEGMENTS_PER_STRATEGY} segments"
        )));
    }
    if let Some(rollout) = strategy.parameters.get("rollout") {
        let valid = rollout
            .trim()
            .parse::<f64>()
            .is_ok_and(|percent| (0.0..=100.0).contains(&percent));
        if !valid {
            return Err(ApiError::bad_data(format!(
                "\"rollout\" must be a number from 0 to 100. You provided \"{rollout}\"."
            )));
        }
    }
    constraints(&strategy.constraints)?;
    variants(&strategy.variants)
}

pub fn variants(variants: &[Variant]) -> ApiResult<()> {
    if variants.len() > MAX_VARIANTS {
        return Err(ApiError::bad_data(format!(
            "at most {MAX_VARIANTS} variants are allowed"
        )));
    }
    let mut names = std::collections::BTreeSet::new();
    for variant in variants {
        if variant.name.trim().is_empty() {
            return Err(ApiError::bad_data("every variant needs a \"name\""));
        }
        url_friendly_name("name", &variant.name)?;
        if !names.insert(variant.name.as_str()) {
            return Err(ApiError::bad_data(format!(
                "variant names must be unique; \"{}\" appears twice",
                variant.name
            )));
        }
        if variant.weight > 1000 {
            return Err(ApiError::bad_data(format!(
                "variant \"{}\" has weight {}; weights are at most 1000",
                variant.name, variant.weight
            )));
        }
        if let Some(weight_type) = &variant.weight_type {
            if weight_type != "variable" && weight_type != "fix" {
                return Err(ApiError::bad_data(format!(
                    "\"weightType\" must be \"variable\" or \"fix\". You provided \"{weight_type}\"."
                )));
            }
        }
        if variant.name.chars().count() > MAX_NAME_LENGTH {
            return Err(ApiError::bad_data(format!(
                "variant names must be at most {MAX_NAME_LENGTH} characters long"
            )));
        }
        if variant.overrides.len() > MAX_OVERRIDES {
            return Err(ApiError::bad_data(format!(
                "variant \"{}\" may have at most {MAX_OVERRIDES} overrides",
                variant.name
            )));
        }
        for over in &variant.overrides {
            if over.values.len() > MAX_CONSTRAINT_VALUES
                || over
                    .values
                    .iter()
                    .any(|v| v.len() > MAX_CONSTRAINT_VALUE_LENGTH)
            {
                return Err(ApiError::bad_data(format!(
                    "an override may have at most {MAX_CONSTRAINT_VALUES} values, each at most \
                     {MAX_CONSTRAINT_VALUE_LENGTH} bytes long"
                )));
            }
        }
        if let Some(payload) = &variant.payload {
            if payload.value.len() > MAX_PAYLOAD_LENGTH {
                return Err(ApiError::bad_data(format!(
                    "the payload of variant \"{}\" must be at most {MAX_PAYLOAD_LENGTH} bytes long",
                    variant.name
                )));
            }
            if !["string", "json", "csv", "number"].contains(&payload.payload_type.as_str()) {
                return Err(ApiError::bad_data(format!(
                    "payload \"type\" must be string, json, csv or number. You provided \"{}\".",
                    payload.payload_type
                )));
            }
            if payload.payload_type == "json"
                && serde_json::from_str::<serde_json::Value>(&payload.value).is_err()
            {
                return Err(ApiError::bad_data(format!(
                    "the payload of variant \"{}\" is not valid JSON",
                    variant.name
                )));
            }
        }
    }
    Ok(())
}

/// Spreads 1000 weight points over the variants whose weight is not fixed, then orders the
/// variants by name, as Unleash does when it saves them: the first variable variants in the
/// order given take the points that do not divide evenly, and SDKs walk the saved order.
pub fn balance_variant_weights(variants: &mut [Variant]) -> ApiResult<()> {
    if variants.is_empty() {
        return Ok(());
    }
    let is_fixed = |variant: &Variant| variant.weight_type.as_deref() == Some("fix");
    let variable_count = variants.iter().filter(|v| !is_fixed(v)).count() as u32;
    if variable_count == 0 {
        return Err(ApiError::bad_data(
            "at least one variant must have a \"variable\" weight",
        ));
    }
    let fixed_total: u32 = variants
        .iter()
        .filter(|v| is_fixed(v))
        .map(|v| v.weight)
        .sum();
    if fixed_total > 1000 {
        return Err(ApiError::bad_data(
            "the fixed variant weights add up to more than 1000 (100%)",
        ));
    }
    let remaining = 1000 - fixed_total;
    let share = remaining / variable_count;
    let mut leftover = remaining % variable_count;
    for variant in variants.iter_mut().filter(|v| !is_fixed(v)) {
        variant.weight = share
            + if leftover > 0 {
                leftover -= 1;
                1
            } else {
                0
            };
        variant.weight_type = Some("variable".into());
    }
    variants.sort_by(|a, b| super::name_order::compare(&a.name, &b.name));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_url_friendly_and_short() {
        assert!(url_friendly_name("name", "Demo.flag_1-x~").is_ok());
        assert!(url_friendly_name("name", "bad name with spaces!").is_err());
        assert!(url_friendly_name("name", "a/b").is_err());
        assert!(url_friendly_name("name", "").is_err());
        assert!(url_friendly_name("name", &"x".repeat(101)).is_err());
        assert!(url_friendly_name("name", &"x".repeat(100)).is_ok());
    }

    fn constraint_with(operator: Operator, value: Option<&str>, values: &[&str]) -> Constraint {
        Constraint {
            context_name: "appVersion".into(),
            operator,
            values: values.iter().map(|v| (*v).into()).collect(),
            value: value.map(str::to_owned),
            case_insensitive: false,
            inverted: false,
        }
    }

    #[test]
    fn values_are_read_as_the_engine_reads_them() {
        let semver = |v: &str| constraint(&constraint_with(Operator::SemverEq, Some(v), &[]));
        assert!(semver("1.2.3").is_ok());
        assert!(semver("1.2.3-beta.1+build.5").is_ok());
        assert!(semver("1.2").is_err());
        assert!(semver("01.2.3").is_err());
        // A numeric pre-release identifier with a leading zero is not semver.
        assert!(semver("1.0.0-01").is_err());
        let cidr = |values: &[&str]| constraint(&constraint_with(Operator::InCidr, None, values));
        assert!(cidr(&["10.0.0.0/8", "2001:db8::/32", "192.168.1.1"]).is_ok());
        assert!(cidr(&["10.0.0.0/33"]).is_err());
        assert!(cidr(&["10.0.0.0/8", "nope"]).is_err());
        let number = |v: &str| constraint(&constraint_with(Operator::NumGt, Some(v), &[]));
        assert!(number(" 4.5 ").is_ok());
        assert!(number("NaN").is_err());
        let regex = |v: &str| constraint(&constraint_with(Operator::Regex, Some(v), &[]));
        assert!(regex("^a+$").is_ok());
        assert!(regex("(").is_err());
        assert!(regex("").is_err());
    }

    fn variant(name: &str, weight: u32, weight_type: Option<&str>) -> Variant {
        Variant {
            name: name.into(),
            weight,
            payload: None,
            stickiness: None,
            weight_type: weight_type.map(Into::into),
            overrides: vec![],
        }
    }

    #[test]
    fn variable_weights_share_what_fixed_ones_leave() {
        let mut variants = vec![
            variant("a", 0, Some("variable")),
            variant("b", 0, Some("variable")),
            variant("c", 100, Some("fix")),
        ];
        balance_variant_weights(&mut variants).unwrap();
        let weights: Vec<u32> = variants.iter().map(|v| v.weight).collect();
        assert_eq!(weights, vec![450, 450, 100]);
    }

    /// Unleash 8.2 gives `c` the odd point (first in the order given), then saves by name.
    #[test]
    fn leftover_points_go_by_the_order_given_and_the_result_by_name() {
        let mut variants = vec![
            variant("c", 0, None),
            variant("b", 0, None),
            variant("a", 0, None),
        ];
        balance_variant_weights(&mut variants).unwrap();
        let saved: Vec<(&str, u32)> = variants
            .iter()
            .map(|v| (v.name.as_str(), v.weight))
            .collect();
        assert_eq!(saved, vec![("a", 333), ("b", 333), ("c", 334)]);
    }

    #[test]
    fn only_fixed_weights_are_refused() {
        let mut variants = [
            variant("a", 500, Some("fix")),
            variant("b", 500, Some("fix")),
        ];
        assert!(balance_variant_weights(&mut variants).is_err());
    }
}
