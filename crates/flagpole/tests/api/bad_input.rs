//! Property tests of the server's input handling. Inputs come from proptest strategies: request
//! bodies generated from each operation's schema in the OpenAPI document (so a new operation
//! is covered without an edit here), random path segments and query strings for every
//! operation, JSON Patch documents, constraint values and evaluation contexts.
//!
//! For every input: no 5xx and no dropped connection (a panic), a 4xx carries a JSON error
//! message, and a refused request changes nothing (the snapshot revision and the number of
//! audit events stay as they were). Constraints that are accepted must compile in the engine.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::strategy::{Union, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};

use crate::helpers::{Backend, TestApp, ADMIN_TOKEN};
use crate::roles::{expectations, CLIENT, FRONTEND, OFREP};
use crate::users::{create_pat, create_user, sign_in};

/// Cases per operation with a body, per path-and-query run, and per targeted property.
const BODY_CASES: u32 = 24;
const PATH_CASES: u32 = 4;
const TARGETED_CASES: u32 = 150;

/// Strings that often break parsers: empty, huge, control characters, look-alikes of valid
/// values, names that exist in the seeded state.
fn text() -> BoxedStrategy<String> {
    let special = prop::sample::select(vec![
        "",
        " ",
        ".",
        "..",
        "%",
        "%00",
        "\u{0}",
        "\u{202e}",
        "null",
        "true",
        "-1",
        "1e309",
        "NaN",
        "1.2.3",
        "1.2.3-beta.1+build",
        "v1.2",
        "01.2.3",
        "2024-01-01T00:00:00Z",
        "2024-13-45T99:99:99Z",
        "10.0.0.0/8",
        "10.0.0.0/33",
        "::1/129",
        "(a+)+$",
        "[",
        "(?P<x",
        "\\",
        "*",
        "default",
        "development",
        "Demo",
        "Admin",
        "client",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        3 => "[a-zA-Z0-9._~-]{1,12}",
        2 => "\\PC{0,24}",
        2 => special,
        1 => (1usize..3000).prop_map(|n| "x".repeat(n)),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<Value> {
    prop_oneof![
        prop::sample::select(vec![
            json!(0),
            json!(-1),
            json!(1),
            json!(100),
            json!(1000),
            json!(1001),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(0.5),
            json!(-0.0),
            json!(1e300),
        ]),
        any::<i32>().prop_map(|n| json!(n)),
    ]
    .boxed()
}

pub(crate) fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Values for a JSON schema of the OpenAPI document: mostly of the right shape with wrong or
/// edge values inside, sometimes something else entirely.
pub(crate) fn from_schema(document: &Value, schema: &Value, depth: usize) -> BoxedStrategy<Value> {
    if depth > 5 {
        return any_json();
    }
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return from_schema(
            document,
            &document["components"]["schemas"][name],
            depth + 1,
        );
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema[key].as_array() {
            let mut all: Vec<BoxedStrategy<Value>> = options
                .iter()
                .map(|o| from_schema(document, o, depth + 1))
                .collect();
            all.push(any_json());
            return Union::new(all).boxed();
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return prop_oneof![
            3 => prop::sample::select(values.clone()),
            1 => text().prop_map(Value::String),
        ]
        .boxed();
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return any_json(),
    };
    let mut options: Vec<BoxedStrategy<Value>> = Vec::new();
    for t in types {
        options.push(match t {
            "object" => {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
                if let Some(properties) = schema["properties"].as_object() {
                    for (name, property) in properties {
                        let name = name.clone();
                        let present = if required.contains(&name.as_str()) {
                            9
                        } else {
                            5
                        };
                        let value = prop_oneof![
                            6 => from_schema(document, property, depth + 1),
                            1 => any_json(),
                        ];
                        fields.push(
                            prop_oneof![
                                present => value.prop_map(move |v| Some((name.clone(), v))),
                                10 - present => Just(None),
                            ]
                            .boxed(),
                        );
                    }
                }
                let extra = match &schema["additionalProperties"] {
                    items @ Value::Object(fields) if !fields.is_empty() => {
                        prop::collection::btree_map(
                            text(),
                            from_schema(document, items, depth + 1),
                            0..4,
                        )
                        .boxed()
                    }
                    _ => prop::collection::btree_map(text(), any_json(), 0..2).boxed(),
                };
                (fields, extra)
                    .prop_map(|(fields, extra)| {
                        let mut object: Map<String, Value> = extra.into_iter().collect();
                        object.extend(fields.into_iter().flatten());
                        Value::Object(object)
                    })
                    .boxed()
            }
            "array" => {
                prop::collection::vec(from_schema(document, &schema["items"], depth + 1), 0..4)
                    .prop_map(Value::Array)
                    .boxed()
            }
            "string" => text().prop_map(Value::String).boxed(),
            "integer" | "number" => number(),
            "boolean" => any::<bool>().prop_map(Value::Bool).boxed(),
            "null" => Just(Value::Null).boxed(),
            _ => any_json(),
        });
    }
    options.push(any_json());
    Union::new_weighted(
        options
            .into_iter()
            .enumerate()
            .map(|(n, s)| (if n == 0 { 6 } else { 1 }, s))
            .collect(),
    )
    .boxed()
}

/// One path segment: usually nonsense, percent-encoded, sometimes the existing thing.
fn segment(real: Option<String>) -> BoxedStrategy<String> {
    let random = text().prop_map(|s| {
        percent_encoding::utf8_percent_encode(&s, percent_encoding::NON_ALPHANUMERIC).to_string()
    });
    match real {
        Some(real) => prop_oneof![1 => Just(real), 1 => random].boxed(),
        None => random.boxed(),
    }
}

fn query() -> BoxedStrategy<String> {
    let keys = prop::sample::select(vec![
        "limit",
        "offset",
        "type",
        "feature",
        "project",
        "environment",
        "from",
        "to",
        "query",
        "appName",
        "userId",
        "sessionId",
        "remoteAddress",
        "properties[x]",
        "tag",
        "namePrefix",
        "q",
        "createdBy",
        "order",
    ]);
    prop::collection::vec((keys, text()), 0..4)
        .prop_map(|pairs| {
            let mut query = String::new();
            for (key, value) in pairs {
                query.push(if query.is_empty() { '?' } else { '&' });
                query.push_str(key);
                query.push('=');
                query.extend(percent_encoding::utf8_percent_encode(
                    &value,
                    percent_encoding::NON_ALPHANUMERIC,
                ));
            }
            query
        })
        .boxed()
}

/// Constraint values aimed at each operator's parser.
pub(crate) fn constraint() -> BoxedStrategy<Value> {
    let operator = prop_oneof![
        9 => prop::sample::select(vec![
            "IN", "NOT_IN", "STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH", "NUM_EQ", "NUM_GT",
            "NUM_GTE", "NUM_LT", "NUM_LTE", "DATE_AFTER", "DATE_BEFORE", "SEMVER_EQ", "SEMVER_GT",
            "SEMVER_LT", "SEMVER_GTE", "SEMVER_LTE", "REGEX", "IN_CIDR",
        ]).prop_map(str::to_owned),
        1 => text(),
    ];
    let value = prop_oneof![
        "-?[0-9]{1,20}(\\.[0-9]{0,5})?(e[+-]?[0-9]{1,3})?",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})?)?",
        "v?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(-[a-z0-9.]{0,6})?(\\+[a-z0-9]{0,4})?",
        "[0-9]{1,3}(\\.[0-9]{1,3}){0,4}(/[0-9]{1,3})?",
        "[0-9a-f:]{0,20}(/[0-9]{1,3})?",
        "[a-z.*+?()\\[\\]{}|^$\\\\0-9]{0,12}",
        text(),
    ];
    (
        text(),
        operator,
        prop::option::of(value.clone()),
        prop::collection::vec(value, 0..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(name, operator, value, values, case_insensitive, inverted)| {
                let context_name = if name.is_empty() {
                    "userId".into()
                } else {
                    name
                };
                json!({"contextName": context_name, "operator": operator, "value": value,
                   "values": values, "caseInsensitive": case_insensitive, "inverted": inverted})
            },
        )
        .boxed()
}

/// Evaluation contexts for the Frontend API and OFREP: the known fields with values of every
/// kind, plus properties.
pub(crate) fn context() -> BoxedStrategy<Value> {
    let field = prop::sample::select(vec![
        "userId",
        "sessionId",
        "remoteAddress",
        "environment",
        "appName",
        "currentTime",
        "targetingKey",
        "properties",
        "version",
    ]);
    let value = prop_oneof![
        3 => text().prop_map(Value::String),
        1 => "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z".prop_map(Value::String),
        1 => "[0-9]{1,3}(\\.[0-9]{1,3}){3}".prop_map(Value::String),
        2 => any_json(),
    ];
    prop_oneof![
        8 => prop::collection::btree_map(field.prop_map(str::to_owned), value.clone(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => prop::collection::btree_map(text(), value, 0..150)
            .prop_map(|m| json!({"properties": Value::Object(m.into_iter().collect())})),
        1 => any_json(),
    ]
    .boxed()
}

pub(crate) fn json_patch() -> BoxedStrategy<Value> {
    let op = prop_oneof![
        8 => prop::sample::select(vec!["add", "remove", "replace", "move", "copy", "test"])
            .prop_map(str::to_owned),
        1 => text(),
    ];
    let path = prop_oneof![
        3 => prop::sample::select(vec![
            "", "/", "/name", "/description", "/type", "/stale", "/archived", "/project",
            "/impressionData", "/0", "/-", "/0/weight", "/0/name", "/1/payload",
            "/constraints/0/values/-", "/parameters/rollout", "/constraints", "/variants/0",
            "/segments/-", "/~1", "/a~2b",
        ])
        .prop_map(str::to_owned),
        1 => text(),
    ];
    let operation = (
        op,
        path.clone(),
        prop::option::of(any_json()),
        prop::option::of(path),
    )
        .prop_map(|(op, path, value, from)| {
            let mut operation = json!({"op": op, "path": path});
            if let Some(value) = value {
                operation["value"] = value;
            }
            if let Some(from) = from {
                operation["from"] = json!(from);
            }
            operation
        });
    prop_oneof![
        9 => prop::collection::vec(operation, 0..4).prop_map(Value::Array),
        1 => any_json(),
    ]
    .boxed()
}

/// The server under test with what it takes to reach past authentication and lookups.
struct Target {
    app: TestApp,
    /// Authorization header per surface.
    client: String,
    frontend: String,
    pat: String,
    /// Real values for path parameters.
    real: BTreeMap<&'static str, String>,
    tried: usize,
    refused: usize,
    /// (audit events, snapshot revision) after the last accepted request.
    baseline: (i64, i64),
}

async fn revision(app: &TestApp) -> i64 {
    let text = app
        .http
        .get(app.url("/internal-backstage/prometheus"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("flagpole_snapshot_revision "))
        .expect("snapshot revision metric")
        .trim()
        .parse()
        .unwrap()
}

impl Target {
    async fn new(backend: &Backend) -> Target {
        let app = TestApp::spawn(backend).await;
        app.create_flag("Demo").await;
        app.create_flag("Parent").await;
        let strategy = app
            .post(
                "/api/admin/projects/default/features/Demo/environments/development/strategies",
                json!({"name": "default"}),
            )
            .await;
        let segment = app
            .post(
                "/api/admin/segments",
                json!({"name": "beta", "constraints": []}),
            )
            .await;
        app.post("/api/admin/tag-types", json!({"name": "team"}))
            .await;
        app.post(
            "/api/admin/features/Demo/tags",
            json!({"type": "team", "value": "growth"}),
        )
        .await;
        let client = app
            .create_token(json!({"tokenName": "c", "type": "client", "environment": "development"}))
            .await;
        let frontend = app
            .create_token(
                json!({"tokenName": "f", "type": "frontend", "environment": "development"}),
            )
            .await;
        let spare = app
            .create_token(
                json!({"tokenName": "spare", "type": "client", "environment": "development"}),
            )
            .await;
        create_user(&app, "fuzzer", "Admin").await;
        let browser = sign_in(&app, "fuzzer").await;
        let pat = create_pat(&app, &browser).await;
        let real = BTreeMap::from([
            ("project", "default".to_string()),
            ("feature", "Demo".to_string()),
            ("key", "Demo".to_string()),
            ("parent", "Parent".to_string()),
            ("environment", "development".to_string()),
            ("strategy", strategy["id"].as_str().unwrap().to_string()),
            ("id", segment["id"].to_string()),
            ("name", "team".to_string()),
            ("tag_type", "team".to_string()),
            ("value", "growth".to_string()),
            ("token", spare),
        ]);
        let baseline = (app.event_count().await, revision(&app).await);
        Target {
            app,
            client,
            frontend,
            pat,
            real,
            tried: 0,
            refused: 0,
            baseline,
        }
    }

    fn authorization(&self, method: &str, template: &str) -> String {
        let row = expectations()[format!("{method} {template}").as_str()];
        if row == CLIENT || row == OFREP {
            self.client.clone()
        } else if row == FRONTEND {
            self.frontend.clone()
        } else if template.starts_with("/api/admin/user/") {
            self.pat.clone()
        } else {
            ADMIN_TOKEN.to_string()
        }
    }

    /// Sends one input and checks the rules; `what` describes it for failure messages.
    async fn check(&mut self, method: &str, path: &str, authorization: &str, body: Option<&Value>) {
        self.tried += 1;
        let mut request = self
            .app
            .http
            .request(method.parse::<Method>().unwrap(), self.app.url(path))
            .header("Authorization", authorization);
        if let Some(body) = body {
            request = request.json(body);
        }
        let what = || {
            format!(
                "{method} {path} {}",
                body.map(Value::to_string).unwrap_or_default()
            )
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => panic!("{}: no answer ({error}); did the server panic?", what()),
        };
        let status = response.status();
        if path.starts_with("/api/client/streaming") && status.is_success() {
            // A live stream: accepted, changes nothing.
            return;
        }
        let text = response.text().await.unwrap();
        assert!(!status.is_server_error(), "{}: {status} {text}", what());
        if status.is_client_error() {
            self.refused += 1;
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{}: {status} without a JSON body: {text:?}", what()));
            let message = body["message"]
                .as_str()
                .or(body["errorDetails"].as_str())
                .or(body["errorCode"].as_str())
                .unwrap_or_default();
            assert!(
                !message.is_empty(),
                "{}: {status} without a message: {text}",
                what()
            );
            let now = (self.app.event_count().await, revision(&self.app).await);
            assert_eq!(
                now,
                self.baseline,
                "{}: refused ({status} {text}) but changed state",
                what()
            );
        } else {
            self.baseline = (self.app.event_count().await, revision(&self.app).await);
        }
    }
}

fn sample<T: std::fmt::Debug>(runner: &mut TestRunner, strategy: &BoxedStrategy<T>) -> T {
    strategy.new_tree(runner).unwrap().current()
}

fn runner(cases: u32) -> TestRunner {
    // Deterministic by default so that a failure reproduces; PROPTEST_SEED-style variety comes
    // from running the long fuzz targets instead.
    TestRunner::new_with_rng(
        Config {
            cases,
            ..Config::default()
        },
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    )
}

pub async fn random_input_is_refused_cleanly_and_changes_nothing(backend: Backend) {
    let mut target = Target::new(&backend).await;
    let document = serde_json::to_value(flagpole::api::openapi::document()).unwrap();
    let mut runner = runner(BODY_CASES);

    let mut operations = Vec::new();
    for (template, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(operation) = item.get(method) {
                operations.push((method.to_uppercase(), template.clone(), operation.clone()));
            }
        }
    }
    // Ending the sign-in sessions would not matter (the PAT stays), but keep logout last anyway.
    operations.sort_by_key(|(_, template, _)| template == "/logout");

    // 1. Every operation's body, from its schema, at the real path.
    let mut bodies = 0;
    for (method, template, operation) in &operations {
        let Some(schema) = operation["requestBody"]["content"]["application/json"]
            .get("schema")
            .cloned()
        else {
            continue;
        };
        let strategy = from_schema(&document, &schema, 0);
        let path = concrete(template, &target.real, method == "DELETE");
        let authorization = target.authorization(method, template);
        for _ in 0..BODY_CASES {
            let body = sample(&mut runner, &strategy);
            target
                .check(method, &path, &authorization, Some(&body))
                .await;
            bodies += 1;
        }
    }

    // 2. Every operation with random path segments and query strings.
    let mut paths = 0;
    for (method, template, _) in &operations {
        let authorization = target.authorization(method, template);
        let segments: Vec<BoxedStrategy<String>> = template
            .split('/')
            .map(
                |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => {
                        let real = (method != "DELETE")
                            .then(|| target.real.get(name).cloned())
                            .flatten();
                        segment(real)
                    }
                    None => Just(part.to_owned()).boxed(),
                },
            )
            .collect();
        let strategy = (segments, query())
            .prop_map(|(parts, query)| format!("{}{query}", parts.join("/")))
            .boxed();
        for _ in 0..PATH_CASES {
            let path = sample(&mut runner, &strategy);
            let body = (method != "GET").then(|| json!({}));
            target
                .check(method, &path, &authorization, body.as_ref())
                .await;
            paths += 1;
        }
    }

    // 3. JSON Patch documents on each patchable resource.
    let patches = json_patch();
    let patch_paths = [
        "/api/admin/projects/default/features/Demo".to_string(),
        format!(
            "/api/admin/projects/default/features/Demo/environments/development/strategies/{}",
            target.real["strategy"]
        ),
        "/api/admin/projects/default/features/Demo/environments/development/variants".to_string(),
    ];
    for _ in 0..TARGETED_CASES {
        for path in &patch_paths {
            let patch = sample(&mut runner, &patches);
            target.check("PATCH", path, ADMIN_TOKEN, Some(&patch)).await;
        }
    }

    // 4. Constraints, in strategies and segments.
    let constraints = prop::collection::vec(constraint(), 1..3).boxed();
    for n in 0..TARGETED_CASES {
        let list = Value::Array(sample(&mut runner, &constraints));
        let (path, body) = if n % 3 == 0 {
            (
                "/api/admin/segments".to_string(),
                json!({"name": format!("s{n}"), "constraints": list}),
            )
        } else {
            (
                "/api/admin/projects/default/features/Demo/environments/production/strategies"
                    .to_string(),
                json!({"name": "default", "constraints": list}),
            )
        };
        target.check("POST", &path, ADMIN_TOKEN, Some(&body)).await;
    }
    // Whatever was accepted compiles: no constraint the engine would ignore was stored.
    let (client, frontend) = (target.client.clone(), target.frontend.clone());
    for environment in ["production", "development"] {
        let features = target
            .app
            .http
            .get(target.app.url("/api/client/features"))
            .header(
                "Authorization",
                if environment == "development" {
                    client.clone()
                } else {
                    target.app
                        .create_token(json!({"tokenName": "p", "type": "client", "environment": "production"}))
                        .await
                },
            )
            .send()
            .await
            .unwrap()
            .json::<flagpole_eval::wire::ClientFeatures>()
            .await
            .unwrap();
        let engine = flagpole_eval::Engine::compile(&features);
        // (Custom strategy names are allowed, as in Unleash; SDKs without them evaluate false.)
        let broken: Vec<&String> = engine
            .warnings()
            .iter()
            .filter(|w| w.contains("constraint"))
            .collect();
        assert!(broken.is_empty(), "stored but not compilable: {broken:?}");
    }
    target.baseline = (target.app.event_count().await, revision(&target.app).await);

    // 5. Evaluation contexts, on the Frontend API and OFREP.
    target
        .app
        .admin(
            Method::POST,
            "/api/admin/projects/default/features/Demo/environments/development/on",
            None,
        )
        .await;
    target.baseline = (target.app.event_count().await, revision(&target.app).await);
    let contexts = context();
    for n in 0..TARGETED_CASES {
        let context = sample(&mut runner, &contexts);
        let (path, token) = match n % 3 {
            0 => ("/api/frontend", &frontend),
            1 => ("/ofrep/v1/evaluate/flags", &client),
            _ => ("/ofrep/v1/evaluate/flags/Demo", &frontend),
        };
        target
            .check("POST", path, token, Some(&json!({"context": context})))
            .await;
    }

    println!(
        "bad input: {} requests tried ({bodies} generated bodies, {paths} paths and queries, \
         {} patches, {TARGETED_CASES} constraint lists, {TARGETED_CASES} contexts), {} refused \
         with a 4xx that changed nothing, no 5xx",
        target.tried,
        3 * TARGETED_CASES,
        target.refused,
    );
    // Still serving, and the seeded flag is still there.
    let (status, _) = target
        .app
        .admin(
            Method::GET,
            "/api/admin/projects/default/features/Demo",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

fn concrete(template: &str, real: &BTreeMap<&'static str, String>, random: bool) -> String {
    template
        .split('/')
        .map(
            |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !random => real.get(name).cloned().unwrap_or_else(|| "x".into()),
                Some(_) => "no-such-thing".into(),
                None => part.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}
