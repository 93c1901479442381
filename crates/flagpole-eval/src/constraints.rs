//! Constraints, compiled once: field names are resolved and values parsed (numbers, dates,
//! versions, regexes, CIDRs) when a snapshot is compiled, so evaluation only compares. A value
//! that cannot be parsed, or an unknown operator, makes the constraint false whatever `inverted`
//! says (fail closed) and is reported as a warning. Otherwise `inverted` negates the outcome,
//! also when the context lacks the field, as the SDKs do.

use std::collections::HashSet;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use regex::Regex;
use semver::Version;

use crate::context::{parse_time, Context, Field};
use crate::wire::{CompactString, Constraint, Operator};

#[derive(Debug, Clone)]
pub struct CompiledConstraint {
    field: Field,
    inverted: bool,
    check: Check,
}

#[derive(Debug, Clone)]
enum Check {
    /// `IN` (`NOT_IN` is an inverted `IN`).
    In(ValueSet),
    Text {
        operator: TextOperator,
        /// Lower-cased when `case_insensitive`.
        values: Vec<CompactString>,
        case_insensitive: bool,
    },
    Number(Comparison, f64),
    Date(Comparison, DateTime<Utc>),
    Semver(Comparison, Version),
    Regex(Regex),
    Cidr(Vec<IpNet>),
    /// The constraint could not be compiled, or refers to a segment that does not exist.
    Never,
}

/// Exact-match values: a linear scan beats hashing for the short lists most flags have.
#[derive(Debug, Clone)]
enum ValueSet {
    Few(Vec<CompactString>),
    Many(HashSet<CompactString>),
}

impl ValueSet {
    fn new(values: &[CompactString]) -> ValueSet {
        if values.len() <= 16 {
            ValueSet::Few(values.to_vec())
        } else {
            ValueSet::Many(values.iter().cloned().collect())
        }
    }

