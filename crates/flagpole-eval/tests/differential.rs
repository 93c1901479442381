//! Differential test against Yggdrasil (`unleash-yggdrasil`), the Rust engine most Unleash SDKs
//! embed: random flags and contexts must give the same `isEnabled` and `getVariant` answers.
//!
//! The generator stays where both engines are specified to agree and are deterministic: every
//! context has a userId (so default stickiness never falls back to a random draw), variant
//! stickiness is never a field the context may lack, weights are positive, and constraint values
//! are valid. Known, deliberate differences are left out: Yggdrasil fails a whole flag when one
//! constraint does not compile (Flagpole fails only that constraint), and its default variant
//! stickiness skips remoteAddress (Flagpole follows the Node SDK, which does not). Rollouts always
//! name their groupId, as Unleash stores them: Yggdrasil evaluates a parent flag's rollout with
//! the child's name as the fallback group, where the Node SDK (and Flagpole) uses the parent's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use flagpole_eval::wire::ClientFeatures;
use flagpole_eval::{Context, Engine};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};
use unleash_yggdrasil::{EngineState, UpdateMessage};

const USERS: [&str; 6] = ["1", "2", "7", "42", "alice", "bob"];

fn maybe(options: &'static [&'static str]) -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![Just(None), select(options).prop_map(Some)]
}

fn constraint() -> impl Strategy<Value = Value> {
    let body = prop_oneof![
        (select(&["IN", "NOT_IN"][..]), select(&["userId", "tier", "environment"][..]), proptest::collection::vec(select(&["1", "7", "alice", "gold", "silver", "prod"][..]), 1..3))
            .prop_map(|(op, field, values)| json!({"contextName": field, "operator": op, "values": values})),
        (select(&["STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH"][..]), proptest::collection::vec(select(&["ali", "@example.com", "BOB", "com"][..]), 1..3), any::<bool>())
            .prop_map(|(op, values, ci)| json!({"contextName": "email", "operator": op, "values": values, "caseInsensitive": ci})),
        (select(&["NUM_EQ", "NUM_GT", "NUM_GTE", "NUM_LT", "NUM_LTE"][..]), select(&["0", "18", "42", "100"][..]))
            .prop_map(|(op, value)| json!({"contextName": "age", "operator": op, "value": value})),
        (select(&["SEMVER_EQ", "SEMVER_GT", "SEMVER_GTE", "SEMVER_LT", "SEMVER_LTE"][..]), select(&["1.2.3", "2.0.0", "2.0.0-beta.2"][..]))
            .prop_map(|(op, value)| json!({"contextName": "version", "operator": op, "value": value})),
        (select(&["DATE_AFTER", "DATE_BEFORE"][..]), select(&["2020-01-01T00:00:00Z", "2024-06-01T12:00:00Z", "2999-01-01T00:00:00.000Z"][..]))
            .prop_map(|(op, value)| json!({"contextName": "currentTime", "operator": op, "value": value})),
        (select(&["^a", "b.b", "@example\\.com$", "^[0-9]+$"][..]), any::<bool>())
            .prop_map(|(value, ci)| json!({"contextName": "email", "operator": "REGEX", "value": value, "caseInsensitive": ci})),
        proptest::collection::vec(select(&["10.0.0.0/8", "192.168.1.5", "::1/128", "2001:db8::/32"][..]), 1..3)
            .prop_map(|values| json!({"contextName": "remoteAddress", "operator": "IN_CIDR", "values": values})),
    ];
    (body, any::<bool>()).prop_map(|(mut c, inverted)| {
        c["inverted"] = json!(inverted);
        c
    })
}

/// Overrides only on flag variants: Unleash's strategy variants have none (Yggdrasil drops them).
fn variants(overrides: bool) -> impl Strategy<Value = Vec<Value>> {
    proptest::collection::vec(
        (1u32..100, any::<bool>(), proptest::option::of(select(&USERS[..]))),
        0..4,
    )
    .prop_map(move |list| {
        list.into_iter()
            .enumerate()
            .map(|(i, (weight, payload, pinned))| {
                let mut variant = json!({"name": format!("v{i}"), "weight": weight, "stickiness": "default", "weightType": "variable"});
                if payload {
                    variant["payload"] = json!({"type": "string", "value": format!("p{i}")});
                }
                if let Some(user) = pinned.filter(|_| overrides) {
                    variant["overrides"] = json!([{"contextName": "userId", "values": [user]}]);
                }
                variant
            })
            .collect()
    })
}

