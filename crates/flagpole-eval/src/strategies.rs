//! Activation strategies, compiled once per snapshot: the built-in Unleash strategies, their
//! constraints (with segments resolved into them) and their variants. A strategy this version
//! does not know evaluates to false, as in every SDK.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;

use crate::constraints::{self, parse_range, CompiledConstraint};
use crate::context::{Context, Field};
use crate::hashing::{random_up_to, Group};
use crate::variants::VariantSet;
use crate::wire::{CompactString, Parameters, Segment, Strategy};

#[derive(Debug, Clone)]
pub struct CompiledStrategy {
    kind: Kind,
    constraints: Vec<CompiledConstraint>,
    /// The strategy's own variants, when it has some with weight.
    pub variants: Option<Box<VariantSet>>,
}

/// Which id a rollout hashes.
#[derive(Debug, Clone)]
pub(crate) enum Stickiness {
    /// userId, else sessionId, else a random draw.
    Default,
    Random,
    Field(Field),
}

impl Stickiness {
    pub fn parse(name: Option<&str>) -> Stickiness {
        match name {
            None | Some("") | Some("default") => Stickiness::Default,
            Some("random") => Stickiness::Random,
            Some(field) => Stickiness::Field(Field::parse(field)),
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Default,
    UserWithId(HashSet<String>),
    /// flexibleRollout, and the legacy gradual rollouts expressed as one.
    Rollout {
        percentage: f64,
        stickiness: Stickiness,
        group: Group,
    },
    RemoteAddress {
        exact: HashSet<String>,
        ranges: Vec<IpNet>,
    },
    ApplicationHostname(HashSet<String>),
    Unknown,
}

/// A percentage parameter as the SDKs read it (`Number(text)`): missing or invalid is 0.
fn percentage(parameters: &Parameters, key: &str) -> f64 {
    parameters
        .get(key)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

/// Comma-separated lists, items trimmed, as the SDKs split them.
fn list(parameters: &Parameters, key: &str) -> Vec<String> {
    parameters
        .get(key)
        .map(|v| v.split(',').map(|item| item.trim().to_owned()).collect())
        .unwrap_or_default()
}

/// The strategy's `groupId`, or `fallback` when it has none.
fn group_id_or<'a>(parameters: &'a Parameters, fallback: &'a str) -> &'a str {
    parameters
        .get("groupId")
        .filter(|g| !g.is_empty())
        .map_or(fallback, CompactString::as_str)
}

pub fn compile(
    strategy: &Strategy,
    feature_name: &str,
    segments: &BTreeMap<i64, &Segment>,
    warnings: &mut Vec<String>,
) -> CompiledStrategy {
    let parameters = &strategy.parameters;
    let kind = match strategy.name.as_str() {
        "default" => Kind::Default,
        "userWithId" => Kind::UserWithId(list(parameters, "userIds").into_iter().collect()),
        "flexibleRollout" => Kind::Rollout {
            percentage: percentage(parameters, "rollout"),
            stickiness: Stickiness::parse(parameters.get("stickiness").map(CompactString::as_str)),
            group: Group::strategy(group_id_or(parameters, feature_name)),
        },
        "gradualRolloutUserId" => Kind::Rollout {
            percentage: percentage(parameters, "percentage"),
            stickiness: Stickiness::Field(Field::UserId),
            group: Group::strategy(group_id_or(parameters, "")),
        },
        "gradualRolloutSessionId" => Kind::Rollout {
            percentage: percentage(parameters, "percentage"),
            stickiness: Stickiness::Field(Field::SessionId),
            group: Group::strategy(group_id_or(parameters, "")),
        },
        "gradualRolloutRandom" => Kind::Rollout {
            percentage: percentage(parameters, "percentage"),
            stickiness: Stickiness::Random,
            group: Group::strategy(""),
        },
        "remoteAddress" => {
            let entries = list(parameters, "IPs");
            Kind::RemoteAddress {
                ranges: entries.iter().filter_map(|e| parse_range(e)).collect(),
                exact: entries.into_iter().collect(),
            }
        }
        "applicationHostname" => Kind::ApplicationHostname(
            list(parameters, "hostNames")
                .into_iter()
                .map(|h| h.to_lowercase())
                .collect(),
        ),
        other => {
            warnings.push(format!(
                "flag {feature_name}: unknown strategy {other} evaluates to false"
            ));
            Kind::Unknown
        }
    };
    let mut compiled: Vec<CompiledConstraint> = Vec::new();
    // Segments first: they are usually the broad filter, and a missing one ends the check.
    for id in &strategy.segments {
        match segments.get(id) {
            Some(segment) => compiled.extend(
                segment
                    .constraints
                    .iter()
                    .map(|c| constraints::compile(c, warnings)),
            ),
            None => {
                warnings.push(format!(
                    "flag {feature_name}: segment {id} does not exist; the strategy never matches"
                ));
                compiled.push(constraints::never());
            }
        }
    }
    compiled.extend(
        strategy
            .constraints
            .iter()
            .map(|c| constraints::compile(c, warnings)),
    );
    // A growing vector keeps room for four; an engine holds every strategy of every flag.
    compiled.shrink_to_fit();
    // Strategy variants hash on the strategy's stickiness and groupId, as Node and Yggdrasil do.
    let variants = VariantSet::new(
        &strategy.variants,
        group_id_or(parameters, feature_name),
        Stickiness::parse(parameters.get("stickiness").map(CompactString::as_str)),
    )
    .map(Box::new);
    CompiledStrategy {
        kind,
        constraints: compiled,
        variants,
    }
}

impl CompiledStrategy {
    pub fn is_enabled(&self, context: &Context, now: DateTime<Utc>) -> bool {
        self.kind_allows(context) && self.constraints.iter().all(|c| c.matches(context, now))
    }

    fn kind_allows(&self, context: &Context) -> bool {
        match &self.kind {
            Kind::Default => true,
            Kind::UserWithId(users) => context.user_id.as_ref().is_some_and(|u| users.contains(u)),
            Kind::Rollout {
                percentage,
                stickiness,
                group,
            } => {
                if *percentage <= 0.0 {
                    return false;
                }
                let id = match stickiness {
                    Stickiness::Default => [&context.user_id, &context.session_id]
                        .into_iter()
                        .flatten()
                        .find(|id| !id.is_empty())
                        .map(String::as_str),
                    Stickiness::Random => None,
                    Stickiness::Field(field) => match field.get(context) {
                        Some(id) if !id.is_empty() => Some(id),
                        // A rollout sticky on a field the context lacks is off.
                        _ => return false,
                    },
                };
                let bucket = match id {
                    Some(id) => group.bucket(id),
                    None => random_up_to(100),
                };
                f64::from(bucket) <= *percentage
            }
            Kind::RemoteAddress { exact, ranges } => {
                let Some(address) = context.remote_address.as_deref() else {
                    return false;
                };
                exact.contains(address)
                    || address
                        .trim()
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| ranges.iter().any(|range| range.contains(&ip)))
            }
            // The engine does no I/O, so the host name comes from the context's `hostname`
            // property, which the caller fills in.
            Kind::ApplicationHostname(hosts) => context
                .properties
                .get("hostname")
                .is_some_and(|h| hosts.contains(&h.to_lowercase())),
            Kind::Unknown => false,
        }
    }
}
