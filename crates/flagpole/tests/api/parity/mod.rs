//! The side-by-side suite: scripted sequences of Admin, Client and Frontend API calls, recorded
//! against a real Unleash 8.2 and replayed against Flagpole.
//!
//! Each file in `tests/parity/` is a scenario: a list of steps, each a request and the answer
//! Unleash gave (`unleash`). The scenarios run in file order on one fresh server, so the state
//! one leaves behind is where the next starts, on Unleash as on Flagpole. A replay sends every
//! step to Flagpole and compares status and body with Unleash's, after `normalise` has replaced
//! what legitimately differs between two servers (times, generated ids, secrets, error prose).
//! Every answer must also fit Unleash's own response schema for the operation
//! (`tests/parity/unleash-schemas.json`, taken from the document the recording Unleash serves).
//!
//! Where Flagpole differs on purpose, the step says so in `deliberate`: the pointer, what
//! Flagpole answers there instead, and why. The replay checks Flagpole's value and leaves the
//! pointer out of the comparison.
//!
//! Recording needs a fresh Unleash 8.2 (an empty database) with the admin token given:
//! `scripts/record-parity.sh` (see the README's "Compatibility" section).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use flagpole::config::ServeArgs;

use crate::helpers::{body_value, serve_args, Backend, TestApp};

mod compare;
mod unleash_schemas;

use compare::{differences, normalise, present, put_at, remove_at, values_at, Difference};
use unleash_schemas::{UnleashSchemas, UsedOperations};

#[derive(Debug, Serialize, Deserialize)]
struct Scenario {
    about: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Step {
    /// What the step shows, when the request alone does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    why: Option<String>,
    /// `METHOD /path?query`; `${name}` is replaced by a value saved by an earlier step.
    call: String,
    /// `admin` (the default), `none`, or a saved value such as `${client}`.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<Value>,
    /// A body sent as it is (malformed JSON), with `Content-Type: application/json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw_body: Option<String>,
    /// Values to save from the answer: name → JSON pointer.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    save: BTreeMap<String, String>,
    /// Pointers (`*` for every element) whose values legitimately differ between two servers
    /// beyond what `normalise` knows, such as event ids; both sides are blanked there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ignore: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    deliberate: Vec<Deliberate>,
    /// Differences found and not yet resolved: the replay tolerates exactly these, and fails
    /// when one is gone, so the list always says what is left to do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    open: Vec<Difference>,
    /// Unleash's answer, normalised; written by the recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unleash: Option<Answer>,
}

/// A place where Flagpole answers differently on purpose.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Deliberate {
    at: String,
    /// Flagpole's normalised value at `at`; absent means the field is not there.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    flagpole: Option<Value>,
    why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    status: u16,
    body: Value,
    /// Set by the recording when Unleash's own answer does not fit its document; the schema
    /// check is then left to the comparison with that answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    off_schema: Option<String>,
}

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity")
}

fn schema_file() -> PathBuf {
    scenario_dir().join("unleash-schemas.json")
}

fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("tests/parity exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "json")
                && path
                    .file_name()
                    .is_some_and(|n| n != "unleash-schemas.json")
        })
        .collect();
    files.sort();
    files
}