fn strategy() -> impl Strategy<Value = Value> {
    let percentage = select(&[0u32, 10, 33, 50, 90, 100][..]);
    let kind = prop_oneof![
        Just(json!({"name": "default", "parameters": {}})),
        proptest::collection::vec(select(&USERS[..]), 1..4)
            .prop_map(|users| json!({"name": "userWithId", "parameters": {"userIds": users.join(", ")}})),
        (percentage.clone(), select(&["default", "userId", "sessionId", "tier"][..]), select(&["g1", "g2"][..]))
            .prop_map(|(rollout, stickiness, group)| {
                json!({"name": "flexibleRollout", "parameters": {"rollout": rollout.to_string(), "stickiness": stickiness, "groupId": group}})
            }),
        (percentage.clone(), select(&["gradualRolloutUserId", "gradualRolloutSessionId"][..]))
            .prop_map(|(p, name)| json!({"name": name, "parameters": {"percentage": p.to_string(), "groupId": "legacy"}})),
        select(&["10.0.0.1", "192.168.0.0/16, ::1", "127.0.0.1"][..])
            .prop_map(|ips| json!({"name": "remoteAddress", "parameters": {"IPs": ips}})),
        Just(json!({"name": "myCustomStrategy", "parameters": {}})),
    ];
    (
        kind,
        proptest::collection::vec(constraint(), 0..3),
        variants(false),
    )
        .prop_map(|(mut strategy, constraints, variants)| {
            strategy["constraints"] = json!(constraints);
            strategy["variants"] = json!(variants);
            strategy
        })
}

fn flags() -> impl Strategy<Value = Value> {
    let flag = (
        any::<bool>(),
        proptest::collection::vec(strategy(), 0..3),
        variants(true),
        0u8..4,
    );
    proptest::collection::vec(flag, 1..5).prop_map(|flags| {
        let parent_has_variants = !flags[0].2.is_empty();
        let features: Vec<Value> = flags
            .into_iter()
            .enumerate()
            .map(|(i, (enabled, strategies, variants, dependency))| {
                let mut feature = json!({
                    "name": format!("flag-{i}"), "enabled": enabled, "strategies": strategies,
                    "variants": variants, "impressionData": false, "project": "default"
                });
                // Later flags may depend on the first, which has no parents of its own.
                if i > 0 {
                    let dependency = match dependency {
                        1 => Some(json!({"feature": "flag-0"})),
                        2 => Some(json!({"feature": "flag-0", "enabled": false})),
                        3 if parent_has_variants => {
                            Some(json!({"feature": "flag-0", "variants": ["v0", "v2"]}))
                        }
                        _ => None,
                    };
                    if let Some(dependency) = dependency {
                        feature["dependencies"] = json!([dependency]);
                    }
                }
                feature
            })
            .collect();
        json!({"version": 2, "features": features})
    })
}

fn context() -> impl Strategy<Value = Value> {
    (
        select(&USERS[..]),
        maybe(&["s1", "s2", "s3"]),
        maybe(&["10.0.0.1", "192.168.1.5", "::1", "2001:db8::7"]),
        maybe(&["prod", "dev"]),
        maybe(&["gold", "silver", "GOLD"]),
        maybe(&["alice@example.com", "BOB@EXAMPLE.COM", "bob"]),
        maybe(&["17", "18", "42", "-3"]),
        maybe(&["1.2.3", "2.0.0-beta.1", "2.0.0", "10.0.0"]),
        maybe(&[
            "2022-01-22T11:30:00.000Z",
            "2024-06-01T12:00:00Z",
            "3000-01-01T00:00:00Z",
        ]),
    )
        .prop_map(
            |(user, session, address, environment, tier, email, age, version, time)| {
                let mut properties = serde_json::Map::new();
                for (key, value) in [
                    ("tier", tier),
                    ("email", email),
                    ("age", age),
                    ("version", version),
                ] {
                    if let Some(value) = value {
                        properties.insert(key.into(), json!(value));
                    }
                }
                json!({
                    "userId": user, "sessionId": session, "remoteAddress": address,
                    "environment": environment, "currentTime": time, "properties": properties,
                })
            },
        )
}

/// Drops JSON nulls, which Yggdrasil's context reader does not take for absent fields.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_yggdrasil(state in flags(), contexts in proptest::collection::vec(context(), 1..6)) {
        let ours = Engine::compile(&serde_json::from_value::<ClientFeatures>(state.clone()).unwrap());
        prop_assert!(ours.warnings().iter().all(|w| w.contains("unknown strategy")), "{:?}", ours.warnings());
        let oracle = EngineState::default();
        oracle.take_state(UpdateMessage::FullResponse(serde_json::from_value(state.clone()).unwrap()));
        let now = chrono::Utc::now();
        for context in &contexts {
            let our_context: Context = serde_json::from_value(context.clone()).unwrap();
            let their_context: unleash_yggdrasil::Context = serde_json::from_value(without_nulls(context)).unwrap();
            for feature in state["features"].as_array().unwrap() {
                let name = feature["name"].as_str().unwrap();
                let enabled = ours.is_enabled(name, &our_context, now);
                prop_assert_eq!(enabled, oracle.is_enabled(name, &their_context, &None), "isEnabled {} for {}", name, context);
                let variant = serde_json::to_value(ours.get_variant(name, &our_context, now)).unwrap();
                let expected = oracle.get_variant(name, &their_context, &None);
                prop_assert_eq!(
                    (variant["name"].as_str().unwrap(), variant["enabled"].as_bool().unwrap(), variant["feature_enabled"].as_bool().unwrap(), variant.get("payload").cloned()),
                    (expected.name.as_str(), expected.enabled, expected.feature_enabled, expected.payload.map(|p| serde_json::to_value(p).unwrap())),
                    "getVariant {} for {}", name, context
                );
            }
        }
    }
}
