//! Evaluation cost: one flag, all 1,000 flags for one frontend context (evaluated, and written
//! as the Frontend API's list), constraint operators and variant selection.
//! `cargo bench -p flagpole-eval`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use flagpole_eval::toggle_list::ToggleListCursor;
use flagpole_eval::wire::ClientFeatures;
use flagpole_eval::{Context, Engine};
use serde_json::json;

/// `count` flags shaped like a realistic setup: a 50% rollout with one constraint each, and
/// every tenth flag with three strategy variants.
fn flags(count: usize) -> ClientFeatures {
    let features: Vec<_> = (0..count)
        .map(|n| {
            let variants = if n % 10 == 0 {
                json!([{"name": "a", "weight": 333}, {"name": "b", "weight": 333}, {"name": "c", "weight": 334}])
            } else {
                json!([])
            };
            json!({
                "name": format!("flag-{n:04}"),
                "enabled": true,
                "strategies": [{
                    "name": "flexibleRollout",
                    "parameters": {"rollout": "50", "stickiness": "default", "groupId": format!("flag-{n:04}")},
                    "constraints": [{"contextName": "userId", "operator": "NOT_IN", "values": ["1", "2", "3"]}],
                    "variants": variants
                }]
            })
        })
        .collect();
    serde_json::from_value(json!({"version": 2, "features": features})).unwrap()
}

fn context() -> Context {
    serde_json::from_value(json!({
        "userId": "123", "sessionId": "s-1", "appName": "web",
        "properties": {"country": "no", "version": "2.3.4", "email": "bob@example.com"}
    }))
    .unwrap()
}

fn operators() -> ClientFeatures {
    let constraints = json!([
        {"contextName": "country", "operator": "IN", "values": ["no", "se", "dk"]},
        {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@EXAMPLE.com"], "caseInsensitive": true},
        {"contextName": "version", "operator": "SEMVER_GTE", "value": "2.0.0"},
        {"contextName": "userId", "operator": "NUM_LT", "value": "1000"},
        {"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2020-01-01T00:00:00Z"},
        {"contextName": "email", "operator": "REGEX", "value": "^[a-z]+@"}
    ]);
    serde_json::from_value(json!({"version": 2, "features": [
        {"name": "ops", "enabled": true, "strategies": [{"name": "default", "constraints": constraints}]}
    ]}))
    .unwrap()
}

fn benchmarks(c: &mut Criterion) {
    let now = chrono::Utc::now();
    let context = context();
    let thousand = Engine::compile(&flags(1_000));
    c.bench_function("is_enabled: one flag", |b| {
        b.iter(|| thousand.is_enabled(black_box("flag-0500"), &context, now))
    });
    c.bench_function("evaluate_all: 1,000 flags, one context", |b| {
        b.iter(|| thousand.evaluate_all(black_box(&context), now).len())
    });
    c.bench_function("write_toggles: the Frontend API list of 1,000 flags", |b| {
        let mut out = Vec::with_capacity(256 * 1024);
        b.iter(|| {
            out.clear();
            let mut cursor = ToggleListCursor::default();
            thousand
                .write_toggles(
                    &mut cursor,
                    black_box(&context),
                    now,
                    &mut |_| true,
                    &mut out,
                    usize::MAX,
                )
                .unwrap();
            out.len()
        })
    });
    c.bench_function("get_variant: three strategy variants", |b| {
        b.iter(|| thousand.get_variant(black_box("flag-0010"), &context, now))
    });
    let operators = Engine::compile(&operators());
    c.bench_function("six constraint operators", |b| {
        b.iter(|| operators.is_enabled(black_box("ops"), &context, now))
    });
    let state = flags(1_000);
    c.bench_function("compile: 1,000 flags", |b| {
        b.iter(|| Engine::compile(black_box(&state)))
    });
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