    fn contains(&self, value: &str) -> bool {
        match self {
            ValueSet::Few(values) => values.iter().any(|v| v == value),
            ValueSet::Many(values) => values.contains(value),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum TextOperator {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, Copy)]
enum Comparison {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Comparison {
    fn of(operator: &Operator) -> Comparison {
        match operator {
            Operator::NumEq | Operator::SemverEq => Comparison::Eq,
            Operator::NumGt | Operator::SemverGt | Operator::DateAfter => Comparison::Gt,
            Operator::NumGte | Operator::SemverGte => Comparison::Gte,
            Operator::NumLt | Operator::SemverLt | Operator::DateBefore => Comparison::Lt,
            _ => Comparison::Lte,
        }
    }

    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        match self {
            Comparison::Eq => ordering.is_eq(),
            Comparison::Gt => ordering.is_gt(),
            Comparison::Gte => ordering.is_ge(),
            Comparison::Lt => ordering.is_lt(),
            Comparison::Lte => ordering.is_le(),
        }
    }
}

/// A semantic version as the SDKs accept it: strict semver (so no leading `v`).
pub(crate) fn parse_version(text: &str) -> Option<Version> {
    Version::parse(text.trim()).ok()
}

/// An address or a range; a bare address is a range of one.
pub(crate) fn parse_range(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Numbers as JavaScript's `Number()` reads them for the usual cases: surrounding white space
/// is ignored; anything that is not a finite number is not a number.
fn parse_number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The single value of operators that compare against `value`, with `values[0]` as a fallback
/// for payloads that put it there.
fn single_value(constraint: &Constraint) -> Option<&str> {
    constraint
        .value
        .as_deref()
        .or_else(|| constraint.values.first().map(CompactString::as_str))
}

pub fn compile(constraint: &Constraint, warnings: &mut Vec<String>) -> CompiledConstraint {
    let (check, problem) = check_of(constraint);
    if let Some(problem) = problem {
        warnings.push(format!(
            "{}; {}",
            describe(constraint, &problem),
            problem.consequence()
        ));
    }
    CompiledConstraint {
        field: Field::parse(&constraint.context_name),
        // NOT_IN is compiled as IN, inverted.
        inverted: constraint.inverted != (constraint.operator == Operator::NotIn),
        check,
    }
}

/// Why a constraint cannot be used as written, if it cannot: the one reading of its values,
/// shared by evaluation (which warns and fails closed) and by the server (which refuses it).
pub fn problem(constraint: &Constraint) -> Option<String> {
    check_of(constraint)
        .1
        .map(|problem| describe(constraint, &problem))
}

/// What is wrong with a constraint's values.
enum Problem {
    /// The constraint can never match.
    Unusable(String),
    /// Some `IN_CIDR` values are not addresses or ranges; the others still apply.
    IgnoredRanges(String),
}

impl Problem {
    fn consequence(&self) -> &'static str {
        match self {
            Problem::Unusable(_) => "it never matches",
            Problem::IgnoredRanges(_) => "those values are ignored",
        }
    }
}

fn describe(constraint: &Constraint, problem: &Problem) -> String {
    let why = match problem {
        Problem::Unusable(why) | Problem::IgnoredRanges(why) => why,
    };
    format!(
        "constraint on {} ({}): {why}",
        constraint.context_name, constraint.operator
    )
}

/// The compiled check of a constraint, and what is wrong with it, if anything.
fn check_of(constraint: &Constraint) -> (Check, Option<Problem>) {
    let operator = &constraint.operator;
    let value = single_value(constraint);
    let unusable = |why: String| (Check::Never, Some(Problem::Unusable(why)));
    match operator {
        Operator::In | Operator::NotIn => (Check::In(ValueSet::new(&constraint.values)), None),
        Operator::StrContains | Operator::StrStartsWith | Operator::StrEndsWith => (
            Check::Text {
                operator: match operator {
                    Operator::StrContains => TextOperator::Contains,
                    Operator::StrStartsWith => TextOperator::StartsWith,
                    _ => TextOperator::EndsWith,
                },
                values: if constraint.case_insensitive {
                    constraint.values.iter().map(|v| v.to_lowercase()).collect()
                } else {
                    constraint.values.clone()
                },
                case_insensitive: constraint.case_insensitive,
            },
            None,
        ),
        Operator::NumEq
        | Operator::NumGt
        | Operator::NumGte
        | Operator::NumLt
        | Operator::NumLte => match value.and_then(parse_number) {
            Some(number) => (Check::Number(Comparison::of(operator), number), None),
            None => unusable(format!("{value:?} is not a number")),
        },
        Operator::DateAfter | Operator::DateBefore => match value.and_then(parse_time) {
            Some(date) => (Check::Date(Comparison::of(operator), date), None),
            None => unusable(format!("{value:?} is not an RFC 3339 date")),
        },
        Operator::SemverEq
        | Operator::SemverGt
        | Operator::SemverGte
        | Operator::SemverLt
        | Operator::SemverLte => match value.and_then(parse_version) {
            Some(version) => (Check::Semver(Comparison::of(operator), version), None),
            None => unusable(format!("{value:?} is not a semantic version")),
        },
        // RE2 semantics (linear time, no backreferences), bounded in size so that a hostile
        // pattern cannot make compilation expensive.
        Operator::Regex => match regex::RegexBuilder::new(value.unwrap_or_default())
            .case_insensitive(constraint.case_insensitive)
            .size_limit(1 << 20)
            .build()
        {
            Ok(regex) => (Check::Regex(regex), None),
            Err(error) => unusable(format!("invalid regular expression: {error}")),
        },
        Operator::InCidr => {
            let mut ranges = Vec::new();
            let mut invalid = Vec::new();
            for value in &constraint.values {
                match parse_range(value) {
                    Some(range) => ranges.push(range),
                    None => invalid.push(format!("{:?}", value.as_str())),
                }
            }
            let problem = (!invalid.is_empty()).then(|| {
                Problem::IgnoredRanges(format!(
                    "{} not an IP address or CIDR range",
                    if invalid.len() == 1 {
                        format!("{} is", invalid[0])
                    } else {
                        format!("{} are", invalid.join(", "))
                    }
                ))
            });
            (Check::Cidr(ranges), problem)
        }
        Operator::Unknown(name) => unusable(format!("unknown operator {name}")),
    }
}

/// A constraint that never holds, standing in for a segment that does not exist.
pub fn never() -> CompiledConstraint {
    CompiledConstraint {
        field: Field::Property(String::new()),
        inverted: false,
        check: Check::Never,
    }
}

impl CompiledConstraint {
    pub fn matches(&self, context: &Context, now: DateTime<Utc>) -> bool {
        if matches!(self.check, Check::Never) {
            return false;
        }
        self.check_value(context, now) != self.inverted
    }

    fn check_value(&self, context: &Context, now: DateTime<Utc>) -> bool {
        if let Check::Date(comparison, date) = &self.check {
            // Dates compare the context's time (or now), unless they name another field.
            let current = match self.field {
                Field::CurrentTime => Some(context.current_time.unwrap_or(now)),
                _ => self.field.get(context).and_then(parse_time),
            };
            return current.is_some_and(|current| comparison.holds(current.cmp(date)));
        }
        let Some(value) = self.field.get(context) else {
            return false;
        };
        match &self.check {
            Check::In(values) => values.contains(value),
            Check::Text {
                operator,
                values,
                case_insensitive,
            } => {
                let lowered;
                let value = if *case_insensitive {
                    lowered = value.to_lowercase();
                    lowered.as_str()
                } else {
                    value
                };
                values.iter().any(|candidate| match operator {
                    TextOperator::Contains => value.contains(candidate.as_str()),
                    TextOperator::StartsWith => value.starts_with(candidate.as_str()),
                    TextOperator::EndsWith => value.ends_with(candidate.as_str()),
                })
            }
            Check::Number(comparison, expected) => parse_number(value)
                .and_then(|actual| actual.partial_cmp(expected))
                .is_some_and(|ordering| comparison.holds(ordering)),
            Check::Semver(comparison, expected) => parse_version(value)
                .is_some_and(|actual| comparison.holds(actual.cmp_precedence(expected))),
            Check::Regex(regex) => regex.is_match(value),
            Check::Cidr(ranges) => value
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|address| ranges.iter().any(|range| range.contains(&address))),
            Check::Date(..) | Check::Never => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(json: &str) -> CompiledConstraint {
        let mut warnings = Vec::new();
        compile(&serde_json::from_str(json).unwrap(), &mut warnings)
    }

    fn context(json: &str) -> Context {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn invalid_values_fail_closed_even_when_inverted() {
        let mut warnings = Vec::new();
        let c = compile(
            &serde_json::from_str(
                r#"{"contextName":"v","operator":"SEMVER_GT","value":"v1.2.3","inverted":true}"#,
            )
            .unwrap(),
            &mut warnings,
        );
        assert!(!c.matches(&context(r#"{"properties":{"v":"2.0.0"}}"#), Utc::now()));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn not_in_holds_when_the_field_is_missing() {
        let c = constraint(r#"{"contextName":"userId","operator":"NOT_IN","values":["1"]}"#);
        assert!(c.matches(&Context::default(), Utc::now()));
        assert!(!c.matches(&context(r#"{"userId":"1"}"#), Utc::now()));
    }

    #[test]
    fn large_value_lists_use_a_set() {
        let values: Vec<String> = (0..100).map(|n| format!("\"{n}\"")).collect();
        let c = constraint(&format!(
            r#"{{"contextName":"userId","operator":"IN","values":[{}]}}"#,
            values.join(",")
        ));
        assert!(c.matches(&context(r#"{"userId":"42"}"#), Utc::now()));
        assert!(!c.matches(&context(r#"{"userId":"420"}"#), Utc::now()));
    }

    #[test]
    fn dates_on_other_fields_compare_the_field() {
        let c = constraint(
            r#"{"contextName":"signup","operator":"DATE_AFTER","value":"2024-01-01T00:00:00Z"}"#,
        );
        let now = Utc::now();
        assert!(c.matches(
            &context(r#"{"properties":{"signup":"2024-06-01T00:00:00Z"}}"#),
            now
        ));
        assert!(!c.matches(&Context::default(), now));
    }
}