fn load(path: &Path) -> Scenario {
    let text = std::fs::read_to_string(path).expect("scenario readable");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A server under test: Flagpole in a replay, Unleash in a recording.
struct Target {
    base: String,
    http: reqwest::Client,
    tokens: SdkAndAdminTokens,
    /// Unleash's SDK APIs serve a change after up to a second; the recording waits for that.
    settle_after_writes: bool,
}

/// The start-up tokens of both servers, so that token listings match too.
struct SdkAndAdminTokens {
    admin: String,
    client: String,
    frontend: String,
}

impl SdkAndAdminTokens {
    /// Those the recording Unleash was started with (`INIT_*_API_TOKENS`), unless overridden.
    fn recorded() -> SdkAndAdminTokens {
        let env =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        SdkAndAdminTokens {
            admin: env(
                "PARITY_UNLEASH_ADMIN_TOKEN",
                "*:*.unleash-insecure-admin-api-token",
            ),
            client: env(
                "PARITY_UNLEASH_CLIENT_TOKEN",
                "default:development.unleash-insecure-api-token",
            ),
            frontend: env(
                "PARITY_UNLEASH_FRONTEND_TOKEN",
                "default:development.unleash-insecure-frontend-api-token",
            ),
        }
    }
}

#[derive(Default)]
struct Run {
    saved: BTreeMap<String, String>,
    wrote_since_sdk_read: bool,
}

impl Run {
    fn substitute(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.saved {
            out = out.replace(&format!("${{{name}}}"), value);
        }
        out
    }

    fn substitute_json(&self, value: &Value) -> Value {
        match value {
            Value::String(text) => Value::String(self.substitute(text)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.substitute_json(v)).collect())
            }
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), self.substitute_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Sends a step; returns the status and the body as received.
    async fn send(&mut self, target: &Target, step: &Step) -> (u16, Value) {
        let call = self.substitute(&step.call);
        let (method, path) = call.split_once(' ').expect("call is `METHOD /path`");
        let method: Method = method.parse().expect("HTTP method");
        let is_sdk_read = path.starts_with("/api/client/") || path.starts_with("/api/frontend");
        if target.settle_after_writes && is_sdk_read && self.wrote_since_sdk_read {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        }
        if is_sdk_read {
            self.wrote_since_sdk_read = false;
        } else if method != Method::GET {
            self.wrote_since_sdk_read = true;
        }
        let mut request = target
            .http
            .request(method.clone(), format!("{}{path}", target.base));
        let caller = step.caller.as_deref().unwrap_or("admin");
        let token = match caller {
            "admin" => Some(target.tokens.admin.clone()),
            "client" => Some(target.tokens.client.clone()),
            "frontend" => Some(target.tokens.frontend.clone()),
            "none" => None,
            other => Some(self.substitute(other)),
        };
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        if let Some(body) = &step.body {
            request = request.json(&self.substitute_json(body));
        } else if let Some(raw) = &step.raw_body {
            request = request
                .header("Content-Type", "application/json")
                .body(raw.clone());
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let body = body_value(response.text().await.expect("body read"));
        for (name, pointer) in &step.save {
            let value = body.pointer(pointer).unwrap_or_else(|| {
                panic!("{call}: nothing at {pointer} to save as {name}: {body}")
            });
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            self.saved.insert(name.clone(), text);
        }
        (status, body)
    }
}

/// Replays every scenario against Flagpole. Fails on every difference that is neither
/// deliberate nor listed as open, and on every open one that is gone (so the list stays true).
/// With `PARITY_ACCEPT=1` it writes the differences it found into the steps' `open` lists
/// instead (`scripts/record-parity.sh --accept`).
pub async fn same_answers_as_unleash(backend: Backend) {
    let accept = std::env::var("PARITY_ACCEPT").is_ok_and(|v| v == "1");
    let tokens = SdkAndAdminTokens::recorded();
    let serve = ServeArgs {
        init_admin_api_tokens: vec![tokens.admin.clone()],
        init_client_api_tokens: vec![tokens.client.clone()],
        init_frontend_api_tokens: vec![tokens.frontend.clone()],
        ..serve_args()
    };
    let app = TestApp::spawn_with(&backend, serve).await;
    let target = Target {
        base: app.base.clone(),
        http: reqwest::Client::new(),
        tokens,
        settle_after_writes: false,
    };
    let schemas = UnleashSchemas::load();
    let mut run = Run::default();
    let mut problems = Vec::new();
    let (mut steps, mut open) = (0, 0);
    for file in scenario_files() {
        let mut scenario = load(&file);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for (index, step) in scenario.steps.iter_mut().enumerate() {
            steps += 1;
            let place = format!("{name} step {} ({})", index + 1, run.substitute(&step.call));
            let found = replay_step(&mut run, &target, &schemas, step, &place, &mut problems).await;
            if accept {
                step.open = found;
                open += step.open.len();
                continue;
            }
            for difference in &found {
                if !step.open.contains(difference) {
                    problems.push(format!(
                        "{place}: {} differs from Unleash; Flagpole has {}",
                        difference.at,
                        difference
                            .flagpole
                            .as_ref()
                            .map_or("nothing".into(), Value::to_string)
                    ));
                }
            }
            for listed in &step.open {
                if !found.contains(listed) {
                    problems.push(format!(
                        "{place}: the open difference at {} is gone; take it off the list",
                        listed.at
                    ));
                }
            }
            open += step.open.len();
        }
        if accept {
            let text = serde_json::to_string_pretty(&scenario).expect("serialises");
            std::fs::write(&file, text + "\n").expect("scenario written");
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {steps} steps answered differently from Unleash 8.2:\n{}",
        problems.len(),
        problems.join("\n")
    );
    println!("parity: {steps} steps replayed; {open} open differences listed in the scenarios");
}

/// Sends one step to Flagpole and returns where its answer differs from Unleash's, past the
/// step's deliberate differences (whose own values are checked into `problems`).
async fn replay_step(
    run: &mut Run,
    target: &Target,
    schemas: &UnleashSchemas,
    step: &Step,
    place: &str,
    problems: &mut Vec<String>,
) -> Vec<Difference> {
    let Some(expected) = &step.unleash else {
        problems.push(format!("{place}: not recorded yet"));
        return Vec::new();
    };
    let (status, body) = run.send(target, step).await;
    let (method, path) = step.call.split_once(' ').expect("METHOD /path");
    let path = run.substitute(path);
    crate::contract::check(method, &path, status, &body);
    let mut found = Vec::new();
    // A deliberate difference of status: Flagpole's status is checked, and the bodies (of two
    // different outcomes) are not compared.
    if let Some(deliberate) = step.deliberate.iter().find(|d| d.at == "status") {
        if deliberate.flagpole != Some(json!(status)) {
            problems.push(format!(
                "{place}: the deliberate difference expects status {:?}, Flagpole answered {status}",
                deliberate.flagpole
            ));
        }
        return found;
    }
    if status != expected.status {
        found.push(Difference {
            at: "status".into(),
            flagpole: Some(json!(status)),
        });
        return found;
    }
    if expected.off_schema.is_none() {
        // Where Flagpole differs on purpose, Unleash's own answer stands in for the schema
        // check (and what only Flagpole has is left out); everything else is checked as is.
        let mut checked = body.clone();
        for deliberate in step.deliberate.iter().filter(|d| d.at.starts_with('/')) {
            if deliberate.at.contains('*') {
                remove_at(&mut checked, &deliberate.at);
            } else {
                put_at(
                    &mut checked,
                    &deliberate.at,
                    expected.body.pointer(&deliberate.at),
                );
            }
        }
        if let Err(problem) = schemas.check(method, &path, status, &checked) {
            found.push(Difference {
                at: "schema".into(),
                flagpole: Some(json!(problem)),
            });
        }
    }
    let mut actual = normalise(status, &body, &step.ignore);
    // The recording was normalised when it was made; normalising it again applies rules added
    // since.
    let mut wanted = normalise(expected.status, &expected.body, &step.ignore);
    for deliberate in step.deliberate.iter().filter(|d| d.at != "status") {
        // The whole body: Flagpole's is checked, and the two are not compared.
        if deliberate.at.is_empty() {
            if Some(&actual) != deliberate.flagpole.as_ref() {
                problems.push(format!(
                    "{place}: the deliberate body {:?} differs from Flagpole's {actual}",
                    deliberate.flagpole
                ));
            }
            return found;
        }
        for value in values_at(&actual, &deliberate.at) {
            if value != deliberate.flagpole {
                problems.push(format!(
                    "{place}: the deliberate difference at {} expects {:?}, Flagpole has {:?}",
                    deliberate.at, deliberate.flagpole, value
                ));
            }
        }
        remove_at(&mut actual, &deliberate.at);
        remove_at(&mut wanted, &deliberate.at);
    }
    differences("", &wanted, &actual, &mut found);
    found
}

/// Records Unleash's answers into the scenarios (and its response schemas), from the fresh
/// Unleash at `PARITY_UNLEASH_URL`. Run by `scripts/record-parity.sh`.
#[tokio::test]
#[ignore = "needs a fresh Unleash 8.2: scripts/record-parity.sh"]
async fn record_against_unleash() {
    let base = std::env::var("PARITY_UNLEASH_URL").expect("PARITY_UNLEASH_URL");
    let base = base.trim_end_matches('/').to_owned();
    let target = Target {
        base: base.clone(),
        http: reqwest::Client::new(),
        tokens: SdkAndAdminTokens::recorded(),
        settle_after_writes: true,
    };
    let document: Value = reqwest::get(format!("{base}/docs/openapi.json"))
        .await
        .expect("Unleash serves its OpenAPI document")
        .json()
        .await
        .expect("document is JSON");
    let mut used = UsedOperations::default();
    let mut run = Run::default();
    // Every file is read before the first request, so a typo cannot leave Unleash half-recorded.
    let mut scenarios: Vec<(PathBuf, Scenario)> = scenario_files()
        .into_iter()
        .map(|f| (f.clone(), load(&f)))
        .collect();
    // Unleash's raw answers, step by step, for the schema check once every operation is known.
    let mut raw = Vec::new();
    for (_, scenario) in &mut scenarios {
        for step in &mut scenario.steps {
            let (status, body) = run.send(&target, step).await;
            let (method, path) = step.call.split_once(' ').expect("METHOD /path");
            let path = run.substitute(path);
            used.add(&document, method, &path, status);
            step.unleash = Some(Answer {
                status,
                body: normalise(status, &body, &step.ignore),
                off_schema: None,
            });
            raw.push((method.to_owned(), path, status, body));
        }
    }
    let schemas = UnleashSchemas::new(used.extract(&document));
    std::fs::write(
        schema_file(),
        serde_json::to_string_pretty(schemas.document()).expect("serialises") + "\n",
    )
    .expect("schemas written");
    // Unleash's own answers that do not fit its document are marked, so the replay does not
    // hold Flagpole to a schema Unleash itself does not keep.
    let mut raw = raw.into_iter();
    let mut off = 0;
    for (file, scenario) in &mut scenarios {
        for step in &mut scenario.steps {
            let (method, path, status, body) = raw.next().expect("one answer a step");
            if let (Err(problem), Some(answer)) = (
                schemas.check(&method, &path, status, &body),
                step.unleash.as_mut(),
            ) {
                answer.off_schema = Some(problem);
                off += 1;
            }
        }
        let text = serde_json::to_string_pretty(scenario).expect("serialises");
        std::fs::write(file, text + "\n").expect("scenario written");
    }
    println!(
        "recorded {} scenarios; {off} of Unleash's answers do not fit its own document",
        scenarios.len()
    );
}
