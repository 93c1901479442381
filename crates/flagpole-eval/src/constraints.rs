//! Constraints, compiled once: values are parsed (numbers, dates, versions, regexes, CIDRs) when
//! a snapshot is compiled, so evaluation only compares. A value that cannot be parsed makes the
//! constraint false (before `inverted` applies), as the SDKs do, and is reported as a warning.

use std::collections::HashSet;
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use regex::Regex;
use semver::Version;

use crate::context::Context;
use crate::wire::{Constraint, Operator};

#[derive(Debug, Clone)]
pub struct CompiledConstraint {
    context_name: String,
    inverted: bool,
    check: Check,
}

#[derive(Debug, Clone)]
enum Check {
    In(HashSet<String>),
    NotIn(HashSet<String>),
    Text {
        operator: TextOperator,
        values: Vec<String>,
        case_insensitive: bool,
    },
    Number(Comparison, f64),
    DateAfter(DateTime<Utc>),
    DateBefore(DateTime<Utc>),
    Semver(Comparison, Version),
    Regex(Regex),
    Cidr(Vec<IpNet>),
    /// The constraint could not be compiled, or refers to a segment that does not exist.
    Never,
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
    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Comparison::Eq => ordering == Equal,
            Comparison::Gt => ordering == Greater,
            Comparison::Gte => ordering != Less,
            Comparison::Lt => ordering == Less,
            Comparison::Lte => ordering != Greater,
        }
    }
}

/// Values as the SDKs clean them: trimmed, empty ones dropped.
fn clean(values: &[String]) -> Vec<String> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a semantic version as the SDKs accept it: strict semver, no leading `v`.
pub(crate) fn parse_version(text: &str) -> Option<Version> {
    let text = text.trim();
    if text.starts_with('v') {
        return None;
    }
    Version::parse(text).ok()
}

pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

/// An address or a range; a bare address is a range of one.
pub(crate) fn parse_range(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The single value of operators that compare against `value`, with `values[0]` as a fallback
/// for payloads that put it there.
fn single_value(constraint: &Constraint) -> Option<&str> {
    constraint
        .value
        .as_deref()
        .or_else(|| constraint.values.first().map(String::as_str))
}

pub fn compile(constraint: &Constraint, warnings: &mut Vec<String>) -> CompiledConstraint {
    let mut invalid = |why: String| {
        warnings.push(format!(
            "constraint on {} ({}): {why}",
            constraint.context_name, constraint.operator
        ));
        Check::Never
    };
    let comparison = |operator: &Operator| match operator {
        Operator::NumEq | Operator::SemverEq => Comparison::Eq,
        Operator::NumGt | Operator::SemverGt => Comparison::Gt,
        Operator::NumGte | Operator::SemverGte => Comparison::Gte,
        Operator::NumLt | Operator::SemverLt => Comparison::Lt,
        _ => Comparison::Lte,
    };
    let operator = &constraint.operator;
    let check = match operator {
        Operator::In => Check::In(clean(&constraint.values).into_iter().collect()),
        Operator::NotIn => Check::NotIn(clean(&constraint.values).into_iter().collect()),
        Operator::StrContains | Operator::StrStartsWith | Operator::StrEndsWith => {
            let mut values = clean(&constraint.values);
            if constraint.case_insensitive {
                values = values.iter().map(|v| v.to_lowercase()).collect();
            }
            Check::Text {
                operator: match operator {
                    Operator::StrContains => TextOperator::Contains,
                    Operator::StrStartsWith => TextOperator::StartsWith,
                    _ => TextOperator::EndsWith,
                },
                values,
                case_insensitive: constraint.case_insensitive,
            }
        }
        Operator::NumEq
        | Operator::NumGt
        | Operator::NumGte
        | Operator::NumLt
        | Operator::NumLte => {
            match single_value(constraint).and_then(|v| v.trim().parse::<f64>().ok()) {
                Some(number) if number.is_finite() => Check::Number(comparison(operator), number),
                _ => invalid(format!("{:?} is not a number", constraint.value)),
            }
        }
        Operator::DateAfter | Operator::DateBefore => {
            match single_value(constraint).and_then(parse_date) {
                Some(date) if *operator == Operator::DateAfter => Check::DateAfter(date),
                Some(date) => Check::DateBefore(date),
                None => invalid(format!("{:?} is not an RFC 3339 date", constraint.value)),
            }
        }
        Operator::SemverEq
        | Operator::SemverGt
        | Operator::SemverGte
        | Operator::SemverLt
        | Operator::SemverLte => match single_value(constraint).and_then(parse_version) {
            Some(version) => Check::Semver(comparison(operator), version),
            None => invalid(format!("{:?} is not a semantic version", constraint.value)),
        },
        Operator::Regex => {
            let pattern = single_value(constraint).unwrap_or_default();
            match regex::RegexBuilder::new(pattern)
                .case_insensitive(constraint.case_insensitive)
                .size_limit(1 << 20)
                .build()
            {
                Ok(regex) => Check::Regex(regex),
                Err(error) => invalid(format!("invalid regular expression: {error}")),
            }
        }
        Operator::InCidr => Check::Cidr(
            constraint
                .values
                .iter()
                .filter_map(|v| parse_range(v))
                .collect(),
        ),
        Operator::Unknown(name) => invalid(format!("unknown operator {name}")),
    };
    CompiledConstraint {
        context_name: constraint.context_name.clone(),
        inverted: constraint.inverted,
        check,
    }
}

/// A constraint that never holds, standing in for a segment that does not exist.
pub fn never(reason: &str) -> CompiledConstraint {
    CompiledConstraint {
        context_name: reason.to_owned(),
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
        let value = context.field(&self.context_name);
        match &self.check {
            Check::In(values) => value.is_some_and(|v| values.contains(v)),
            Check::NotIn(values) => !value.is_some_and(|v| values.contains(v)),
            Check::Text {
                operator,
                values,
                case_insensitive,
            } => {
                let Some(value) = value else { return false };
                let value = if *case_insensitive {
                    std::borrow::Cow::Owned(value.to_lowercase())
                } else {
                    std::borrow::Cow::Borrowed(value)
                };
                values.iter().any(|candidate| match operator {
                    TextOperator::Contains => value.contains(candidate.as_str()),
                    TextOperator::StartsWith => value.starts_with(candidate.as_str()),
                    TextOperator::EndsWith => value.ends_with(candidate.as_str()),
                })
            }
            Check::Number(comparison, expected) => value
                .and_then(|v| v.trim().parse::<f64>().ok())
                .and_then(|actual| actual.partial_cmp(expected))
                .is_some_and(|ordering| comparison.holds(ordering)),
            Check::DateAfter(date) | Check::DateBefore(date) => {
                let current = match context.current_time.as_deref() {
                    Some(text) => match parse_date(text) {
                        Some(time) => time,
                        None => return false,
                    },
                    None => now,
                };
                if matches!(self.check, Check::DateAfter(_)) {
                    current > *date
                } else {
                    current < *date
                }
            }
            Check::Semver(comparison, expected) => value
                .and_then(parse_version)
                .is_some_and(|actual| comparison.holds(actual.cmp_precedence(expected))),
            Check::Regex(regex) => value.is_some_and(|v| regex.is_match(v)),
            Check::Cidr(ranges) => value
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
                .is_some_and(|address| ranges.iter().any(|range| range.contains(&address))),
            Check::Never => false,
        }
    }
}
