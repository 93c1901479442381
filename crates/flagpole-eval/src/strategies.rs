//! Activation strategies, compiled once per snapshot. A strategy this version does not know
//! evaluates to false, as in every SDK.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use rand::Rng;

use crate::constraints::{self, parse_range, CompiledConstraint};
use crate::context::Context;
use crate::hashing::strategy_bucket;
use crate::wire::{Segment, Strategy, Variant};

#[derive(Debug, Clone)]
pub struct CompiledStrategy {
    kind: Kind,
    constraints: Vec<CompiledConstraint>,
    pub variants: Vec<Variant>,
    /// The hashing group of strategy variants: the `groupId` parameter, else the flag name.
    pub group_id: String,
    /// The `stickiness` parameter, used when the variants do not name their own.
    pub stickiness: Option<String>,
}

#[derive(Debug, Clone)]
enum Kind {
    Default,
    UserWithId(HashSet<String>),
    GradualUserId {
        percentage: f64,
        group_id: String,
    },
    GradualSessionId {
        percentage: f64,
        group_id: String,
    },
    GradualRandom {
        percentage: f64,
    },
    FlexibleRollout {
        rollout: f64,
        stickiness: String,
        group_id: String,
    },
    RemoteAddress {
        exact: HashSet<String>,
        ranges: Vec<IpNet>,
    },
    ApplicationHostname(HashSet<String>),
    Unknown,
}

/// A percentage parameter as the SDKs read it (`Number(text)`): missing or invalid is no rollout.
fn percentage(parameters: &BTreeMap<String, String>, key: &str) -> f64 {
    parameters
        .get(key)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}

fn list(parameters: &BTreeMap<String, String>, key: &str) -> Vec<String> {
    parameters
        .get(key)
        .map(|v| v.split(',').map(|item| item.trim().to_owned()).collect())
        .unwrap_or_default()
}

pub fn compile(
    strategy: &Strategy,
    feature_name: &str,
    segments: &BTreeMap<i64, &Segment>,
    warnings: &mut Vec<String>,
) -> CompiledStrategy {
    let parameters = &strategy.parameters;
    let group_id = parameters
        .get("groupId")
        .cloned()
        .unwrap_or_else(|| feature_name.to_owned());
    let kind = match strategy.name.as_str() {
        "default" => Kind::Default,
        "userWithId" => Kind::UserWithId(list(parameters, "userIds").into_iter().collect()),
        "gradualRolloutUserId" => Kind::GradualUserId {
            percentage: percentage(parameters, "percentage"),
            group_id: parameters.get("groupId").cloned().unwrap_or_default(),
        },
        "gradualRolloutSessionId" => Kind::GradualSessionId {
            percentage: percentage(parameters, "percentage"),
            group_id: parameters.get("groupId").cloned().unwrap_or_default(),
        },
        "gradualRolloutRandom" => Kind::GradualRandom {
            percentage: percentage(parameters, "percentage"),
        },
        "flexibleRollout" => Kind::FlexibleRollout {
            rollout: percentage(parameters, "rollout"),
            stickiness: parameters
                .get("stickiness")
                .filter(|s| !s.is_empty())
                .cloned()
                .unwrap_or_else(|| "default".into()),
            group_id: group_id.clone(),
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
    let mut compiled: Vec<CompiledConstraint> = strategy
        .constraints
        .iter()
        .map(|c| constraints::compile(c, warnings))
        .collect();
    for id in &strategy.segments {
        match segments.get(id) {
            Some(segment) => compiled.extend(
                segment
                    .constraints
                    .iter()
                    .map(|c| constraints::compile(c, warnings)),
            ),
            None => {
                warnings.push(format!("flag {feature_name}: segment {id} does not exist"));
                compiled.push(constraints::never("missing segment"));
            }
        }
    }
    CompiledStrategy {
        kind,
        constraints: compiled,
        variants: strategy.variants.clone(),
        group_id,
        stickiness: parameters.get("stickiness").cloned(),
    }
}

/// A number from 1 to 100, for random rollouts.
fn random_bucket() -> f64 {
    f64::from(rand::rng().random_range(1..=100u32))
}

impl CompiledStrategy {
    pub fn is_enabled(&self, context: &Context, now: DateTime<Utc>) -> bool {
        self.constraints.iter().all(|c| c.matches(context, now)) && self.kind_allows(context)
    }

    fn kind_allows(&self, context: &Context) -> bool {
        let in_rollout = |percentage: f64, group_id: &str, id: &str| {
            percentage > 0.0 && f64::from(strategy_bucket(group_id, id)) <= percentage
        };
        match &self.kind {
            Kind::Default => true,
            Kind::UserWithId(users) => context.user_id.as_ref().is_some_and(|u| users.contains(u)),
            Kind::GradualUserId {
                percentage,
                group_id,
            } => context
                .user_id
                .as_deref()
                .filter(|u| !u.is_empty())
                .is_some_and(|user| in_rollout(*percentage, group_id, user)),
            Kind::GradualSessionId {
                percentage,
                group_id,
            } => context
                .session_id
                .as_deref()
                .filter(|s| !s.is_empty())
                .is_some_and(|session| in_rollout(*percentage, group_id, session)),
            Kind::GradualRandom { percentage } => *percentage >= random_bucket(),
            Kind::FlexibleRollout {
                rollout,
                stickiness,
                group_id,
            } => match stickiness.as_str() {
                "default" => {
                    let id = [context.user_id.as_deref(), context.session_id.as_deref()]
                        .into_iter()
                        .flatten()
                        .find(|id| !id.is_empty());
                    match id {
                        Some(id) => in_rollout(*rollout, group_id, id),
                        None => *rollout > 0.0 && random_bucket() <= *rollout,
                    }
                }
                "random" => *rollout > 0.0 && random_bucket() <= *rollout,
                field => context
                    .field(field)
                    .filter(|v| !v.is_empty())
                    .is_some_and(|id| in_rollout(*rollout, group_id, id)),
            },
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
